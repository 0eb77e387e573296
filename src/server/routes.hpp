// The route table of SPEC §9 as a pure function from a request path to a
// route, so that it can be tested without sockets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace stube::server {

struct Route {
  enum class Kind {
    Sse,    // GET  /sse/<cid>
    Event,  // POST /event/<cid>/<iid>/<event>
    Back,   // POST /back/<cid>
    Asset,  // GET  /_stube/<name>
    Path,   // anything else: a mount or a page, looked up by `path`
  };
  Kind kind = Kind::Path;
  std::string cid, iid, event;
  std::string asset;  // Asset: the file name
  std::string path;   // Path: the path (relative to the base path)
};

// A request target in origin form ("/path?query"): the target itself, or
// for the absolute form ("http://host:port/path?query", which RFC 9112
// §3.2.2 has servers accept) the same without scheme and authority ("/"
// when the path is empty). Nothing for any other form.
std::optional<std::string> origin_form(std::string_view target);

// The authority of an absolute-form target ("host:port" of
// "http://host:port/path"), empty for an origin-form one.
std::string_view target_authority(std::string_view target) noexcept;

// The host of an authority as RFC 9112 §3.2 has it in a Host header or an
// absolute-form target, `uri-host [":" port]` (RFC 3986 §3.2.2: a
// registered name, an IPv4 address or a bracketed IP literal; the port
// digits only, at most 65535), without its port ("[::1]:8080" -> "[::1]");
// nothing when the authority is not of that form ("a b", "u@x",
// "localhost:abc"). An empty authority is an empty host.
std::optional<std::string_view> authority_host(std::string_view authority) noexcept;

// Splits a request target into its path and query ("?" removed).
std::pair<std::string_view, std::string_view> split_target(std::string_view target) noexcept;

// The path relative to `base` ("" or "/app"), or nothing when the path is
// not under it. "/app" and "/app/" both map to "/".
std::optional<std::string_view> strip_base(std::string_view path, std::string_view base) noexcept;

// Classifies a path (relative to the base path). Throws BadRequest naming
// the problem when a /sse, /event or /back path is malformed: a missing or
// extra segment, or an id that is not [A-Za-z0-9_-]{1,128}.
Route parse_route(std::string_view path);

// Whether the start of a request (its request line, perhaps cut off after
// the target's first bytes) is a GET of a conversation's stream under
// `base`: how a connection refused over the cap is answered.
bool requests_stream(std::string_view head, std::string_view base) noexcept;

}  // namespace stube::server
