#include "edn/names.hpp"

#include "edn/utf8.hpp"

namespace stube::edn::detail {

namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// The zeros of the Unicode decimal digits (category Nd) of the BMP beyond
// ASCII, each the first of ten: Arabic-Indic, Devanagari, ..., fullwidth.
constexpr char32_t kDigitZeros[] = {
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10};

// Whether text starts with a digit as Clojure's reader sees one
// (Character.isDigit on a UTF-16 unit: any decimal digit of the BMP, while
// a character above it is a surrogate there, no digit). `text` is valid
// UTF-8 (its callers have checked it).
bool starts_with_digit(std::string_view text) noexcept {
  if (text.empty()) return false;
  if (is_digit(text.front())) return true;
  const auto lead = static_cast<unsigned char>(text.front());
  if (lead < 0xC2 || lead > 0xEF) return false;  // ASCII, or beyond the BMP
  const std::size_t n = utf8_length(lead);
  if (text.size() < n) return false;
  const char32_t c = decode_utf8(text.substr(0, n));
  for (char32_t zero : kDigitZeros)
    if (c >= zero && c <= zero + 9) return true;
  return false;
}

// A whole symbol must not read as something else: a number ("1a", "-1",
// "٣", which Clojure's reader takes for a number too, and ".5", which EDN
// forbids), a tag or dispatch ("#a") or a keyword.
const char* check_symbol_start(std::string_view text) noexcept {
  if (starts_with_digit(text)) return "name starts with a digit";
  if (text.front() == '#') return "name starts with '#'";
  if ((text.front() == '+' || text.front() == '-' || text.front() == '.') &&
      starts_with_digit(text.substr(1)))
    return "name looks like a number";
  return nullptr;
}

}  // namespace

// Clojure's reader ends a token at any Character.isWhitespace code point,
// not only at ASCII ones: "a\u3000b" reads there as the two symbols a and b.
// Refused in names, so that no name prints as text Clojure reads otherwise.
// (The others Java counts are ASCII controls, which names refuse anyway.)
bool has_unicode_space(std::string_view text) noexcept {
  for (std::size_t i = 0; i + 2 < text.size(); ++i) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    const auto b1 = static_cast<unsigned char>(text[i + 1]);
    const auto b2 = static_cast<unsigned char>(text[i + 2]);
    if (b0 == 0xE1 && b1 == 0x9A && b2 == 0x80) return true;  // U+1680
    if (b0 == 0xE3 && b1 == 0x80 && b2 == 0x80) return true;  // U+3000
    if (b0 != 0xE2) continue;
    if (b1 == 0x80 && b2 >= 0x80 && b2 <= 0x8A && b2 != 0x87) return true;  // U+2000-200A, not 2007
    if (b1 == 0x80 && (b2 == 0xA8 || b2 == 0xA9)) return true;              // U+2028, U+2029
    if (b1 == 0x81 && b2 == 0x9F) return true;                              // U+205F
  }
  return false;
}

// Clojure's reader (EdnReader.matchSymbol) takes a token that matches
// [:]?([\D&&[^/]].*/)?(/|[\D&&[^/]][^/]*) and then refuses a namespace or
// a name that ends in ':' and a "::" after the first character. stube also
// keeps EDN's one '/' (Clojure reads "a/b/c" too), except that the name may
// be "/" itself: "clojure.core//" is the symbol / of clojure.core.
const char* check_name(std::string_view text, bool keyword, std::uint32_t* ns_len) noexcept {
  *ns_len = 0;
  if (text.empty()) return "empty name";
  for (char c : text)
    if (!is_name_char(static_cast<unsigned char>(c))) return "invalid character in name";
  if (has_unicode_space(text)) return "a Unicode space in the name (Clojure ends a token there)";
  if (text.front() == ':') return "name starts with ':'";
  if (text.find("::") != std::string_view::npos) return "'::' inside a name";
  if (!keyword)
    if (const char* why = check_symbol_start(text)) return why;
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || text == "/")
    return text.back() == ':' ? "name ends with ':'" : nullptr;
  const std::string_view ns = text.substr(0, slash), name = text.substr(slash + 1);
  if (ns.empty()) return "empty namespace before '/'";
  if (ns.back() == ':') return "namespace ends with ':'";
  if (name != "/") {
    if (name.empty()) return "empty name after '/'";
    if (name.find('/') != std::string_view::npos) return "more than one '/'";
    if (is_digit(name.front())) return "name after the namespace starts with a digit";
    if (name.back() == ':') return "name ends with ':'";
  }
  *ns_len = static_cast<std::uint32_t>(slash);
  return nullptr;
}

}  // namespace stube::edn::detail
