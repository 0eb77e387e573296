#include "edn/ratio.hpp"

#include <boost/multiprecision/cpp_int.hpp>
#include <charconv>
#include <numeric>
#include <string>

#include "edn/node.hpp"

namespace stube::edn::detail {

namespace {

std::string_view strip_zeros(std::string_view digits) noexcept {
  while (!digits.empty() && digits.front() == '0') digits.remove_prefix(1);
  return digits;  // empty for zero
}

// digits (without leading zeros) fit an int64_t, with the sign given.
bool fits_int64(bool negative, std::string_view digits) noexcept {
  constexpr std::string_view kMax = "9223372036854775807", kMin = "9223372036854775808";
  if (digits.size() != kMax.size()) return digits.size() < kMax.size();
  return digits <= (negative ? kMin : kMax);
}

std::uint64_t to_u64(std::string_view digits) noexcept {  // at most 19 digits
  std::uint64_t v = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), v);
  return v;
}

// Divides num and den (no leading zeros, den not zero) by their greatest
// common divisor.
void reduce(std::string_view num, std::string_view den, std::string* n_out, std::string* d_out) {
  if (num.size() < 20 && den.size() < 20) {  // both below 10^19: 64 bits suffice
    std::uint64_t n = to_u64(num), d = to_u64(den);
    const std::uint64_t g = std::gcd(n, d);
    *n_out = std::to_string(n / g);
    *d_out = std::to_string(d / g);
    return;
  }
  using boost::multiprecision::cpp_int;
  const cpp_int n(num.empty() ? std::string("0") : std::string(num));
  const cpp_int d{std::string(den)};
  const cpp_int g = boost::multiprecision::gcd(n, d);
  *n_out = cpp_int(n / g).str();
  *d_out = cpp_int(d / g).str();
}

}  // namespace

const char* make_ratio(bool negative, std::string_view num, std::string_view den, Value* out) {
  num = strip_zeros(num);
  den = strip_zeros(den);
  if (den.empty()) return "zero denominator";
  static_assert(kMaxRatioDigits == 1000, "the reason below names the limit");
  if (num.size() > kMaxRatioDigits || den.size() > kMaxRatioDigits)
    return "a ratio's numerator and denominator are limited to 1000 digits each";
  // Clojure divides as longs when both parts are longs, else as BigInts.
  const bool longs = fits_int64(negative, num) && fits_int64(false, den);
  std::string n, d;
  reduce(num, den, &n, &d);
  if (d == "1") {
    if (longs) {
      const std::uint64_t magnitude = to_u64(n);
      *out = Value(static_cast<std::int64_t>(negative ? 0 - magnitude : magnitude));
      return nullptr;
    }
    *out = Value::big_int(negative && n != "0" ? "-" + n : n);  // a BigInt has no -0
    return nullptr;
  }
  const std::string text = (negative ? "-" : "") + n + "/" + d;
  *out = Value::from_node(Kind::Ratio, new_text(Kind::Ratio, text));
  return nullptr;
}

}  // namespace stube::edn::detail
