// Small HTTP helpers: percent-decoding, query strings, cookies, id checks.
// Everything here is pure and throws BadRequest for malformed input, so a
// request is rejected before any of it reaches the runtime.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "stube/server.hpp"

namespace stube::server {

// Malformed input from the client; what() is the message sent with the 400.
class BadRequest : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Decodes %XX escapes (and '+' as a space when `plus_is_space`). Throws
// BadRequest for a truncated or non-hex escape.
std::string percent_decode(std::string_view text, bool plus_is_space);

// "a=1&b=x%20y" -> {a: "1", b: "x y"}. A repeated name keeps the last value.
// With `text`, a NUL (%00) is refused as well (BadRequest): the values are
// text for the page, where a NUL cannot go (an event's EDN payload may hold
// one: it never goes back).
QueryParams parse_query(std::string_view query, bool text = false);

// Every value of cookie `name` in a Cookie header ("a=1; b=2"), in order: a
// browser sends one per matching Path and Domain, the longest Path first.
std::vector<std::string_view> cookie_values(std::string_view header, std::string_view name);

// A host as ServerOptions::allowed_hosts takes it: a name or IPv4 address
// ([A-Za-z0-9._~-], not starting with '-' or '.') or a bracketed IPv6
// address, and no port.
bool host_name_alone(std::string_view host);

// Conversation and instance ids: [A-Za-z0-9_-]{1,128}.
bool valid_id(std::string_view id) noexcept;
// Event names: [A-Za-z0-9_.:-]{1,128}.
bool valid_event_name(std::string_view name) noexcept;

// The IMF-fixdate of `t` for a Date header: "Sun, 06 Nov 1994 08:49:37 GMT"
// (RFC 9110 §5.6.7), whatever the process's locale.
std::string http_date(std::chrono::system_clock::time_point t);

// http_date() of now, formatted at most once a second per thread.
const std::string& http_date_now();

// `text` with every byte outside printable ASCII as \xNN: for client bytes
// quoted in an error message, which goes into a UTF-8 response and need
// be neither UTF-8 nor free of control characters.
std::string printable(std::string_view text);

// Whether an If-None-Match value names `etag` (a quoted tag): "*", or one of
// a comma-separated list compared weakly (RFC 9110 §13.1.2: a "W/" prefix
// does not count; nginx's gzip makes the tags it passes on weak).
bool none_match_names(std::string_view header, std::string_view etag) noexcept;

// A mount or page path: "/" or "/seg/seg" with [A-Za-z0-9_.~-] segments.
bool valid_mount_path(std::string_view path) noexcept;

}  // namespace stube::server
