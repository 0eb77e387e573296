#include "server/sse_stream.hpp"

#include <boost/asio/post.hpp>

#include "server/datastar.hpp"
#include "server/http_util.hpp"
#include "server/signals.hpp"
#include "stube/log.hpp"

namespace stube::server {

namespace net = boost::asio;
namespace beast = boost::beast;

namespace {

// The response head; then "Transfer-Encoding: chunked", or for an HTTP/1.0
// client (no chunks) nothing: the body ends when the connection does. Either
// way "Connection: close": a stream's connection serves nothing after it, so
// a request pipelined behind the stream's is never answered, and the client
// sends it again on another connection (RFC 9112 §9.3.2, §9.6).
constexpr std::string_view kHeaderStart =
    "HTTP/1.1 200 OK\r\n"
    "Server: stube\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n"
    "X-Content-Type-Options: nosniff\r\n";
constexpr std::string_view kChunkedEnd = "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
constexpr std::string_view kUntilCloseEnd = "Connection: close\r\n\r\n";

// The reconnect delay the browser uses after this stream breaks.
constexpr std::chrono::milliseconds kReconnectDelay{500};

void append_chunk(std::string_view data, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char digits[16];
  int n = 0;
  std::size_t size = data.size();
  do {
    digits[n++] = kHex[size & 15];
    size >>= 4;
  } while (size != 0);
  while (n > 0) out += digits[--n];
  out += "\r\n";
  out += data;
  out += "\r\n";
}

}  // namespace

SseStream::SseStream(Core& core, std::string cid, net::any_io_executor strand, bool chunked)
    : core_(core),
      cid_(std::move(cid)),
      chunked_(chunked),
      strand_(std::move(strand)),
      keep_alive_(strand_) {
  append_retry(kReconnectDelay, pending_);
  append_fragment(cleared_error_fragment(), pending_);
  preamble_ = pending_.size();
  hold(pending_.size());
}

SseStream::~SseStream() {
  release(held_.load());  // before it leaves open_streams, as in drop()
  uncount();
}

void SseStream::hold(std::size_t bytes) {
  held_.fetch_add(bytes, std::memory_order_relaxed);
  core_.streams_backlog.fetch_add(bytes, std::memory_order_relaxed);
}

void SseStream::release(std::size_t bytes) {
  held_.fetch_sub(bytes, std::memory_order_relaxed);
  core_.streams_backlog.fetch_sub(bytes, std::memory_order_relaxed);
}

// Counted from start() until the connection is let go (drop(), or the end
// of a stream that never dropped), together with its ConnectionSlot.
void SseStream::uncount() {
  if (counted_) core_.open_streams.fetch_sub(1, std::memory_order_relaxed);
  counted_ = false;
}

void SseStream::enqueue(std::string_view text, std::size_t queued_before) {
  if (overflow_) return;
  // A step with nothing queued before it is always taken, however large:
  // the cap is on what waits behind it. (Capped too, a view larger than
  // max_stream_backlog could never be sent: the page would reconnect for
  // ever, and each time be cut before its first view.)
  const std::size_t queued = pending_.size() + text.size();
  if (queued_before > preamble_ && queued > core_.options.max_stream_backlog)
    return overflow(std::to_string(queued) +
                    " bytes would be queued, more than max_stream_backlog " +
                    std::to_string(core_.options.max_stream_backlog));
  // The total counts what is being written too: a client that does not
  // read has its last view stuck there, with nothing queued behind it.
  const std::size_t held = held_.load(std::memory_order_relaxed);
  const std::size_t all = core_.streams_backlog.load(std::memory_order_relaxed) + text.size();
  if (held > preamble_ && all > core_.options.max_streams_backlog)
    return overflow("the streams would hold " + std::to_string(all) +
                    " bytes together, more than max_streams_backlog " +
                    std::to_string(core_.options.max_streams_backlog) + "; this one " +
                    std::to_string(held));
  pending_ += text;
  hold(text.size());
}

// The client does not read: drop the stream (what it queued goes now, what
// it is writing when the drop runs); the page reconnects and gets the whole
// view afresh.
void SseStream::overflow(const std::string& why) {
  overflow_ = true;
  log::warn("server: stream of conversation " + cid_ + " dropped: the client does not read (" +
            why + "); it reconnects");
  release(pending_.size());
  pending_.clear();
  net::post(strand_, [self = shared_from_this()] { self->drop(); });
}

void SseStream::schedule_flush() {
  if (!started_ || flush_posted_) return;
  flush_posted_ = true;
  net::post(strand_, [self = shared_from_this()] { self->flush(); });
}

void SseStream::send(const std::vector<Fragment>& fragments) {
  std::string text;
  append_fragments(fragments, text);
  std::lock_guard lock(mu_);
  step_start_ = pending_.size();
  queue(text, pending_.size());
}

// The runtime calls it right after the same step's send(), if the step
// sent fragments (holding the conversation meanwhile): the two frames are
// one step. A flush in between took what was before them. A step that only
// sent fragments (an event's: its signals go in the answer) leaves
// step_start_ to the next state_changed(), whose frame then passes the cap
// once: the backlog can exceed max_stream_backlog by one signals frame.
void SseStream::state_changed(const edn::Value& before, const edn::Value& after) {
  std::vector<std::string> reshaped;
  const std::string json = changed_signals_json(*core_.registry, before, after, &reshaped);
  std::lock_guard lock(mu_);
  const std::size_t step_start =
      std::min(std::exchange(step_start_, std::string::npos), pending_.size());
  if (json.empty()) return;
  std::string text;
  append_remove_signals(reshaped, text);
  append_merge_signals(json, text);
  queue(text, step_start);
}

void SseStream::queue(std::string_view text, std::size_t queued_before) {
  if (closing_) return;
  enqueue(text, queued_before);
  schedule_flush();
}

void SseStream::close() {
  if (core_.aborting.load()) {
    // Shutdown: cut the stream without finishing the chunked body, so the
    // browser sees an error and reconnects to the next server.
    net::post(strand_, [self = shared_from_this()] { self->drop(); });
    return;
  }
  std::lock_guard lock(mu_);
  closing_ = true;
  if (started_ && !flush_posted_) {
    flush_posted_ = true;
    net::post(strand_, [self = shared_from_this()] { self->flush(); });
  }
}

void SseStream::start(beast::tcp_stream stream, ConnectionSlot slot) {
  if (dropped_) {
    // Dropped before it started (patches queued behind its first view
    // overflowed the backlog, or the server is shutting down): cut the connection now, which the
    // browser takes as an error and reconnects, rather than keep it open
    // with nothing ever written. Its slot goes with this scope.
    cut(stream);
    return;
  }
  stream_.emplace(std::move(stream));
  slot_ = std::move(slot);
  stream_->expires_never();
  core_.open_streams.fetch_add(1, std::memory_order_relaxed);
  counted_ = true;
  {
    std::lock_guard lock(mu_);
    started_ = true;
    flush_posted_ = true;
  }
  flush();
  watch_client();
  arm_keep_alive();
}

void SseStream::flush() {
  if (dropped_ || finished_ || writing_) return;
  std::string data;
  bool finish = false;
  {
    std::lock_guard lock(mu_);
    flush_posted_ = false;
    data.swap(pending_);
    preamble_ = 0;
    finish = closing_;
  }
  if (data.empty() && !finish && header_sent_) {
    // Idle until the next patch (minutes, for most of 10,000 open pages):
    // hold no write buffer meanwhile.
    std::string().swap(inflight_);
    return;
  }
  inflight_.clear();
  if (!header_sent_) {
    inflight_ += kHeaderStart;
    inflight_ += "Date: ";
    inflight_ += http_date_now();
    inflight_ += "\r\n";
    inflight_ += chunked_ ? kChunkedEnd : kUntilCloseEnd;
    header_sent_ = true;
  }
  if (chunked_ && !data.empty()) append_chunk(data, inflight_);
  if (!chunked_) inflight_ += data;
  if (finish) {
    if (chunked_) inflight_ += "0\r\n\r\n";
    finished_ = true;
  }
  hold(inflight_.size() - data.size());  // the header and the chunks' framing
  writing_ = true;
  written_ = 0;
  write_some();
}

// request_timeout bounds each write, not the whole of a large view: a slow
// client that keeps reading keeps its stream; one that stops is cut.
void SseStream::write_some() {
  stream_->expires_after(core_.options.request_timeout);
  stream_->async_write_some(
      net::buffer(inflight_) + written_,
      [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_write(ec, n); });
}

void SseStream::on_write(beast::error_code ec, std::size_t written) {
  if (ec) {
    writing_ = false;
    if (ec == beast::error::timeout)
      log::warn("server: the stream of " + cid_ + " took nothing for request_timeout (" +
                std::to_string(inflight_.size() - written_) + " bytes unsent); cutting it");
    return drop();
  }
  written_ += written;
  if (!dropped_) release(written);  // drop() released all it held
  if (!dropped_ && written_ < inflight_.size()) return write_some();
  writing_ = false;
  if (dropped_) return;
  stream_->expires_never();
  if (finished_) {
    beast::error_code ignored;
    stream_->socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    // The client closes its side on the end of the body (watch_client then
    // drops the stream). One that keeps it open gets request_timeout, not
    // its connection slot for ever. (Re-arming cancels the keep-alive wait.)
    keep_alive_.expires_after(core_.options.request_timeout);
    keep_alive_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->drop();
    });
    return;
  }
  flush();
}

void SseStream::watch_client() {
  // Nothing is expected from the client; a read completes when it goes away.
  // The read goes to the socket itself, past the tcp_stream: a tcp_stream
  // read takes whatever timeout is set when it starts (the one flush() sets
  // for its writes), and an open stream would then be cut after
  // request_timeout.
  stream_->socket().async_read_some(net::buffer(read_buf_),
                                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                      if (ec) return self->drop();
                                      self->watch_client();
                                    });
}

void SseStream::arm_keep_alive() {
  keep_alive_.expires_after(core_.options.keep_alive);
  keep_alive_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->dropped_ || self->finished_) return;
    {
      std::lock_guard lock(self->mu_);
      if (!self->closing_) self->enqueue(kKeepAlive, self->pending_.size());
    }
    self->flush();
    self->arm_keep_alive();
  });
}

// Ends the connection so that the client takes it as an error, not as the
// end of the stream. A chunked body lacks its last chunk; an HTTP/1.0 body
// ends with the connection, where a plain close (FIN) would read as a
// complete stream (a proxy would finish the browser's response, and the
// page would never reconnect): it is reset instead (RST).
void SseStream::cut(beast::tcp_stream& stream) const {
  beast::error_code ignored;
  if (chunked_)
    stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  else
    stream.socket().set_option(net::socket_base::linger(true, 0), ignored);
  stream.close();
}

void SseStream::drop() {
  if (dropped_) return;
  dropped_ = true;
  keep_alive_.cancel();
  if (stream_) cut(*stream_);
  {
    // Before it leaves open_streams: once a stream is no longer counted,
    // it holds nothing either.
    std::lock_guard lock(mu_);
    closing_ = true;
    pending_.clear();
    release(held_.load());  // queued and unwritten; on_write releases no more
  }
  uncount();                 // first: open_streams() never exceeds open_connections()
  slot_ = ConnectionSlot();  // the descriptor is free again
  // detach() never waits for the conversation's lock (a worker may hold it
  // through a slow save), so a closed tab never holds this thread.
  if (!core_.aborting.load() && core_.runtime) core_.runtime->detach(cid_, this);
}

}  // namespace stube::server
