// How rendered elements talk back to the server: Datastar (1.0.0-beta.11)
// attributes. The wire format lives here and in src/server/ alone.
//
//   on("click", "inc")  ->  data-on-click="@post('/event/<cid>/<iid>/inc', {retryMaxCount: 0,
//                                            openWhenHidden: true})"
//   bind("name")        ->  data-bind="<ns>.name"   (ns = signal_namespace(iid))
//
// @post sends every signal of the page as a JSON body; the server picks the
// instance's namespace out of it. An event is posted once: retryMaxCount 0,
// never again after a network error; openWhenHidden, else Datastar aborts
// the request when the tab is hidden and posts it again when it is shown
// (the handler would run twice for one click).
#include "kernel/wire.hpp"

#include <stdexcept>

#include "stube/component.hpp"
#include "stube/conversation.hpp"

namespace stube {

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool valid_token(std::string_view s, std::string_view extra) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s)
    if (!(is_alnum(c) || c == '-' || c == '_' || extra.find(c) != std::string_view::npos))
      return false;
  return true;
}

// A DOM event name, optionally with Datastar modifiers: "click",
// "input__debounce.300ms", "submit".
bool valid_dom_event(std::string_view s) {
  return valid_token(s, ".") && s.front() != '_';
}

// Signal names reach the browser as object keys: Datastar refuses "__" in
// them and treats a leading '_' as local (never sent).
bool valid_signal(std::string_view s) {
  return valid_token(s, "") && s.front() != '_' && s.find("__") == std::string_view::npos;
}

void percent_encode(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = is_alnum(ch) || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

// The ids go into a JavaScript string and a signal path. The kernel mints
// valid ones, but a conversation can come from a store record someone
// edited: an id with a quote in it would run as script on the page.
void check_ids(const char* what, std::string_view iid, std::string_view cid) {
  if (!conv::valid_id(iid))
    throw std::invalid_argument(std::string(what) + ": invalid instance id " + conv::quote_id(iid));
  if (!conv::valid_id(cid))
    throw std::invalid_argument(std::string(what) + ": invalid conversation id " +
                                conv::quote_id(cid));
}

// The browser resolves "." and ".." in the event's URL (new URL(...)), so a
// handler by such a name could never be reached.
bool valid_event(std::string_view s) {
  return valid_token(s, ".:") && s.find_first_not_of('.') != std::string_view::npos;
}

}  // namespace

bool valid_base_path(std::string_view path) noexcept {
  if (path.empty()) return true;
  if (path.front() != '/' || path.back() == '/' || path.size() > 512) return false;
  char prev = '\0';
  for (char c : path) {
    if (c == '/' && prev == '/') return false;
    if (!(is_alnum(c) || c == '/' || c == '_' || c == '-' || c == '.' || c == '~')) return false;
    prev = c;
  }
  return path.find("/.") == std::string_view::npos;
}

std::string signal_namespace(std::string_view iid) {
  std::string ns;
  ns.reserve(iid.size() + 4);
  for (char c : iid) {
    ns += c;
    if (c == '_') ns += '0';
  }
  return ns;
}

namespace {

// A payload the server could never take back from the page: every click
// would be a 400. Said at render time instead.
[[noreturn, gnu::cold]] void fail_payload(std::string_view event, const edn::Value& payload,
                                          std::size_t encoded_bytes = 0) {
  const std::string what = "on(): the payload of event '" + std::string(event) + "' ";
  if (!payload.printable())
    throw std::invalid_argument(what +
                                "holds a live C++ object (an opaque value), which "
                                "cannot travel in a URL");
  if (payload.depth() > kMaxPayloadDepth)
    throw std::invalid_argument(what + "nests " + std::to_string(payload.depth()) +
                                " levels deep; the server reads payloads at most " +
                                std::to_string(kMaxPayloadDepth) + " deep (kMaxPayloadDepth)");
  throw std::invalid_argument(what + "is " + std::to_string(encoded_bytes) +
                              " bytes in the URL, over kMaxPayloadUrlBytes (" +
                              std::to_string(kMaxPayloadUrlBytes) +
                              "): send a key, and keep the data in the state");
}

}  // namespace

html::Attr Self::on(std::string_view dom_event, std::string_view event,
                    const edn::Value& payload) const {
  if (!valid_dom_event(dom_event))
    throw std::invalid_argument("on(): invalid DOM event name '" + std::string(dom_event) + "'");
  if (!valid_event(event))
    throw std::invalid_argument("on(): invalid event name '" + std::string(event) + "'");
  // One buffer, sized once: every render calls this for every handler.
  const std::string_view cid = wire_ ? std::string_view(wire_->cid) : std::string_view("unbound");
  check_ids("on()", iid_, cid);
  const std::string_view base = wire_ ? std::string_view(wire_->base_path) : std::string_view();
  // The runtime checks it at start, but the kernel can be driven directly.
  if (!valid_base_path(base))
    throw std::invalid_argument("on(): invalid KernelOptions::base_path '" + std::string(base) +
                                "' (use \"\" or e.g. \"/app\")");
  std::string value;
  value.reserve(72 + base.size() + cid.size() + iid_.size() + event.size());
  value += "@post('";
  value += base;
  value += "/event/";
  value += cid;
  value += '/';
  value += iid_;
  value += '/';
  value += event;
  if (!payload.is_nil()) {
    if (!payload.printable() || payload.depth() > kMaxPayloadDepth) fail_payload(event, payload);
    value += "?p=";
    const std::size_t start = value.size();
    percent_encode(edn::write(payload), value);  // no quote survives: safe in the JS string
    if (value.size() - start > kMaxPayloadUrlBytes)
      fail_payload(event, payload, value.size() - start);
  }
  value += "', {retryMaxCount: 0, openWhenHidden: true})";
  std::string name = "data-on-";
  name += dom_event;
  // Not attr(), which refuses Datastar attributes: this value is ours.
  return html::Attr(std::move(name), std::move(value), false);
}

html::Attr Self::bind(std::string_view signal) const {
  if (!valid_signal(signal))
    throw std::invalid_argument("bind(): invalid signal name '" + std::string(signal) +
                                "' (use [A-Za-z0-9_-], no leading '_', no '__')");
  check_ids("bind()", iid_, wire_ ? std::string_view(wire_->cid) : std::string_view("unbound"));
  return html::Attr("data-bind", signal_namespace(iid_) + "." + std::string(signal), false);
}

}  // namespace stube
