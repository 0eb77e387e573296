// The browser assets embedded at build time (src/server/assets.cmake): the
// Datastar client from npm and the stock stylesheet.
#pragma once

#include <string>
#include <string_view>

namespace stube::server {

struct Asset {
  std::string_view name;          // "datastar.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
  std::string_view etag;  // quoted, derived from the content
};

// nullptr when there is no asset of that name.
const Asset* find_asset(std::string_view name);

// "/_stube/<name>?v=<etag>" (relative to the base path): the version makes
// the long cache lifetime safe across upgrades.
std::string asset_url(std::string_view name);

// The pinned Datastar version, e.g. "1.0.0-beta.11".
std::string_view datastar_version();

}  // namespace stube::server
