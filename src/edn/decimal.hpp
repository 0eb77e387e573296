// The range of a decimal (an M number). Internal to the library.
#pragma once

#include <string_view>

namespace stube::edn::detail {

// Clojure reads an M number into Java's BigDecimal, which keeps the
// exponent and the scale (digits after the point less the exponent) in
// 32-bit ints: text beyond either is refused there ("Exponent overflow",
// "Scale out of range"), so stube neither reads nor builds it. `body` is a
// syntactically valid decimal without sign or M: digits, an optional
// fraction, an optional exponent. Returns nullptr, or why it is out of range.
const char* decimal_range_problem(std::string_view body) noexcept;

}  // namespace stube::edn::detail
