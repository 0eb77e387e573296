// Ratios as the reader makes them. Internal to the library.
#pragma once

#include <cstddef>
#include <string_view>

#include "stube/edn.hpp"

namespace stube::edn::detail {

// Reducing a ratio costs time quadratic in its digits, so the reader refuses
// a numerator or denominator longer than this (leading zeros not counted):
// hostile input must not make it spin. Nobody writes such ratios by hand, and
// stube itself only ever prints ratios it read or built from 64-bit integers.
constexpr std::size_t kMaxRatioDigits = 1000;

// The value of the ratio text [-]num/den (num and den are decimal digits),
// reduced as Clojure's reader reduces it (Numbers.divide): to lowest terms,
// and a whole result is an integer. When both parts fit a 64-bit integer
// that integer is an Int (4/2 is 2), otherwise a BigInt (as Clojure divides
// BigInts: 20000000000000000000/10000000000000000000 is 2N). Returns nullptr
// and sets *out, or the reason the text is no ratio.
const char* make_ratio(bool negative, std::string_view num, std::string_view den, Value* out);

}  // namespace stube::edn::detail
