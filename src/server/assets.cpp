#include "server/assets.hpp"

#include <array>
#include <cstddef>
#include <cstdint>

namespace stube::server {

namespace embedded {
extern const unsigned char datastar_js[];
extern const std::size_t datastar_js_size;
extern const unsigned char stube_css[];
extern const std::size_t stube_css_size;
extern const unsigned char stube_js[];
extern const std::size_t stube_js_size;
}  // namespace embedded

namespace {

std::string_view bytes(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// FNV-1a: a cheap content fingerprint for ETags and cache-busting URLs.
std::string fingerprint(std::string_view body) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : body) h = (h ^ c) * 1099511628211ull;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(h >> shift) & 15];
  return out + "\"";
}

struct Table {
  std::array<std::string, 3> etags;
  std::array<Asset, 3> assets;
  Table() {
    const std::string_view datastar = bytes(embedded::datastar_js, embedded::datastar_js_size);
    const std::string_view css = bytes(embedded::stube_css, embedded::stube_css_size);
    const std::string_view script = bytes(embedded::stube_js, embedded::stube_js_size);
    etags = {fingerprint(datastar), fingerprint(css), fingerprint(script)};
    assets = {Asset{"datastar.js", "text/javascript; charset=utf-8", datastar, etags[0]},
              Asset{"stube.css", "text/css; charset=utf-8", css, etags[1]},
              Asset{"stube.js", "text/javascript; charset=utf-8", script, etags[2]}};
  }
};

const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

const Asset* find_asset(std::string_view name) {
  for (const Asset& a : table().assets)
    if (a.name == name) return &a;
  return nullptr;
}

std::string asset_url(std::string_view name) {
  const Asset* a = find_asset(name);
  std::string url = "/_stube/" + std::string(name);
  if (a) url += "?v=" + std::string(a->etag.substr(1, a->etag.size() - 2));
  return url;
}

std::string_view datastar_version() {
  // The bundle starts with "// Datastar v<version>\n".
  const std::string_view js = bytes(embedded::datastar_js, embedded::datastar_js_size);
  constexpr std::string_view kPrefix = "// Datastar v";
  if (js.substr(0, kPrefix.size()) != kPrefix) return "unknown";
  const std::string_view rest = js.substr(kPrefix.size());
  return rest.substr(0, rest.find('\n'));
}

}  // namespace stube::server
