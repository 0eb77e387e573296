// UTF-8 validation, decoding and encoding. Internal to the library.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace stube::edn::detail {

// Offset of the first byte that does not start a well-formed UTF-8 sequence
// (overlong forms, surrogates and values above U+10FFFF are ill-formed), or
// npos when the whole range is valid.
std::size_t find_invalid_utf8(const char* begin, const char* end) noexcept;

// Length of the well-formed sequence starting at p (which is before end),
// or 0 if the bytes there are not one.
inline std::size_t utf8_sequence_length(const char* p, const char* end) noexcept {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  const unsigned char c = u[0];
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(end - p) < n || u[1] < lo || u[1] > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((u[k] & 0xC0) != 0x80) return 0;
  return n;
}

// Length of the sequence introduced by a (valid) lead byte.
inline std::size_t utf8_length(unsigned char lead) noexcept {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// Decodes one well-formed sequence occupying all of s.
char32_t decode_utf8(std::string_view s) noexcept;

void append_utf8(char32_t c, std::string& out);

// s with every byte that is not part of well-formed UTF-8 written as \xNN.
std::string sanitize_utf8(std::string_view s);

}  // namespace stube::edn::detail
