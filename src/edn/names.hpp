// Validation of symbol and keyword text, shared by the reader and the API.
#pragma once

#include <cstdint>
#include <string_view>

namespace stube::edn::detail {

// True if c may appear inside a symbol or keyword (bytes >= 0x80 are parts of
// UTF-8 letters, which Clojure accepts).
inline bool is_name_char(unsigned char c) noexcept {
  if (c >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '.':
    case '*':
    case '+':
    case '!':
    case '-':
    case '_':
    case '?':
    case '$':
    case '%':
    case '&':
    case '=':
    case '<':
    case '>':
    case '/':
    case ':':
    case '#':
    case '\'':
      return true;
    default:
      return false;
  }
}

// True if text holds a space that Clojure's reader ends a token at beyond
// ASCII (Character.isWhitespace: U+1680, U+2000-U+2006, U+2008-U+200A,
// U+2028, U+2029, U+205F, U+3000).
bool has_unicode_space(std::string_view text) noexcept;

// Checks "name" or "ns/name" for a symbol (keyword = true: the text after
// ':'). On success stores the namespace length (0 if none) and returns
// nullptr; otherwise returns the reason.
const char* check_name(std::string_view text, bool keyword, std::uint32_t* ns_len) noexcept;

}  // namespace stube::edn::detail
