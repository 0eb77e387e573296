#include "edn/decimal.hpp"

#include <cstdint>

namespace stube::edn::detail {

namespace {
bool fits_int32(std::int64_t v) noexcept {
  return v >= INT32_MIN && v <= INT32_MAX;
}
}  // namespace

const char* decimal_range_problem(std::string_view body) noexcept {
  const std::size_t e = body.find_first_of("eE");
  const std::string_view mantissa = body.substr(0, e);
  const std::size_t dot = mantissa.find('.');
  const auto fraction_digits =
      static_cast<std::int64_t>(dot == std::string_view::npos ? 0 : mantissa.size() - dot - 1);
  std::int64_t exponent = 0;
  if (e != std::string_view::npos) {
    std::string_view digits = body.substr(e + 1);
    const bool negative = !digits.empty() && digits.front() == '-';
    if (!digits.empty() && (digits.front() == '-' || digits.front() == '+'))
      digits.remove_prefix(1);
    while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
    // As BigDecimal counts: more than 10 digits cannot be an int.
    if (digits.size() > 10) return "its exponent is beyond a 32-bit int, which Clojure refuses";
    for (const char c : digits) exponent = exponent * 10 + (c - '0');
    if (negative) exponent = -exponent;
    if (!fits_int32(exponent)) return "its exponent is beyond a 32-bit int, which Clojure refuses";
  }
  if (!fits_int32(fraction_digits - exponent))
    return "its scale (digits after the point less the exponent) is beyond a 32-bit int, which "
           "Clojure refuses";
  return nullptr;
}

}  // namespace stube::edn::detail
