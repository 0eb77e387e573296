// Request -> response for every route of SPEC §9. Runs on a worker (or, with
// no workers, on the connection's strand); the runtime calls it makes may
// block (per-conversation lock, store.save).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>

#include "server/core.hpp"
#include "server/sse_stream.hpp"

namespace stube::server {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct Reply {
  Response response;
  // Set for an accepted SSE request: the connection goes to the stream,
  // which writes its own response; `response` is unused.
  std::shared_ptr<SseStream> stream;
};

Reply handle_request(Core& core, const Request& request,
                     const boost::asio::any_io_executor& strand);

// True for a request that never waits on the runtime (an asset, a target
// outside the base path or malformed): the I/O thread answers it at once
// instead of queueing it behind busy workers.
bool answers_at_once(const Core& core, const Request& request) noexcept;

// A complete response with a text message (400, 404, 405, ...).
Response text_response(unsigned status, std::string_view message, unsigned version,
                       bool keep_alive);

// The name of the cookie that holds the owner token of conversation `cid`.
std::string owner_cookie_name(std::string_view cid);

}  // namespace stube::server
