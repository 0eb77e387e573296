// How rendered elements talk back to the server: Datastar attributes.
// (The wire format lives here alone so the server and the kernel agree.)
#include <stdexcept>

#include "stube/component.hpp"

namespace stube {

namespace {

bool valid_token(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

void percent_encode(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

}  // namespace

html::Attr Self::on(std::string_view dom_event, std::string_view event, edn::Value payload) const {
  if (!valid_token(dom_event)) throw std::invalid_argument("on(): invalid DOM event name '" + std::string(dom_event) + "'");
  if (!valid_token(event)) throw std::invalid_argument("on(): invalid event name '" + std::string(event) + "'");
  std::string url = wire_ ? wire_->base_path : std::string();
  url += "/event/";
  url += wire_ ? wire_->cid : std::string("unbound");
  url += '/';
  url += iid_;
  url += '/';
  url += event;
  if (!payload.is_nil()) {
    url += "?p=";
    percent_encode(edn::write(payload), url);
  }
  return html::attr("data-on-" + std::string(dom_event), "@post('" + url + "')");
}

html::Attr Self::bind(std::string_view signal) const {
  if (!valid_token(signal)) throw std::invalid_argument("bind(): invalid signal name '" + std::string(signal) + "'");
  return html::attr("data-bind-" + std::string(signal), "");
}

}  // namespace stube
