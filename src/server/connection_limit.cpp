#include "server/connection_limit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <boost/asio/steady_timer.hpp>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>

#include "server/routes.hpp"

namespace stube::server {

namespace net = boost::asio;

namespace {

constexpr std::uint64_t kMinReserve = 64;
// Refusing a connection discards at most this much of what it sent.
constexpr std::size_t kDiscardChunk = 4096;
constexpr int kDiscardChunks = 16;

std::string limit_text(std::uint64_t limit) {
  return limit == std::numeric_limits<std::uint64_t>::max() ? std::string("unlimited")
                                                            : std::to_string(limit);
}

}  // namespace

std::uint64_t descriptor_limit() noexcept {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(rl.rlim_cur);
}

std::uint64_t descriptor_reserve(std::uint64_t limit) noexcept {
  return std::max(kMinReserve, limit / 8);
}

std::size_t connection_cap(std::optional<std::size_t> requested, std::uint64_t limit) {
  const std::string rlimit = "the soft RLIMIT_NOFILE (ulimit -n) of " + limit_text(limit);
  if (!requested) {
    const std::uint64_t reserve = descriptor_reserve(limit);
    if (limit <= reserve) {
      throw std::invalid_argument("server options: max_connections: " + rlimit +
                                  " file descriptors leaves none for connections after the " +
                                  std::to_string(reserve) +
                                  " kept for the store and the rest of the process; raise it");
    }
    return static_cast<std::size_t>(
        std::min<std::uint64_t>(limit - reserve, std::numeric_limits<std::size_t>::max()));
  }
  if (*requested == 0)
    throw std::invalid_argument("server options: max_connections must be at least 1");
  if (limit < kMinReserve || *requested > limit - kMinReserve) {
    throw std::invalid_argument("server options: max_connections " + std::to_string(*requested) +
                                " needs " + std::to_string(*requested) + " + " +
                                std::to_string(kMinReserve) + " file descriptors, more than " +
                                rlimit + "; raise the limit or lower max_connections");
  }
  return *requested;
}

ConnectionSlot ConnectionSlot::take(std::atomic<std::size_t>& open, std::size_t cap) noexcept {
  std::size_t n = open.load(std::memory_order_relaxed);
  do {
    if (n >= cap) return {};
  } while (!open.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  return ConnectionSlot(open);
}

ConnectionSlot::ConnectionSlot(ConnectionSlot&& other) noexcept
    : open_(std::exchange(other.open_, nullptr)) {}

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    if (open_) open_->fetch_sub(1, std::memory_order_relaxed);
    open_ = std::exchange(other.open_, nullptr);
  }
  return *this;
}

ConnectionSlot::~ConnectionSlot() {
  if (open_) open_->fetch_sub(1, std::memory_order_relaxed);
}

void refuse_connection(net::ip::tcp::socket& socket, std::string_view response) noexcept {
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  std::size_t sent = 0;
  while (!ec && sent < response.size())
    sent += socket.write_some(net::buffer(response.substr(sent)), ec);
  boost::system::error_code ignored;
  socket.shutdown(net::ip::tcp::socket::shutdown_send, ignored);  // a FIN right after it
  std::array<char, kDiscardChunk> scratch{};
  for (int i = 0; i < kDiscardChunks && !ec; ++i) {
    if (socket.read_some(net::buffer(scratch), ec) == 0) break;
  }
  socket.close(ignored);
}

namespace {

// A refused connection waiting for its request line.
class Refusal : public std::enable_shared_from_this<Refusal> {
 public:
  Refusal(net::ip::tcp::socket socket, const RefusalAnswers& answers,
          std::atomic<std::size_t>& waiting)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        answers_(answers),
        waiting_(waiting) {}
  ~Refusal() { waiting_.fetch_sub(1, std::memory_order_relaxed); }

  // Reads what has arrived; true when that is enough to answer.
  bool read_now() {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    while (!ec && !complete()) {
      const std::size_t n =
          socket_.read_some(net::buffer(buf_.data() + got_, buf_.size() - got_), ec);
      got_ += n;
    }
    return complete() || (ec && ec != net::error::would_block);
  }

  void wait() {
    timer_.expires_after(kRequestLineWait);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      boost::system::error_code ignored;
      if (!ec) self->socket_.cancel(ignored);
    });
    read();
  }

  // `linger`: a stream's answer is closed that much later (see
  // RefusalAnswers), else at once.
  void answer(bool linger) {
    timer_.cancel();
    const bool stream = requests_stream(std::string_view(buf_.data(), got_), answers_.base_path);
    if (!stream || !linger) {
      const bool head = std::string_view(buf_.data(), got_).starts_with("HEAD ");
      return refuse_connection(socket_, stream ? answers_.stream
                                        : head ? answers_.head
                                               : answers_.plain);
    }
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    std::size_t sent = 0;
    while (!ec && sent < answers_.stream.size())
      sent += socket_.write_some(net::buffer(answers_.stream.substr(sent)), ec);
    timer_.expires_after(answers_.linger);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code) {
      refuse_connection(self->socket_, {});
    });
  }

 private:
  bool complete() const {
    return got_ == buf_.size() ||
           std::string_view(buf_.data(), got_).find('\n') != std::string_view::npos;
  }
  void read() {
    socket_.async_read_some(
        net::buffer(buf_.data() + got_, buf_.size() - got_),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          self->got_ += n;
          if (!ec && !self->complete()) return self->read();
          self->answer(true);
        });
  }

  net::ip::tcp::socket socket_;
  net::steady_timer timer_;
  RefusalAnswers answers_;  // views of the Core's strings
  std::atomic<std::size_t>& waiting_;
  // The request line up to the target's first bytes is all that is looked at.
  std::array<char, 1024> buf_{};
  std::size_t got_ = 0;
};

}  // namespace

void refuse_over_cap(net::ip::tcp::socket socket, const RefusalAnswers& answers,
                     std::atomic<std::size_t>& waiting) {
  waiting.fetch_add(1, std::memory_order_relaxed);  // until the Refusal goes
  const auto refusal = std::make_shared<Refusal>(std::move(socket), answers, waiting);
  const bool room = waiting.load(std::memory_order_relaxed) <= kMaxWaitingRefusals;
  if (refusal->read_now() || !room) return refusal->answer(room);
  refusal->wait();
}

std::size_t RefusalLog::refused(Clock::time_point now) noexcept {
  ++unreported_;
  if (reported_once_ && now < report_due()) return 0;
  reported_once_ = true;
  last_ = now;
  return std::exchange(unreported_, 0);
}

std::size_t RefusalLog::take_unreported(Clock::time_point now) noexcept {
  if (unreported_ == 0) return 0;
  last_ = now;
  return std::exchange(unreported_, 0);
}

std::string refusal_message(std::size_t count, std::size_t cap) {
  return "server: refused " + std::to_string(count) + " connection(s) with 503: the " +
         std::to_string(cap) + " of max_connections were open";
}

}  // namespace stube::server
