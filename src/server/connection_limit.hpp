// The server's cap on open connections (ServerOptions::max_connections): the
// default derived from the descriptor limit, the count of open connections,
// the answer to a connection over the cap, and the rate of its warning.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stube::server {

// The process's soft RLIMIT_NOFILE (`ulimit -n`); UINT64_MAX when unlimited.
std::uint64_t descriptor_limit() noexcept;

// Descriptors kept back from connections under a soft limit of `limit`:
// max(64, limit / 8). Not only connections take descriptors: the store
// (the file store opens a file and its directory for every save, on every
// worker at once; SQLite keeps its database, journal and WAL open;
// PostgreSQL a socket per connection), the log, the I/O objects (epoll,
// eventfd, timers, the listener), a connection refused over the cap (for
// the moment it takes to answer it) and whatever the application opens.
// 64 covers a small process; an eighth grows with a raised limit, since a
// process given many descriptors tends to have more workers, database
// connections and files of its own.
std::uint64_t descriptor_reserve(std::uint64_t limit) noexcept;

// The cap for `requested` (empty: the default, `limit` less its reserve)
// under a soft descriptor limit of `limit`. Throws std::invalid_argument
// naming max_connections for 0, and for a cap that would leave fewer than
// 64 descriptors to the rest of the process (an explicit value may use
// part of the default reserve, not all of it).
std::size_t connection_cap(std::optional<std::size_t> requested, std::uint64_t limit);

// One open connection, counted until destroyed. It moves with the socket:
// from the HttpSession to the SseStream that takes the connection over.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  // A place in `open` if fewer than `cap` are taken; an empty slot if not.
  static ConnectionSlot take(std::atomic<std::size_t>& open, std::size_t cap) noexcept;
  ConnectionSlot(ConnectionSlot&& other) noexcept;
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ~ConnectionSlot();

  explicit operator bool() const noexcept { return open_ != nullptr; }

 private:
  explicit ConnectionSlot(std::atomic<std::size_t>& open) noexcept : open_(&open) {}
  std::atomic<std::size_t>* open_ = nullptr;
};

// Answers a connection over the cap with `response` (a complete 503 with
// Connection: close) and closes it, without blocking: the socket is made
// non-blocking, the response goes into its (empty) send buffer, and what
// the client has already sent is discarded unread, so that the close ends
// the connection with a FIN after the response rather than a reset that
// could destroy it on the way. (A request that arrives only after the close
// still draws a reset: waiting for it would hold descriptors in a flood.)
void refuse_connection(boost::asio::ip::tcp::socket& socket, std::string_view response) noexcept;

// How a connection over the cap is answered, by what its request line
// asks for: `stream` (an unfinished 503, so that Datastar's stream client
// retries) for a GET of <base_path>/sse/<cid>, closed `linger` after it
// was written (the time the page's script needs to read it: see
// kCutShortLinger); `plain` (a complete 503) for anything else. The
// strings are kept by the caller (the Core).
struct RefusalAnswers {
  std::string_view plain;
  std::string_view head;  // `plain` for a HEAD request: no body
  std::string_view stream;
  std::string_view base_path;
  std::chrono::milliseconds linger{};
};

// At most this many refused connections wait for their request line (or
// linger after a stream's answer) at once (a flood must not hold
// descriptors), each at most kRequestLineWait (or `linger`).
inline constexpr std::size_t kMaxWaitingRefusals = 16;
inline constexpr std::chrono::milliseconds kRequestLineWait{1000};

// Refuses a connection over the cap with refuse_connection(), answered by
// its request line (see RefusalAnswers). What the client sent already is
// read at once; if the request line is not complete yet, the connection
// waits for it up to kRequestLineWait, with at most kMaxWaitingRefusals
// (counted in `waiting`) waiting at once. A connection that sends no
// request line in time, or that would be one too many waiting, is judged
// by what it sent so far (most often: nothing, and the plain 503); one too
// many is closed at once, a stream's answer without its linger.
void refuse_over_cap(boost::asio::ip::tcp::socket socket, const RefusalAnswers& answers,
                     std::atomic<std::size_t>& waiting);

// Keeps the warning about refused connections (and the one about failed
// accepts) to at most one line a second, each with the number since the one
// before: a flood must not flood the log.
class RefusalLog {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kInterval{1};

  // Counts a refusal at `now`. Returns the number to report now (this one
  // and those not yet reported), or 0 when a line went out less than a
  // second ago: then report_due() says when the rest may be reported.
  std::size_t refused(Clock::time_point now) noexcept;
  Clock::time_point report_due() const noexcept { return last_ + kInterval; }
  // The refusals not yet reported, to be reported at `now` (at or after
  // report_due()); 0 if there are none.
  std::size_t take_unreported(Clock::time_point now) noexcept;

 private:
  std::size_t unreported_ = 0;
  bool reported_once_ = false;
  Clock::time_point last_{};
};

// The warning line for `count` refused connections under `cap`.
std::string refusal_message(std::size_t count, std::size_t cap);

}  // namespace stube::server
