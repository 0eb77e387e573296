// Request -> response for every route of SPEC §9. Runs on a worker (or, with
// no workers, on the connection's strand); the runtime calls it makes may
// block (per-conversation lock, store.save).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <variant>

#include "server/core.hpp"
#include "server/routes.hpp"
#include "server/sse_stream.hpp"

namespace stube::server {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct Reply {
  Response response;
  // Set for an accepted SSE request: the connection goes to the stream,
  // which writes its own response; `response` is unused.
  std::shared_ptr<SseStream> stream;
  // Set for a refused SSE request the client should retry (a 503: the
  // server is restarting, the store is unavailable): `response` is sent as
  // an unfinished chunked body (see unfinished()) and the connection is then
  // closed. Datastar's stream client retries only on a network error; a
  // complete 503 would end the page's stream for good.
  bool cut_short = false;
};

// A request's route, worked out once, on the I/O thread.
struct Target {
  Route route;
  std::string query;  // after "?", still encoded
};

// The route of a request, or the answer when there is none: 404 for a path
// outside the base path, 400 for a malformed target.
std::variant<Target, Response> route_request(const Core& core, const Request& request);

// False for requests that never wait on the runtime or the store (assets,
// static pages, unknown paths): the I/O thread answers them at once instead
// of queueing them behind busy workers. Only mounts (a mint saves) and the
// conversation routes may wait.
bool may_wait(const Core& core, const Route& route);

Reply handle_request(Core& core, const Request& request, const Target& target,
                     const boost::asio::any_io_executor& strand);

// A refused request. Datastar clients get the message as a patch of the
// error element (they read every response as an event stream); others get
// plain text.
Response reject(unsigned status, const Request& req, std::string_view message);

// A complete response with a text message (400, 404, 405, ...).
Response text_response(unsigned status, std::string_view message, unsigned version,
                       bool keep_alive);

// The response to a HEAD request: `res` without its body (RFC 9110
// §9.3.2), its Content-Length still the length the body would have.
void drop_body_for_head(Response& res);

// `res` serialized for an HTTP/1.1 client with its body as one chunk of a
// chunked body that is never finished (no last chunk; "Connection: close"):
// the client gets the status and the body, then, when the connection
// closes, a network error.
std::string unfinished(Response res);

// How long the connection of a cut-short response stays open after it was
// written. The browser errors the response's body stream when the
// connection closes, and an errored stream drops the chunks the script has
// not read yet: closed at once, the message would never reach the page.
inline constexpr std::chrono::milliseconds kCutShortLinger{200};

// A 503 with Retry-After for a Datastar stream request, serialized and cut
// short (unfinished()): its body patches `message` into the error element.
std::string refused_stream_response(std::string_view message);

// `res` with Retry-After: 5, for a 503 the client may soon try again.
Response retry_later(Response res);

// The name of the cookie that holds the owner token of conversation `cid`.
std::string owner_cookie_name(std::string_view cid);

}  // namespace stube::server
