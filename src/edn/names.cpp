#include "edn/names.hpp"

namespace stube::edn::detail {

namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

const char* check_part(std::string_view part, bool keyword_name) noexcept {
  if (part.empty()) return "empty name part";
  for (char c : part)
    if (!is_name_char(static_cast<unsigned char>(c)) || c == '/')
      return "invalid character in name";
  if (part.front() == ':' || part.front() == '#') return "name part starts with ':' or '#'";
  if (!keyword_name) {
    if (is_digit(part.front())) return "name starts with a digit";
    if ((part.front() == '+' || part.front() == '-' || part.front() == '.') && part.size() > 1 &&
        is_digit(part[1]))
      return "name looks like a number";
  }
  return nullptr;
}

}  // namespace

const char* check_name(std::string_view text, bool keyword, std::uint32_t* ns_len) noexcept {
  *ns_len = 0;
  if (text == "/") return keyword ? "invalid keyword ':/'" : nullptr;
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return check_part(text, keyword);
  if (const char* why = check_part(text.substr(0, slash), false)) return why;
  if (const char* why = check_part(text.substr(slash + 1), keyword)) return why;
  *ns_len = static_cast<std::uint32_t>(slash);
  return nullptr;
}

}  // namespace stube::edn::detail
