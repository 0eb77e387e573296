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
