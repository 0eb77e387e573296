#include "stube/html.hpp"

#include <array>
#include <stdexcept>
#include <string_view>

namespace stube::html {

namespace {

// The entity for a character that must be escaped, or nullptr.
const char* entity(char c) noexcept {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    case '"':
      return "&quot;";
    case '\'':
      return "&#39;";
    default:
      return nullptr;
  }
}

}  // namespace

// Runs of plain characters are found with a table lookup and appended in
// one go: rendering spends much of its time here, and most text needs no
// escaping at all.
void escape_into(std::string_view text, std::string& out) {
  static constexpr auto special = [] {
    std::array<bool, 256> t{};
    for (unsigned char c : std::string_view("&<>\"'")) t[c] = true;
    return t;
  }();
  out.reserve(out.size() + text.size());
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p != end) {
    const char* run = p;
    while (p != end && !special[static_cast<unsigned char>(*p)]) ++p;
    out.append(run, static_cast<std::size_t>(p - run));
    if (p != end) out += entity(*p++);
  }
}

std::string escape(std::string_view text) {
  std::string out;
  escape_into(text, out);
  return out;
}

namespace {

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == ':' || c == '.';
    if (!ok) return false;
  }
  return true;
}

void check_attr_name(std::string_view name) {
  if (!valid_name(name))
    throw std::invalid_argument("html: invalid attribute name '" + std::string(name) + "'");
  // Inline script handlers (onclick=...) would turn data into code.
  if (name.size() > 2 && (name[0] == 'o' || name[0] == 'O') && (name[1] == 'n' || name[1] == 'N'))
    throw std::invalid_argument("html: inline event handler attribute '" + std::string(name) +
                                "' is refused; use Self::on()");
}

}  // namespace

Attr attr(std::string_view name, std::string_view value) {
  check_attr_name(name);
  return Attr{std::string(name), std::string(value), false};
}

Attr flag(std::string_view name) {
  check_attr_name(name);
  return Attr{std::string(name), {}, true};
}

Html text(std::string_view s) {
  Html h;
  escape_into(s, h.buffer());
  return h;
}

Html text(const edn::Value& v) {
  if (v.is(edn::Kind::String)) return text(v.as_string());
  if (v.is_nil()) return {};
  return text(std::string_view(edn::write(v)));
}

namespace detail {

void append_attr(const Attr& a, std::string& out) {
  out += ' ';
  out += a.name;
  if (a.boolean) return;
  out += "=\"";
  escape_into(a.value, out);
  out += '"';
}

void check_tag(std::string_view tag) {
  if (!valid_name(tag) || tag.find_first_of(":.") != std::string_view::npos)
    throw std::invalid_argument("html: invalid tag name '" + std::string(tag) + "'");
}

}  // namespace detail

}  // namespace stube::html
