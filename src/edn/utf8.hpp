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
