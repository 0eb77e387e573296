// Helpers shared by the EDN tests: readable failure output for Values and
// reading from an exactly-sized heap buffer (so ASan sees any over-read).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "common/edn_print.hpp"
#include "stube/edn.hpp"

namespace stube::edn {

// rapidcheck finds this by ADL when it shows a counterexample.
inline void showValue(const Value& v, std::ostream& os) {
  PrintTo(v, &os);
}

}  // namespace stube::edn

namespace stube::edn::test {

// Reads `text` from a heap copy with no terminator or slack after it, so a
// reader that looks one byte past the end trips AddressSanitizer.
inline Value read_exact(std::string_view text, const ReadOptions& options = {}) {
  if (text.empty()) return read(std::string_view(), options);
  auto buffer = std::make_unique<char[]>(text.size());
  std::memcpy(buffer.get(), text.data(), text.size());
  return read(std::string_view(buffer.get(), text.size()), options);
}

// "LINE:COL reason" of the ParseError reading `text` exactly gives, or
// "no error".
inline std::string parse_failure(std::string_view text) {
  try {
    read_exact(text);
  } catch (const ParseError& e) {
    return std::to_string(e.line()) + ":" + std::to_string(e.column()) + " " + e.reason();
  }
  return "no error";
}

inline std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

inline bool contains_ci(std::string_view haystack, std::string_view needle) {
  return lower(haystack).find(lower(needle)) != std::string::npos;
}

// UTF-8 encoding of one scalar value (test-side, independent of the library).
inline std::string utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

// Strict UTF-8 check (no overlongs, surrogates or values above U+10FFFF),
// written independently of the library's own validator.
inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    char32_t c = 0, min = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2, c = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, c = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, c = b & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cont = static_cast<unsigned char>(s[i + k]);
      if ((cont & 0xC0) != 0x80) return false;
      c = (c << 6) | (cont & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace stube::edn::test
