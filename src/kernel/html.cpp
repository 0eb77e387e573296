#include "stube/html.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

#include "kernel/ascii.hpp"

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
    case '\0':
      // A browser drops NUL from text and reads it as U+FFFD in a value:
      // written as that, the page shows the same wherever it lands.
      return "&#xFFFD;";
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
    t[0] = true;
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

using kernel_detail::ascii_lower;
using kernel_detail::iequals;
using kernel_detail::is_alpha;
using kernel_detail::is_digit;
using kernel_detail::istarts_with;
using kernel_detail::one_of;

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    const bool ok = is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == ':' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// The data-* names Datastar acts on, without "data-". Those 1.0.0-beta.11
// loads (its attribute plugins, kebab-cased: "on" also covers on-load,
// on-interval, on-raf, on-intersect and on-signal-change), and those 1.0
// adds, so that upgrading the client does not open a hole. Most run their
// value as a JavaScript expression; the others write signals named by it.
constexpr std::string_view kDatastarNames[] = {"animate",
                                               "attr",
                                               "bind",
                                               "class",
                                               "computed",
                                               "custom-validity",
                                               "effect",
                                               "ignore",
                                               "indicator",
                                               "init",
                                               "json-signals",
                                               "match-media",
                                               "on",
                                               "persist",
                                               "preserve-attr",
                                               "query-string",
                                               "ref",
                                               "replace-url",
                                               "scroll-into-view",
                                               "show",
                                               "signals",
                                               "star",
                                               "style",
                                               "text",
                                               "view-transition"};

bool is_upper(char c) noexcept {
  return c >= 'A' && c <= 'Z';
}

char upper(char c) noexcept {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

// Datastar's camel(): "-x" becomes "X" (replace(/-./g, …)).
std::string camel(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i)
    out += s[i] == '-' && i + 1 < s.size() ? upper(s[++i]) : s[i];
  return out;
}

// The key Datastar 1.0.0-beta.11 matches its plugins against for the
// attribute "data-<rest>": the browser's dataset key (names lower-cased, a
// '-' before a lower-case letter dropped and the letter upper-cased), then
// Datastar's camel(kebab(key)). So "data--text" reaches the text plugin
// although "-text" does not start with "text".
std::string datastar_key(std::string_view rest) {
  std::string key;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const char c = ascii_lower(rest[i]);
    const bool dash_before_letter = c == '-' && i + 1 < rest.size() &&
                                    ascii_lower(rest[i + 1]) >= 'a' &&
                                    ascii_lower(rest[i + 1]) <= 'z';
    key += dash_before_letter ? upper(ascii_lower(rest[++i])) : c;
  }
  // kebab(): replace(/[A-Z]+(?![a-z])|[A-Z]/g, (m, at) => (at ? "-" : "") + ascii_lower(m)).
  std::string kebab;
  for (std::size_t i = 0; i < key.size();) {
    if (!is_upper(key[i])) {
      kebab += key[i++];
      continue;
    }
    std::size_t run = i;
    while (run < key.size() && is_upper(key[run])) ++run;
    // Before a lower-case letter the run gives up its last capital (to the
    // next match), or, being one capital, matches as the second branch.
    const bool before_lower = run < key.size() && key[run] >= 'a' && key[run] <= 'z';
    const std::size_t end = before_lower ? std::max(run - 1, i + 1) : run;
    if (i > 0) kebab += '-';
    for (; i < end; ++i) kebab += ascii_lower(key[i]);
  }
  return camel(kebab);
}

// Datastar takes a name followed by nothing, a key ('-' in beta.11, ':' in
// 1.0) or modifiers ('_'); '.' is refused too, for good measure. Besides
// that reading of the name as written, the key Datastar itself derives is
// checked the way it matches plugins (^name([A-Z]|_|$)).
bool is_datastar_attr(std::string_view name) {
  if (!istarts_with(name, "data-")) return false;
  name.remove_prefix(5);
  const std::string key = datastar_key(name);
  for (std::string_view d : kDatastarNames) {
    if (istarts_with(name, d) &&
        (name.size() == d.size() ||
         std::string_view("-_:.").find(name[d.size()]) != std::string_view::npos))
      return true;
    const std::string plugin = camel(d);
    if (key.starts_with(plugin) &&
        (key.size() == plugin.size() || is_upper(key[plugin.size()]) || key[plugin.size()] == '_'))
      return true;
  }
  return false;
}

void check_attr_name(std::string_view name) {
  const auto refuse = [&](std::string_view why) {
    throw std::invalid_argument("html: attribute '" + std::string(name) +
                                "' is refused: " + std::string(why));
  };
  if (!valid_name(name))
    throw std::invalid_argument("html: invalid attribute name '" + std::string(name) + "'");
  // Inline script handlers (onclick=...) would turn data into code.
  if (name.size() > 2 && istarts_with(name, "on"))
    throw std::invalid_argument("html: inline event handler attribute '" + std::string(name) +
                                "' is refused; use Self::on()");
  // The browser decodes the entities and parses the value as a document.
  if (iequals(name, "srcdoc")) refuse("its value is parsed as an HTML document");
  if (is_datastar_attr(name))
    refuse("Datastar runs its value as an expression; use Self::on() and Self::bind()");
}

// An SVG animation (<set>, <animate>) writes its `to`/`values` into the
// attribute it names: into href, a javascript: URL that attr() never saw;
// into an event handler, script.
void check_animated_attribute(std::string_view name, std::string_view value) {
  if (!iequals(name, "attributename")) return;
  while (!value.empty() && static_cast<unsigned char>(value.front()) <= 0x20)
    value.remove_prefix(1);
  while (!value.empty() && static_cast<unsigned char>(value.back()) <= 0x20) value.remove_suffix(1);
  const std::size_t colon = value.rfind(':');
  const std::string_view local = colon == std::string_view::npos ? value : value.substr(colon + 1);
  if (iequals(local, "href") || istarts_with(local, "on"))
    throw std::invalid_argument("html: attributeName=\"" + std::string(value) +
                                "\" is refused: an animation would set the attribute to a value "
                                "the builder never checked (a javascript: URL, a script)");
}

// The attributes whose value the browser loads or navigates to as a URL.
constexpr std::string_view kUrlAttrs[] = {"action",   "background", "cite",     "codebase",
                                          "data",     "formaction", "href",     "icon",
                                          "longdesc", "lowsrc",     "manifest", "ping",
                                          "poster",   "src",        "usemap",   "xlink:href"};

bool is_url_attr(std::string_view name) {
  for (std::string_view u : kUrlAttrs)
    if (iequals(name, u)) return true;
  return false;
}

// The scheme of `url` as a browser's URL parser reads it (the URL
// Standard), lower-cased, or "" for a relative URL: leading C0 controls
// and spaces are skipped, tabs and newlines are ignored anywhere, and the
// scheme is a letter then letters, digits, '+', '-' or '.' up to a ':'.
// The attribute value reaches the parser as given: its '&' is escaped, so
// no entity (javascript&colon;) is decoded on the way.
std::string url_scheme(std::string_view url) {
  std::size_t i = 0;
  while (i < url.size() && static_cast<unsigned char>(url[i]) <= 0x20) ++i;
  std::string scheme;
  for (; i < url.size(); ++i) {
    const char c = url[i];
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (c == ':') return scheme;
    const bool ok =
        is_alpha(c) || (!scheme.empty() && (is_digit(c) || c == '+' || c == '-' || c == '.'));
    if (!ok) return {};
    scheme += ascii_lower(c);
  }
  return {};
}

// javascript:, data:, vbscript: and the rest would run or load content
// the page did not vouch for; web, mail and phone links are what user
// input legitimately holds.
bool safe_url(std::string_view url) {
  const std::string scheme = url_scheme(url);
  return scheme.empty() || scheme == "http" || scheme == "https" || scheme == "mailto" ||
         scheme == "tel";
}

// Inert wherever it lands: unlike "#", an <img src> or <iframe src> does
// not request the page again (at the mount path, a new conversation).
constexpr std::string_view kUnsafeUrl = "about:invalid#stube-unsafe-url";

}  // namespace

// An unsafe URL is replaced, not refused: it is typically user input, and
// one bad link should not fail the whole render.
Attr attr(std::string_view name, std::string_view value) {
  check_attr_name(name);
  check_animated_attribute(name, value);
  if (is_url_attr(name) && !safe_url(value)) value = kUnsafeUrl;
  return Attr(std::string(name), std::string(value), false);
}

Attr flag(std::string_view name) {
  check_attr_name(name);
  return Attr(std::string(name), {}, true);
}

Html text(std::string_view s) {
  Html h;
  escape_into(s, detail::HtmlAccess::buffer(h));
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
  out += a.name();
  if (a.boolean()) return;
  out += "=\"";
  escape_into(a.value(), out);
  out += '"';
}

namespace {

// A browser reads a name that does not start with a letter as text.
void check_tag_name(std::string_view tag) {
  if (!valid_name(tag) || !is_alpha(tag.front()) ||
      tag.find_first_of(":.") != std::string_view::npos)
    throw std::invalid_argument("html: invalid tag name '" + std::string(tag) + "'");
}

}  // namespace

bool is_void_tag(std::string_view tag) {
  return one_of(tag, {"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link",
                      "meta", "param", "source", "track", "wbr"});
}

void check_tag(std::string_view tag) {
  check_tag_name(tag);
  // Its text is script: escaping keeps it inside the element, not from running.
  if (iequals(tag, "script"))
    throw std::invalid_argument("html: tag 'script' is refused: its text would run");
  // Their text is not HTML: the browser shows the escapes (&gt;, &#39;) as
  // written; <plaintext> never ends, taking the rest of the page with it.
  if (one_of(tag, {"style", "xmp", "plaintext", "noembed", "noframes"}))
    throw std::invalid_argument("html: tag '" + std::string(tag) +
                                "' is refused: its text is not HTML, so escaped text would show "
                                "its escapes" +
                                (iequals(tag, "style") ? " (put CSS in a stylesheet)" : ""));
  if (is_void_tag(tag))
    throw std::invalid_argument("html: <" + std::string(tag) +
                                "> is a void element (it has no end tag): build it with "
                                "void_element() or its helper");
}

void check_void_tag(std::string_view tag) {
  check_tag_name(tag);
  if (!is_void_tag(tag))
    throw std::invalid_argument("html: <" + std::string(tag) +
                                "> is not a void element: a browser reads what follows it as "
                                "its content; build it with element()");
}

// The parser drops a newline right after <pre>, <textarea> or <listing>
// (a CR or CRLF too: it reads them as one): text that starts with one would
// lose it, unless a second is written.
void keep_leading_newline(std::string_view tag, std::string& out, std::size_t content_at) {
  if (content_at < out.size() && (out[content_at] == '\n' || out[content_at] == '\r') &&
      one_of(tag, {"pre", "textarea", "listing"}))
    out.insert(content_at, 1, '\n');
}

}  // namespace detail

}  // namespace stube::html
