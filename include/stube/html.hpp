// stube/html.hpp — an HTML builder that escapes by construction.
//
// Only an Html value is trusted markup. Every string given as a child or an
// attribute value is escaped when it is added, so untrusted text can never
// become markup. Nor can it become script: attr() refuses the attribute
// names whose value is run as script (on*, srcdoc, Datastar's data-*) and
// neutralises script URLs (see Attr below), and element() refuses <script>,
// whose text escaping cannot keep from running. Html::unsafe_raw is the one
// way around all of this:
//
//   using namespace stube::html;
//   Html h = div(attr("class", "greeting"), h1("Hello, ", user_name), p(count, " items"));
//
// Attributes may be given anywhere among the children; they are emitted on
// the opening tag in the order given.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "stube/edn.hpp"

namespace stube {
class Self;
}

namespace stube::html {

class Html;
namespace detail {
// The builders below write into an Html's text; nothing else may.
struct HtmlAccess {
  static std::string& buffer(Html& h) noexcept;
};
}  // namespace detail

// Escapes & < > " ' for use in text and in double-quoted attribute values,
// and writes NUL as U+FFFD (what a browser would read it as).
void escape_into(std::string_view text, std::string& out);
std::string escape(std::string_view text);

class Html {
 public:
  Html() = default;
  // The one way to inject markup that is not built here: the caller vouches
  // that `markup` is safe.
  static Html unsafe_raw(std::string markup) {
    Html h;
    h.s_ = std::move(markup);
    return h;
  }
  const std::string& str() const noexcept { return s_; }
  std::string release() && noexcept { return std::move(s_); }
  bool empty() const noexcept { return s_.empty(); }
  Html& operator+=(const Html& o) {
    s_ += o.s_;
    return *this;
  }
  friend Html operator+(Html a, const Html& b) { return a += b; }
  friend bool operator==(const Html&, const Html&) = default;

 private:
  friend struct detail::HtmlAccess;
  std::string s_;
};

inline std::string& detail::HtmlAccess::buffer(Html& h) noexcept {
  return h.s_;
}

// An attribute, made only by attr() and flag() (and cls(), id()), which
// check it:
//   - names are [A-Za-z0-9_:.-];
//   - names starting with "on" (inline script handlers such as onclick),
//     "srcdoc" (its value is parsed as a whole HTML document) and the data-*
//     names Datastar acts on (data-on-*, data-text, data-bind, data-signals,
//     ...: it runs their values as JavaScript or writes signals they name)
//     are refused with std::invalid_argument; Self::on() and Self::bind()
//     are the way to make Datastar attributes;
//   - a URL attribute (href, src, action, formaction, xlink:href, ...) whose
//     value has a scheme other than http, https, mailto or tel, read as a
//     browser reads it, gets the inert value "about:invalid#stube-unsafe-url";
//   - values are escaped when rendered.
// Its fields are read-only, so a checked attribute stays checked.
class Attr {
 public:
  const std::string& name() const noexcept { return name_; }
  const std::string& value() const noexcept { return value_; }
  bool boolean() const noexcept { return boolean_; }  // written as a bare name (e.g. disabled)

 private:
  Attr(std::string name, std::string value, bool boolean)
      : name_(std::move(name)), value_(std::move(value)), boolean_(boolean) {}
  friend Attr attr(std::string_view name, std::string_view value);
  friend Attr flag(std::string_view name);
  friend class stube::Self;  // on() and bind(): the Datastar attributes

  std::string name_;
  std::string value_;
  bool boolean_ = false;
};
Attr attr(std::string_view name, std::string_view value);
Attr flag(std::string_view name);  // boolean attribute
inline Attr cls(std::string_view classes) {
  return attr("class", classes);
}
inline Attr id(std::string_view value) {
  return attr("id", value);
}

// A list of attributes, e.g. from a helper that returns several.
using Attrs = std::vector<Attr>;

Html text(std::string_view s);
inline Html text(const char* s) {
  return text(std::string_view(s));
}
inline Html text(const std::string& s) {
  return text(std::string_view(s));
}
// A value as text: strings without quotes, everything else as EDN.
Html text(const edn::Value& v);

namespace detail {

void append_attr(const Attr& a, std::string& out);

template <class T>
constexpr bool is_attr_v =
    std::is_same_v<std::decay_t<T>, Attr> || std::is_same_v<std::decay_t<T>, Attrs>;

inline void append_attrs(std::string& out, const Attr& a) {
  append_attr(a, out);
}
inline void append_attrs(std::string& out, const Attrs& as) {
  for (const Attr& a : as) append_attr(a, out);
}

inline void append_child(std::string& out, const Html& h) {
  out += h.str();
}
inline void append_child(std::string& out, std::string_view s) {
  escape_into(s, out);
}
inline void append_child(std::string& out, const char* s) {
  escape_into(s, out);
}
inline void append_child(std::string& out, const std::string& s) {
  escape_into(s, out);
}
inline void append_child(std::string& out, const edn::Value& v) {
  out += text(v).str();
}
inline void append_child(std::string& out, const std::vector<Html>& hs) {
  for (const Html& h : hs) out += h.str();
}
// A character (u8'x', L'x') is not a number to print as its code.
template <class N>
requires(std::is_arithmetic_v<N> && !std::is_same_v<N, bool> &&
         !edn::detail::is_character_v<N>) void append_child(std::string& out, N n) {
  if constexpr (std::is_floating_point_v<N>)
    out += edn::write(edn::Value(static_cast<double>(n)));
  else
    out += std::to_string(n);
}

void check_tag(std::string_view tag);
void check_void_tag(std::string_view tag);
bool is_void_tag(std::string_view tag);  // area, br, img, input, …: no end tag
void keep_leading_newline(std::string_view tag, std::string& out, std::size_t content_at);

// <tag attrs...>children...</tag>, the tag known to be fine.
template <class... Parts>
Html checked_element(std::string_view tag, const Parts&... parts) {
  Html h;
  std::string& out = HtmlAccess::buffer(h);
  out += '<';
  out += tag;
  (
      [&] {
        if constexpr (is_attr_v<Parts>) append_attrs(out, parts);
      }(),
      ...);
  out += '>';
  const std::size_t content_at = out.size();
  (
      [&] {
        if constexpr (!is_attr_v<Parts>) append_child(out, parts);
      }(),
      ...);
  keep_leading_newline(tag, out, content_at);
  out += "</";
  out += tag;
  out += '>';
  return h;
}

}  // namespace detail

// <tag attrs...>children...</tag>
template <class... Parts>
Html element(std::string_view tag, const Parts&... parts) {
  detail::check_tag(tag);
  return detail::checked_element(tag, parts...);
}

// <tag attrs...> for void elements (input, br, hr, img, meta).
template <class... Parts>
Html void_element(std::string_view tag, const Parts&... parts) {
  static_assert((detail::is_attr_v<Parts> && ...), "void elements take attributes only");
  detail::check_void_tag(tag);
  Html h;
  std::string& out = detail::HtmlAccess::buffer(h);
  out += '<';
  out += tag;
  (detail::append_attrs(out, parts), ...);
  out += '>';
  return h;
}

// The helpers' tags are fine as they are: no check per element.
#define STUBE_HTML_TAG(name)                         \
  template <class... Parts>                          \
  Html name(const Parts&... parts) {                 \
    return detail::checked_element(#name, parts...); \
  }
#define STUBE_HTML_VOID_TAG(name)         \
  template <class... Parts>               \
  Html name(const Parts&... parts) {      \
    return void_element(#name, parts...); \
  }
STUBE_HTML_TAG(div)
STUBE_HTML_TAG(span)
STUBE_HTML_TAG(p)
STUBE_HTML_TAG(h1)
STUBE_HTML_TAG(h2)
STUBE_HTML_TAG(h3)
STUBE_HTML_TAG(button)
STUBE_HTML_TAG(form)
STUBE_HTML_TAG(label)
STUBE_HTML_TAG(ul)
STUBE_HTML_TAG(ol)
STUBE_HTML_TAG(li)
STUBE_HTML_TAG(a)
STUBE_HTML_TAG(strong)
STUBE_HTML_TAG(em)
STUBE_HTML_TAG(small)
STUBE_HTML_TAG(section)
STUBE_HTML_TAG(header)
STUBE_HTML_TAG(footer)
STUBE_HTML_TAG(nav)
STUBE_HTML_TAG(table)
STUBE_HTML_TAG(thead)
STUBE_HTML_TAG(tbody)
STUBE_HTML_TAG(tr)
STUBE_HTML_TAG(td)
STUBE_HTML_TAG(th)
STUBE_HTML_TAG(pre)
STUBE_HTML_TAG(code)
STUBE_HTML_TAG(textarea)
STUBE_HTML_TAG(select)
STUBE_HTML_TAG(option)
STUBE_HTML_VOID_TAG(input)
STUBE_HTML_VOID_TAG(br)
STUBE_HTML_VOID_TAG(hr)
STUBE_HTML_VOID_TAG(img)
#undef STUBE_HTML_TAG
#undef STUBE_HTML_VOID_TAG

}  // namespace stube::html
