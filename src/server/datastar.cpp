#include "server/datastar.hpp"

#include "stube/html.hpp"

namespace stube::server {

namespace {

// Writes `prefix` + each line of `text`; CR, LF and CRLF all end a line (SSE
// would split on any of them, so none may reach the stream inside a field).
// `first` goes between the prefix and the first line, `last` after the last.
void append_lines(std::string_view prefix, std::string_view text, std::string& out,
                  std::string_view first = {}, std::string_view last = {}) {
  std::size_t start = 0;
  out += prefix;
  out += first;
  for (;;) {
    std::size_t end = text.find_first_of("\r\n", start);
    if (start > 0) out += prefix;
    out += text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (end == std::string_view::npos) {
      out += last;
      out += '\n';
      return;
    }
    out += '\n';
    if (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ++end;
    start = end + 1;
  }
}

}  // namespace

void append_fragment(const Fragment& f, std::string& out) {
  out += "event: datastar-merge-fragments\n";
  static_assert(kRootElementId == "stube-root");
  if (f.mode == Fragment::Mode::Inner && f.target == kRootElementId) {
    // The root's contents go as a morph of the root element itself (the
    // shell's, which has no other attribute). Datastar (beta.11) keys what it
    // has set up by element id and forgets it on an inner swap only for the
    // elements taken out at the top: a new element with an id and data-*
    // attributes seen before (a labelled field, after every page load) was
    // taken as set up already, and stayed dead. A morph sets up again.
    append_lines("data: fragments ", f.html, out, "<div id=\"stube-root\">", "</div>");
    out += '\n';
    return;
  }
  if (f.mode == Fragment::Mode::Inner) {
    out += "data: selector #";
    out += f.target;
    out += "\ndata: mergeMode inner\n";
  }
  append_lines("data: fragments ", f.html, out);
  out += '\n';
}

void append_fragments(const std::vector<Fragment>& fragments, std::string& out) {
  for (const Fragment& f : fragments) append_fragment(f, out);
}

void append_merge_signals(std::string_view json, std::string& out) {
  out += "event: datastar-merge-signals\n";
  append_lines("data: signals ", json, out);
  out += '\n';
}

void append_remove_signals(const std::vector<std::string>& paths, std::string& out) {
  if (paths.empty()) return;
  out += "event: datastar-remove-signals\n";
  for (const std::string& path : paths) append_lines("data: paths ", path, out);
  out += '\n';
}

void append_retry(std::chrono::milliseconds delay, std::string& out) {
  out += "retry: ";
  out += std::to_string(delay.count());
  out += "\n\n";
}

// The error element is an alert (the shell's too), so that a screen reader
// announces what it comes to say. A morph drops the attributes a fragment
// lacks: every fragment of it carries the role.
static html::Attr error_role() {
  return html::attr("role", "alert");
}

Fragment stale_page_fragment() {
  using namespace html;
  const Html body =
      div(id(kErrorElementId), error_role(), cls("stube-stale"),
          "This page is stale: its conversation has ended or is no longer on the server. ",
          a(attr("href", ""), "Reload"), " to start over.");
  return Fragment{std::string(kErrorElementId), Fragment::Mode::Morph, body.str()};
}

Fragment error_fragment(std::string_view message) {
  using namespace html;
  return Fragment{
      std::string(kErrorElementId), Fragment::Mode::Morph,
      div(id(kErrorElementId), error_role(), div(cls("stube-error-message"), message)).str()};
}

Fragment cleared_error_fragment() {
  using namespace html;
  return Fragment{std::string(kErrorElementId), Fragment::Mode::Morph,
                  div(id(kErrorElementId), error_role()).str()};
}

}  // namespace stube::server
