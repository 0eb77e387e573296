#include "server/shell.hpp"

#include "server/assets.hpp"
#include "stube/html.hpp"
#include "stube/kernel.hpp"

namespace stube::server {

namespace {

// Data, not script (nothing runs it: a Content-Security-Policy need not
// allow it). JSON has '<' only inside strings, where \u003c means the same:
// no text of a signal can close the element.
void append_signals(std::string_view json, std::string& out) {
  if (json.empty()) return;
  out += "<script type=\"application/json\" id=\"stube-signals\">";
  for (const char c : json) {
    if (c == '<')
      out += "\\u003c";
    else
      out += c;
  }
  out += "</script>\n";
}

}  // namespace

std::string render_shell(const ShellPage& p) {
  const std::string base(p.base_path);
  std::string out;
  out.reserve(p.root_html.size() + 1024);
  out += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  // No icon of its own: without this the browser asks for /favicon.ico,
  // gets a 404, and logs it in the console of every page.
  out += "<link rel=\"icon\" href=\"data:,\">\n<title>";
  html::escape_into(p.title, out);
  out += "</title>\n<link rel=\"stylesheet\" href=\"";
  html::escape_into(base + asset_url("stube.css"), out);
  out += "\">\n<script type=\"module\" src=\"";
  html::escape_into(base + asset_url("datastar.js"), out);
  out += "\"></script>\n<script type=\"module\" src=\"";
  html::escape_into(base + asset_url("stube.js"), out);
  // The inline script runs before any module: the stream's @get finds the
  // abort signal stube.js watches it with (see kStreamOptions).
  // A form submitted the browser's way (no action: to the page's own
  // address) starts a new conversation, and what was typed is gone: Enter
  // in a form whose submit posts an event, before Datastar (a deferred
  // module) has loaded to prevent it, or a click or Enter in a form of the
  // view that has no submit event at all. Only a form with an action (or a
  // submit button with a formaction) of its own goes the browser's way, and
  // a <dialog>'s form (method="dialog": it closes the dialog, no request).
  // Attributes, not properties: a field named "method" or "action" is what
  // form.method and form.action give.
  out += "\"></script>\n<script>window.stubeStream = {abort: new AbortController(), keepAliveMs: ";
  out += std::to_string(p.keep_alive.count());
  // `live`: whether a @get of the stream runs. Followed from here, before
  // any module: the stream may start before stube.js has loaded.
  out +=
      ", live: false};\n"
      "document.addEventListener('datastar-sse', function (e) {\n"
      "  var d = e.detail || {};\n"
      "  if (d.elId !== 'stube-stream') return;\n"
      "  if (d.type === 'started') stubeStream.live = true;\n"
      "  else if (d.type === 'finished') stubeStream.live = false;\n"
      "});\n"
      "document.addEventListener('submit', function (e) {\n"
      "  var f = e.target, s = e.submitter, own = function (n) {\n"
      "    return (s && s.getAttribute('form' + n)) || f.getAttribute(n); };\n"
      "  if (f.getAttributeNames().some(function (n) {\n"
      "        return n.indexOf('data-on-submit') === 0; }) ||\n"
      "      !(own('action') || /^dialog$/i.test(own('method'))))\n"
      "    e.preventDefault();\n"
      "}, true);</script>\n</head>\n<body>\n<div id=\"";
  out += kErrorElementId;
  // An alert: its messages (a stale page, a failed click) are announced.
  out += "\" role=\"alert\"></div>\n<form id=\"stube-stream\" hidden data-on-load=\"";
  html::escape_into(
      "@get('" + base + "/sse/" + std::string(p.cid) + "', " + std::string(kStreamOptions) + ")",
      out);
  out += "\"></form>\n";
  append_signals(p.signals_json, out);
  out += "<div id=\"";
  out += kRootElementId;
  out += "\">";
  out += p.root_html;
  out += "</div>\n</body>\n</html>\n";
  return out;
}

}  // namespace stube::server
