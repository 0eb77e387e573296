#include "edn/names.hpp"

namespace stube::edn::detail {

namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// A whole symbol must not read as something else: a number ("1a", "-1",
// and ".5", which EDN forbids), a tag or dispatch ("#a") or a keyword.
const char* check_symbol_start(std::string_view text) noexcept {
  if (is_digit(text.front())) return "name starts with a digit";
  if (text.front() == '#') return "name starts with '#'";
  if ((text.front() == '+' || text.front() == '-' || text.front() == '.') && text.size() > 1 &&
      is_digit(text[1]))
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
