#include "kernel/patch_targets.hpp"

#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernel/ascii.hpp"
#include "stube/html.hpp"

namespace stube {

namespace {

using kernel_detail::iequals;
using kernel_detail::is_alpha;
using kernel_detail::one_of;

bool plain_id(std::string_view id) {
  if (id.empty() || !(is_alpha(id.front()) || id.front() == '_')) return false;
  for (char c : id)
    if (!(is_alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

bool space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// One start tag, "<name attr="v" flag ...>", read attribute by attribute as
// a browser does: the first `id` decides (a bare `id` is an empty one).
struct StartTag {
  std::string_view name;
  std::optional<std::string_view> id;
  std::string_view type;  // the first `type` attribute's value
  bool self_closing = false;
};

StartTag read_start_tag(std::string_view tag) {  // from '<' to '>' inclusive
  StartTag out;
  std::size_t i = 1;
  while (i < tag.size() && !space(tag[i]) && tag[i] != '/' && tag[i] != '>') ++i;
  out.name = tag.substr(1, i - 1);
  while (i < tag.size()) {
    while (i < tag.size() && (space(tag[i]) || tag[i] == '/')) ++i;
    if (i >= tag.size() || tag[i] == '>') break;
    const std::size_t name_from = i;
    while (i < tag.size() && !space(tag[i]) && tag[i] != '=' && tag[i] != '>' && tag[i] != '/') ++i;
    const std::string_view name = tag.substr(name_from, i - name_from);
    std::string_view value;
    if (i < tag.size() && tag[i] == '=') {
      ++i;
      const char quote = i < tag.size() && (tag[i] == '"' || tag[i] == '\'') ? tag[i] : '\0';
      if (quote) ++i;
      const std::size_t value_from = i;
      while (i < tag.size() && (quote ? tag[i] != quote : !space(tag[i]) && tag[i] != '>')) ++i;
      value = tag.substr(value_from, i - value_from);
      if (quote && i < tag.size()) ++i;
    }
    if (!out.id && iequals(name, "id")) out.id = value;
    if (out.type.data() == nullptr && iequals(name, "type")) out.type = value;
  }
  out.self_closing = tag.size() >= 2 && tag[tag.size() - 2] == '/';
  return out;
}

// Start tags before which the parser closes an open <p> (HTML §13.2.6.4.7).
bool closes_p(std::string_view tag) {
  return one_of(tag,
                {"address", "article", "aside",   "blockquote", "center", "details",   "dialog",
                 "dir",     "div",     "dl",      "dd",         "dt",     "fieldset",  "figcaption",
                 "figure",  "footer",  "form",    "h1",         "h2",     "h3",        "h4",
                 "h5",      "h6",      "header",  "hgroup",     "hr",     "li",        "listing",
                 "main",    "menu",    "nav",     "ol",         "p",      "plaintext", "pre",
                 "search",  "section", "summary", "table",      "ul",     "xmp"});
}

// Where the parser stops looking for an open <p> to close.
bool scope_boundary(std::string_view tag) {
  return one_of(tag, {"applet", "caption", "html", "table", "td", "th", "marquee", "object",
                      "template", "button"});
}

// Where it stops looking for an open <li> to close: an element of the
// "special" category but <address>, <div> and <p> (HTML §13.2.4.2).
bool stops_li_search(std::string_view tag) {
  return one_of(
      tag, {"applet",     "area",       "article",  "aside",    "base",    "basefont", "bgsound",
            "blockquote", "body",       "br",       "button",   "caption", "center",   "col",
            "colgroup",   "dd",         "details",  "dir",      "dl",      "dt",       "embed",
            "fieldset",   "figcaption", "figure",   "footer",   "form",    "frame",    "frameset",
            "h1",         "h2",         "h3",       "h4",       "h5",      "h6",       "head",
            "header",     "hgroup",     "hr",       "html",     "iframe",  "img",      "input",
            "keygen",     "link",       "listing",  "main",     "marquee", "menu",     "meta",
            "nav",        "noembed",    "noframes", "noscript", "object",  "ol",       "param",
            "plaintext",  "pre",        "script",   "search",   "section", "select",   "source",
            "style",      "summary",    "table",    "tbody",    "td",      "template", "textarea",
            "tfoot",      "th",         "thead",    "title",    "tr",      "track",    "ul",
            "wbr",        "xmp"});
}

// Elements whose content the parser takes out of them (foster parenting)
// unless it is one of table_content().
bool table_part(std::string_view tag) {
  return one_of(tag, {"table", "tbody", "thead", "tfoot", "tr"});
}
// What the parser keeps in place there: table parts, and a hidden input or a
// form (which it closes at once: nothing goes into it).
bool table_content(const StartTag& tag) {
  return one_of(tag.name, {"caption", "colgroup", "col", "tbody", "thead", "tfoot", "tr", "td",
                           "th", "script", "template", "style", "form"}) ||
         (iequals(tag.name, "input") && iequals(tag.type, "hidden"));
}

// Elements of SVG or MathML whose content is HTML again (integration points).
bool integration_point(std::string_view tag) {
  return one_of(
      tag, {"foreignobject", "desc", "title", "mi", "mo", "mn", "ms", "mtext", "annotation-xml"});
}

// Start tags that end SVG or MathML content: the parser closes the foreign
// elements open and reads the tag as HTML (HTML §13.2.6.5).
bool breaks_out_of_foreign(std::string_view tag) {
  return one_of(
      tag, {"b",      "big",  "blockquote", "body",  "br",   "center", "code",    "dd",   "div",
            "dl",     "dt",   "em",         "embed", "h1",   "h2",     "h3",      "h4",   "h5",
            "h6",     "head", "hr",         "i",     "img",  "li",     "listing", "menu", "meta",
            "nobr",   "ol",   "p",          "pre",   "ruby", "s",      "small",   "span", "strong",
            "strike", "sub",  "sup",        "table", "tt",   "u",      "ul",      "var"});
}

bool heading(std::string_view tag) {
  return one_of(tag, {"h1", "h2", "h3", "h4", "h5", "h6"});
}

// Where the parser stops looking for an open <button> (default scope), and
// for an open <a> (the markers of the active formatting elements).
bool default_scope_boundary(std::string_view tag) {
  return one_of(
      tag, {"applet", "caption", "html", "table", "td", "th", "marquee", "object", "template"});
}
bool formatting_marker(std::string_view tag) {
  return one_of(tag, {"applet", "object", "marquee", "template", "td", "th", "caption"});
}

// The elements open at a point of the markup, as the browser's parser keeps
// them where a patch's top level is concerned: which elements it closes
// without being told (a <p> at a <div>, an <li> at the next <li>, the SVG
// around a <div>).
class OpenElements {
 public:
  std::size_t depth() const { return open_.size(); }
  std::string_view innermost() const {
    return open_.empty() ? std::string_view() : open_.back().name;
  }
  // Whether the innermost element is SVG or MathML with no HTML content.
  bool in_foreign_content() const {
    return !open_.empty() && open_.back().foreign && !integration_point(open_.back().name);
  }

  // Closes the innermost open element named one of `tags`, and what is open
  // inside it, if it is open within its scope (stopping at `stop`). False if
  // none is. Counted, so that the usual case (none open) walks nothing.
  template <class Stop>
  bool close_open(std::initializer_list<std::string_view> tags, Stop stop) {
    bool any = false;
    for (std::string_view t : tags) any |= !counted(t) || count(t) > 0;
    if (!any) return false;
    for (std::size_t i = open_.size(); i-- > 0;) {
      if (one_of(open_[i].name, tags)) {
        close_from(i);
        return true;
      }
      // HTML in SVG or MathML (a foreignObject's) is a scope of its own.
      if (stop(open_[i].name) || open_[i].integration_point()) return false;
    }
    return false;
  }
  bool close_open(std::string_view tag, auto stop) { return close_open({tag}, stop); }

  void close_innermost() { close_from(open_.size() - 1); }

  // Closes the SVG and MathML elements open down to HTML content.
  bool close_foreign() {
    std::size_t i = open_.size();
    while (i > 0 && open_[i - 1].foreign && !integration_point(open_[i - 1].name)) --i;
    const bool closed = i < open_.size();
    close_from(i);
    return closed;
  }

  // Whether an element `tag` opened here is SVG or MathML.
  bool opens_foreign(std::string_view tag) const {
    return one_of(tag, {"svg", "math"}) || in_foreign_content();
  }

  void open(std::string_view tag) {
    open_.push_back({tag, opens_foreign(tag)});
    if (counted(tag)) ++counts_[index(tag)];
  }

 private:
  struct Element {
    std::string_view name;
    bool foreign;  // in the SVG or MathML namespace
    bool integration_point() const { return foreign && stube::integration_point(name); }
  };
  static constexpr std::string_view kCounted[] = {"p", "li", "dd", "dt", "a", "button"};

  static std::size_t index(std::string_view tag) {
    for (std::size_t i = 0; i < std::size(kCounted); ++i)
      if (iequals(tag, kCounted[i])) return i;
    return std::size(kCounted);
  }
  static bool counted(std::string_view tag) { return index(tag) < std::size(kCounted); }
  std::size_t count(std::string_view tag) const { return counts_[index(tag)]; }

  void close_from(std::size_t i) {
    for (std::size_t j = i; j < open_.size(); ++j)
      if (counted(open_[j].name)) --counts_[index(open_[j].name)];
    open_.resize(i);
  }

  std::vector<Element> open_;
  std::size_t counts_[std::size(kCounted)] = {};
};

// The elements the parser closes when `start` opens in HTML content (HTML
// §13.2.6.4.7): true if it closed any. `closed_p_at` names the tag that
// closed a <p>, for the message about a stray </p>.
bool close_implied(OpenElements& open, std::string_view start, std::string_view& closed_p_at) {
  bool closed = false;
  if (closes_p(start) && open.close_open("p", scope_boundary)) {
    closed = true;
    closed_p_at = start;
  }
  if (iequals(start, "li")) closed |= open.close_open("li", stops_li_search);
  if (one_of(start, {"dd", "dt"})) closed |= open.close_open({"dd", "dt"}, stops_li_search);
  if (iequals(start, "a")) closed |= open.close_open("a", formatting_marker);
  if (iequals(start, "button")) closed |= open.close_open("button", default_scope_boundary);
  const bool nested_heading = heading(start) && heading(open.innermost());
  const bool nested_option =
      one_of(start, {"option", "optgroup"}) && iequals(open.innermost(), "option");
  if (nested_heading || nested_option) {
    open.close_innermost();
    closed = true;
  }
  return closed;
}

[[noreturn]] void refuse(const std::string& why) {
  throw std::invalid_argument("patch(): " + why);
}

}  // namespace

// The markup is the builder's (text escaped, so each '<' opens a tag or a
// comment) or the caller's own (Html::unsafe_raw), read the same way.
void check_patch_targets(std::string_view markup) {
  OpenElements open;
  std::string_view closed_p_at;  // the start tag that last closed a <p>
  const auto never = [](std::string_view) { return false; };
  for (std::size_t lt = markup.find('<'); lt != std::string_view::npos;
       lt = markup.find('<', lt + 1)) {
    if (markup.compare(lt, 4, "<!--") == 0) {
      lt = markup.find("-->", lt);
      if (lt == std::string_view::npos) return;
      continue;
    }
    const std::size_t gt = markup.find('>', lt);
    if (gt == std::string_view::npos) return;
    const std::string_view tag = markup.substr(lt, gt + 1 - lt);
    lt = gt;
    if (tag.size() < 3 || tag[1] == '!' || tag[1] == '?') continue;  // doctype, processing
    if (tag[1] == '/') {
      const std::string_view name = read_start_tag(tag.substr(1)).name;
      if (open.close_open(name, never) || open.depth() > 0) continue;
      // At the top, the parser reads these two as new elements, without an id.
      if (iequals(name, "p"))
        refuse("a </p> that closes no <p> is read as a new, empty <p> without an id" +
               (closed_p_at.empty()
                    ? std::string()
                    : " (the browser closed the <p> before the <" + std::string(closed_p_at) +
                          "> in it: a <p> cannot hold one)"));
      if (iequals(name, "br")) refuse("a </br> is read as a <br> without an id");
      continue;
    }
    const StartTag start = read_start_tag(tag);
    if (start.id && !plain_id(*start.id))
      refuse("the element id \"" + std::string(*start.id) +
             "\" cannot name a patch target (use letters, digits, '-' and '_', starting with a "
             "letter or '_')");
    const bool in_table_part = table_part(open.innermost());
    if (in_table_part && !table_content(start))
      refuse("the browser moves a <" + std::string(start.name) + "> directly in a <" +
             std::string(open.innermost()) + "> out of the table (put it in a cell)");
    bool hoisted = false;
    if (open.in_foreign_content() && breaks_out_of_foreign(start.name))
      hoisted = open.close_foreign();
    if (!open.in_foreign_content()) hoisted |= close_implied(open, start.name, closed_p_at);
    if (open.depth() == 0 && !start.id)
      refuse(
          "the element <" + std::string(start.name) + "> has no id" +
          (hoisted ? " and comes out to the top (the browser closes the element it is in)" : "") +
          "; a patch is morphed into the page's element with its id");
    const bool closed_at_once = (in_table_part && iequals(start.name, "form")) ||
                                html::detail::is_void_tag(start.name) ||
                                // HTML ignores "/>": a <div/> stays open.
                                (start.self_closing && open.opens_foreign(start.name));
    if (!closed_at_once) open.open(start.name);
  }
}

}  // namespace stube
