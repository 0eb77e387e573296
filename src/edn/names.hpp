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

// True if text starts as a tag must: with a letter that Clojure's reader
// takes after '#', ASCII or Latin-1 (its dispatch table ends at U+00FF).
inline bool starts_like_tag(std::string_view t) noexcept {
  if (t.empty()) return false;
  const auto c = static_cast<unsigned char>(t[0]);
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  if (t.size() < 2) return false;
  const auto c2 = static_cast<unsigned char>(t[1]);
  if (c == 0xC2) return c2 == 0xAA || c2 == 0xB5 || c2 == 0xBA;              // ª µ º
  return c == 0xC3 && c2 >= 0x80 && c2 <= 0xBF && c2 != 0x97 && c2 != 0xB7;  // À-ÿ but × ÷
}

// Checks "name" or "ns/name" for a symbol (keyword = true: the text after
// ':'). On success stores the namespace length (0 if none) and returns
// nullptr; otherwise returns the reason.
const char* check_name(std::string_view text, bool keyword, std::uint32_t* ns_len) noexcept;

}  // namespace stube::edn::detail
