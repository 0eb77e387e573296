#include "edn/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace stube::edn::detail {

std::size_t find_invalid_utf8(const char* begin, const char* end) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(begin);
  const auto* e = reinterpret_cast<const unsigned char*>(end);
  const auto* start = p;
  while (p < e) {
    // ASCII fast path, eight bytes at a time.
    while (e - p >= 8) {
      std::uint64_t chunk;
      std::memcpy(&chunk, p, 8);
      if (chunk & 0x8080808080808080ULL) break;
      p += 8;
    }
    if (p == e) break;
    const std::size_t n =
        utf8_sequence_length(reinterpret_cast<const char*>(p), reinterpret_cast<const char*>(e));
    if (n == 0) return static_cast<std::size_t>(p - start);
    p += n;
  }
  return std::string_view::npos;
}

char32_t decode_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  switch (s.size()) {
    case 1:
      return p[0];
    case 2:
      return (char32_t(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    case 3:
      return (char32_t(p[0] & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    default:
      return (char32_t(p[0] & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) |
             (char32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
  }
}

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const std::size_t bad = find_invalid_utf8(s.data(), s.data() + s.size());
    if (bad == std::string_view::npos) {
      out.append(s);
      break;
    }
    static constexpr char kHex[] = "0123456789ABCDEF";
    const auto c = static_cast<unsigned char>(s[bad]);
    out.append(s.substr(0, bad)).append("\\x").push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
    s.remove_prefix(bad + 1);
  }
  return out;
}

}  // namespace stube::edn::detail
