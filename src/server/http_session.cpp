#include "server/http_session.hpp"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <iterator>
#include <variant>

#include "server/http_util.hpp"

namespace stube::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// Beast's message reads only the first Connection line (and its parser,
// for HTTP/1.0, only looks for keep-alive), but the lines are one list
// (RFC 9110 §5.3), and a "close" in any of them must close the connection
// after the response (RFC 9112 §9.6).
bool close_requested(const Request& req) {
  const auto [first, last] = req.equal_range(http::field::connection);
  for (auto it = first; it != last; ++it)
    if (http::token_list{it->value()}.exists("close")) return true;
  return false;
}

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket&& socket, Core& core, ConnectionSlot slot)
    : stream_(std::move(socket)), core_(core), slot_(std::move(slot)) {
  std::lock_guard lock(core_.sessions_mu);
  core_.sessions.insert(this);
}

HttpSession::~HttpSession() {
  std::lock_guard lock(core_.sessions_mu);
  core_.sessions.erase(this);
}

void HttpSession::abort() noexcept {
  if (handed_off_) return;
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

void HttpSession::run() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->stream_.socket().set_option(net::ip::tcp::no_delay(true), ignored);
    self->read_header();
  });
}

void HttpSession::read_header() {
  // Beast's limits count header bytes and body bytes, not chunk extensions or
  // trailers, which it collects in this buffer until their line ends: capped,
  // an endless one is a 400 instead of gigabytes of memory.
  buffer_.max_size(core_.options.max_header_bytes + kFramingSlack);
  new_parser();
  head_ = false;
  // The whole request (and an idle keep-alive gap before it) must arrive in time.
  stream_.expires_after(core_.options.request_timeout);
  header_bytes_ = 0;
  empty_lines_ = 0;
  read_header_part();
}

void HttpSession::new_parser() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(core_.options.max_header_bytes));
  parser_->body_limit(core_.options.max_body_bytes);
}

// RFC 9112 §2.2: a server SHOULD ignore at least one empty line received
// before a request line (some clients send a CRLF after a POST's body).
// Beast (1.74) refuses one as a bad method, leaving the bytes in the buffer:
// then up to a few are dropped here and the request is parsed again. True
// when one was.
namespace {
constexpr std::size_t kMaxEmptyLines = 4;
}  // namespace

bool HttpSession::skip_empty_lines() {
  const std::size_t before = empty_lines_;
  while (empty_lines_ < kMaxEmptyLines) {
    const auto data = buffer_.cdata();
    const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    if (bytes.starts_with("\r\n"))
      buffer_.consume(2);
    else if (bytes.starts_with('\n'))
      buffer_.consume(1);
    else
      break;
    ++empty_lines_;
  }
  return empty_lines_ != before;
}

// The header is read part by part, counting what the parser took: Beast
// (1.74) holds header_limit against what is not parsed yet only, and drops
// each parsed line from the buffer, so short lines arriving a few at a time
// passed any limit (megabytes of fields kept in the request). Its own
// http::async_read_some cannot count them: it reads on until the parser
// needs no more, i.e. until the header is complete. So the loop is here:
// each read's bytes go to the parser at once, and what it took is counted.
void HttpSession::read_header_part() {
  if (buffer_.size() == 0) return read_more_header();
  beast::error_code ec;
  const std::size_t parsed = parser_->put(buffer_.data(), ec);
  buffer_.consume(parsed);
  on_header_part(ec, parsed);
}

void HttpSession::read_more_header() {
  // The buffer is capped (see read_header): a line that fills it is over
  // the limit.
  const std::size_t room = buffer_.max_size() - buffer_.size();
  if (room == 0) return on_header(http::error::header_limit);
  constexpr std::size_t kReadSize = 64 * 1024;
  stream_.async_read_some(buffer_.prepare(std::min(room, kReadSize)),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->buffer_.commit(n);
                            if (ec) return self->on_header(ec);
                            self->read_header_part();
                          });
}

void HttpSession::on_header_part(beast::error_code ec, std::size_t parsed) {
  header_bytes_ += parsed;
  if (ec == http::error::bad_method && header_bytes_ == 0) {
    if (skip_empty_lines()) {
      new_parser();
      return read_header_part();
    }
    // A CR whose LF has not arrived yet (the two came in different reads).
    const auto data = buffer_.cdata();
    if (empty_lines_ < kMaxEmptyLines && data.size() == 1 &&
        *static_cast<const char*>(data.data()) == '\r') {
      new_parser();
      return read_more_header();
    }
  }
  const bool more = ec == http::error::need_more || (!ec && !parser_->is_header_done());
  if (header_bytes_ > core_.options.max_header_bytes && (more || !ec))
    return on_header(http::error::header_limit);
  if (more) return read_more_header();
  on_header(ec);
}

void HttpSession::on_header(beast::error_code ec) {
  // Known once the request line is (the method is unknown before): a
  // HEAD's refusal has no body either, also one that Beast reports before
  // it counts the header done (a body over the limit).
  head_ = parser_->get().method() == http::verb::head;
  if (ec) return refuse(ec);
  const auto& req = parser_->get();
  header_fields_ = static_cast<std::size_t>(std::distance(req.begin(), req.end()));
  // RFC 9112 §6.3: a body framed by anything but "chunked" alone cannot be
  // delimited (Beast would read it as the next request), and HTTP/1.0 has no
  // Transfer-Encoding at all.
  if (const auto te = req.find(http::field::transfer_encoding); te != req.end()) {
    if (req.version() < 11 || req.count(http::field::transfer_encoding) > 1 ||
        !beast::iequals(te->value(), "chunked")) {
      return respond(refusal("unsupported Transfer-Encoding (only \"chunked\", in HTTP/1.1)"));
    }
  }
  const auto expect = req.find(http::field::expect);
  if (expect != req.end() && beast::iequals(expect->value(), "100-continue") &&
      req.version() >= 11 && !parser_->is_done()) {
    // curl and others wait for this before sending a body. (HTTP/1.0 has
    // no interim responses: such a client gets none, RFC 9110 §10.1.1.)
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this()](beast::error_code wec, std::size_t) {
                       if (wec) return self->close();
                       self->read_body();
                     });
    return;
  }
  read_body();
}

void HttpSession::read_body() {
  http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
}

void HttpSession::on_body(beast::error_code ec) {
  if (ec) return refuse(ec);
  // Beast files a chunked body's trailer fields with the header's, where a
  // trailing Cookie or Host would count as sent with the request (RFC 9110
  // §6.5.1 forbids that merge): refused.
  const auto& fields = parser_->get();
  if (static_cast<std::size_t>(std::distance(fields.begin(), fields.end())) != header_fields_)
    return respond(refusal("trailer fields are not supported", true));
  stream_.expires_never();
  Request req = parser_->release();
  if (close_requested(req)) req.keep_alive(false);
  auto routed = route_request(core_, req);
  if (auto* refusal = std::get_if<Response>(&routed)) return respond(std::move(*refusal));
  Target& target = std::get<Target>(routed);
  if (!core_.workers || !may_wait(core_, target.route))
    return answer(handle_request(core_, req, target, stream_.get_executor()));
  // Handling may wait (a conversation's lock, the store's save): on a worker,
  // so that this I/O thread serves other connections meanwhile. Nothing else
  // touches this session until the answer is posted back to its strand.
  const std::string cid = target.route.cid;
  core_.workers->post(
      cid, [self = shared_from_this(), req = std::move(req), target = std::move(target)] {
        Reply reply = handle_request(self->core_, req, target, self->stream_.get_executor());
        net::post(self->stream_.get_executor(),
                  [self, reply = std::move(reply)]() mutable { self->answer(std::move(reply)); });
      });
}

void HttpSession::answer(Reply reply) {
  if (reply.stream) {
    // The connection now belongs to the stream; this session ends here.
    // What the client pipelined behind the stream's request (in buffer_)
    // goes unanswered: the stream's response says "Connection: close", on
    // which the client sends it again elsewhere (RFC 9112 §9.3.2).
    handed_off_ = true;
    reply.stream->start(std::move(stream_), std::move(slot_));
    return;
  }
  if (reply.cut_short && reply.response.version() >= 11)
    return respond_cut_short(std::move(reply.response));
  respond(std::move(reply.response));
}

// The headers every response carries.
void HttpSession::stamp(Response& response) const {
  response.set(http::field::date, http_date_now());  // RFC 9110 §6.6.1
  // A plain-text error quoting the request is never sniffed into HTML.
  response.set("X-Content-Type-Options", "nosniff");
  if (!core_.frame_policy.empty()) response.set("Content-Security-Policy", core_.frame_policy);
  if (!core_.frame_options.empty()) response.set("X-Frame-Options", core_.frame_options);
}

// The response as an unfinished chunked body, then, a moment later, the
// connection closed: the client reads the status and the
// message, then meets a network error, on which Datastar retries. (An
// HTTP/1.0 client has no chunks and gets the complete response.)
void HttpSession::respond_cut_short(Response response) {
  stamp(response);
  raw_response_ = unfinished(std::move(response));
  stream_.expires_after(core_.options.request_timeout);
  net::async_write(stream_, net::buffer(raw_response_),
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                     if (ec) return self->close();
                     // Time for the page's script to read the message (see
                     // kCutShortLinger), then the close.
                     auto linger = std::make_shared<net::steady_timer>(self->stream_.get_executor(),
                                                                       kCutShortLinger);
                     linger->async_wait([self, linger](beast::error_code) { self->close(); });
                   });
}

void HttpSession::respond(Response response) {
  // Every answer to a HEAD, refusals included: body bytes would be read as
  // the start of the next response on a kept-alive connection.
  if (head_) drop_body_for_head(response);
  stamp(response);
  response_ = std::make_shared<Response>(std::move(response));
  serializer_.emplace(*response_);
  write_some(!response_->keep_alive());
}

// request_timeout bounds each write, not the whole response: a large page
// goes to a slow client that keeps reading; one that stops is cut.
void HttpSession::write_some(bool close) {
  stream_.expires_after(core_.options.request_timeout);
  http::async_write_some(stream_, *serializer_,
                         [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
                           if (!ec && !self->serializer_->is_done()) return self->write_some(close);
                           self->on_write(close, ec);
                         });
}

void HttpSession::on_write(bool close_after, beast::error_code ec) {
  serializer_.reset();
  response_.reset();
  if (!ec && close_after && request_unread()) return linger();
  if (ec || close_after) return close();
  read_header();
}

// A request refused before it was read whole (a body over the limit).
bool HttpSession::request_unread() const {
  return parser_ && parser_->got_some() && !parser_->is_done();
}

// The client may still be sending the request refused: closing with its
// bytes unread makes the kernel answer with a reset, which can reach the
// client before it read the 400 (curl: "Send failure: Broken pipe"). So, as
// nginx's lingering close does: stop sending, read and discard until the
// client closes, for at most kLinger, then close.
void HttpSession::linger() {
  static constexpr std::chrono::milliseconds kLinger{2000};
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(std::min(core_.options.request_timeout, kLinger));  // for all the reads
  discard_input();
}

void HttpSession::discard_input() {
  buffer_.consume(buffer_.size());
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec) return self->close();
                            self->discard_input();
                          });
}

// A request that could not be read: say why when it is the client's fault
// (and the connection still works), then close.
void HttpSession::refuse(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::operation_aborted || ec == net::error::connection_reset ||
      ec == net::error::eof || ec == http::error::partial_message)
    return close();
  std::string message;
  if (ec == http::error::body_limit)
    message = "request body larger than " + std::to_string(core_.options.max_body_bytes) + " bytes";
  else if (ec == http::error::header_limit)
    message =
        "request header larger than " + std::to_string(core_.options.max_header_bytes) + " bytes";
  else if (ec == http::error::buffer_overflow)
    message = "chunk extension or trailer larger than " +
              std::to_string(core_.options.max_header_bytes) + " bytes";
  else
    message = "malformed HTTP request: " + ec.message();
  // A body over the limit is refused when the header is complete (Beast
  // checks its Content-Length then, before it counts the header as done).
  respond(refusal(message, ec == http::error::body_limit));
}

// A 400 for a request that cannot be read on, after which the connection
// closes. Once its header is known, a Datastar request gets the message
// patched into the page's error element, as for any other 400.
Response HttpSession::refusal(std::string_view message, bool header_read) const {
  if (!parser_ || !(header_read || parser_->is_header_done()))
    return text_response(400, message, 11, false);
  Response res = reject(400, parser_->get(), message);
  res.keep_alive(false);
  return res;
}

void HttpSession::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream_.close();
  slot_ = ConnectionSlot();  // the descriptor is free again
}

}  // namespace stube::server
