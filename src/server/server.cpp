// stube::Server: the listener, the I/O threads, start/stop and signals.
#include "stube/server.hpp"

#include <signal.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http/write.hpp>
#include <condition_variable>
#include <csignal>
#include <future>
#include <latch>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "common/thread_name.hpp"
#include "server/connection_limit.hpp"
#include "server/core.hpp"
#include "server/handlers.hpp"
#include "server/http_session.hpp"
#include "server/http_util.hpp"
#include "stube/log.hpp"

namespace stube {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Server::Impl {
  server::Core core;  // declared first: outlives the I/O objects below
  std::unique_ptr<net::io_context> ioc;
  // After ioc: joined and destroyed first, since its queued requests hold
  // sessions whose sockets belong to ioc.
  std::unique_ptr<net::thread_pool> workers;
  // Before workers go: its waiting requests hold sessions too.
  std::unique_ptr<server::ConversationQueues> queues;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> accept_retry;
  // Connections refused over the cap, reported at most once a second (the
  // acceptor's strand only).
  server::RefusalLog refusals;
  // Failed accepts (EMFILE), reported the same way: the acceptor's strand.
  server::RefusalLog accept_failures;
  boost::system::error_code last_accept_error;
  std::optional<net::steady_timer> refusal_report;
  bool refusal_report_armed = false;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;

  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  bool stop_requested = false;  // by a signal or stop()
  bool stopped = false;         // stop() has begun
  bool done = false;            // stop() has finished

  void accept() {
    acceptor->async_accept(net::make_strand(*ioc), [this](boost::system::error_code ec,
                                                          tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
      if (ec) {
        // Typically EMFILE: back off instead of spinning, and say so at
        // most once a second rather than at every retry.
        if (const std::size_t n = accept_failures.refused(server::RefusalLog::Clock::now()))
          log::warn(accept_failure_message(n, ec));
        last_accept_error = ec;
        accept_retry->expires_after(std::chrono::milliseconds(100));
        accept_retry->async_wait([this](boost::system::error_code wec) {
          if (!wec) accept();
        });
        return;
      }
      if (const std::size_t n = accept_failures.take_unreported(server::RefusalLog::Clock::now()))
        log::warn(accept_failure_message(n, last_accept_error));
      if (auto slot = server::ConnectionSlot::take(core.open_connections, core.max_connections)) {
        std::make_shared<server::HttpSession>(std::move(socket), core, std::move(slot))->run();
      } else {
        server::refuse_over_cap(
            std::move(socket),
            {core.over_capacity_response, core.over_capacity_head_response,
             core.over_capacity_stream_response, core.options.base_path, server::kCutShortLinger},
            core.waiting_refusals);
        note_refusal();
      }
      accept();
    });
  }

  static std::string accept_failure_message(std::size_t n, const boost::system::error_code& ec) {
    return "server: accept failed " + std::to_string(n) +
           " time(s) since the last report: " + ec.message() + " (retrying every 100 ms)";
  }

  // On the acceptor's strand: a warning now, or the count in a second.
  void note_refusal() {
    if (const std::size_t n = refusals.refused(server::RefusalLog::Clock::now())) {
      log::warn(server::refusal_message(n, core.max_connections));
      return;
    }
    if (refusal_report_armed) return;
    refusal_report_armed = true;
    refusal_report->expires_at(refusals.report_due());
    refusal_report->async_wait([this](boost::system::error_code ec) {
      refusal_report_armed = false;
      if (!ec) report_refusals();
    });
  }
  void report_refusals() {
    if (const std::size_t n = refusals.take_unreported(server::RefusalLog::Clock::now()))
      log::warn(server::refusal_message(n, core.max_connections));
  }

  // True on an I/O thread, a worker, or in a handler on the runtime's timer
  // thread (an `after` event): stop() there would wait for itself.
  bool on_own_thread() const {
    return (ioc && ioc->get_executor().running_in_this_thread()) ||
           (workers && workers->get_executor().running_in_this_thread()) ||
           (core.runtime && core.runtime->in_handler());
  }

  void request_stop() {
    {
      std::lock_guard lock(mu);
      stop_requested = true;
    }
    cv.notify_all();
  }
};

Server::Server(std::shared_ptr<const Registry> registry) : impl_(std::make_unique<Impl>()) {
  if (!registry) throw std::invalid_argument("Server: registry is null");
  impl_->core.registry = std::move(registry);
}

Server::~Server() {
  stop();
}

namespace {

// What a mount or page path may be (server::valid_mount_path), for the
// message that refuses one.
void require_mount_path(std::string_view what, std::string_view path) {
  if (server::valid_mount_path(path)) return;
  throw std::invalid_argument(
      std::string(what) + ": bad path '" + std::string(path) +
      "': a path is \"/\" or segments each led by '/' (no trailing '/', none empty or starting "
      "with '.'), of letters, digits, '-', '_', '.' and '~', at most 512 bytes");
}

// A path under one of the server's own routes (SPEC §9) would never be
// reached: the route takes its requests first.
void refuse_reserved(std::string_view what, std::string_view path) {
  for (const std::string_view prefix : {"/_stube/", "/sse/", "/event/", "/back/"}) {
    if (path.starts_with(prefix)) {
      throw std::invalid_argument(std::string(what) + ": path '" + std::string(path) +
                                  "' is under the server's own route " + std::string(prefix) +
                                  " and could never be reached");
    }
  }
}

}  // namespace

Server& Server::mount(std::string_view path, std::string_view component_id, InitArgsFn init) {
  require_mount_path("mount", path);
  refuse_reserved("mount", path);
  if (!impl_->core.registry->find(component_id))
    throw std::invalid_argument("mount " + std::string(path) +
                                ": unknown component :" + std::string(component_id));
  std::unique_lock lock(impl_->core.routes_mu);
  impl_->core.mounts.insert_or_assign(std::string(path),
                                      server::Mount{std::string(component_id), std::move(init)});
  return *this;
}

Server& Server::page(std::string_view path, std::string html) {
  require_mount_path("page", path);
  refuse_reserved("page", path);
  std::unique_lock lock(impl_->core.routes_mu);
  impl_->core.pages.insert_or_assign(std::string(path), std::move(html));
  return *this;
}

void Server::start(ServerOptions options) {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    if (m.stopped)
      throw std::logic_error(
          "Server::start: this Server was stopped; create a new Server to serve again");
    if (m.started) throw std::logic_error("Server::start: already started");
    m.started = true;
  }
  const std::string where = options.bind_address + ":" + std::to_string(options.port);
  try {
    start_listening(std::move(options));
  } catch (const boost::system::system_error& e) {
    abandon_start();  // e.g. the port is taken: leave the server unstarted
    throw std::system_error(e.code(), "server: cannot listen on " + where);
  } catch (...) {
    abandon_start();
    throw;
  }
  log::info("server: listening on " + url());
}

// Undoes a start() that failed, so that stop() and the destructor have
// nothing to wait for. It may fail while it starts its I/O threads (EAGAIN
// for the second of four): those that run stop before what they run goes.
void Server::abandon_start() noexcept {
  Impl& m = *impl_;
  if (m.ioc) m.ioc->stop();
  for (std::thread& t : m.threads) t.join();
  m.threads.clear();
  if (m.core.runtime) m.core.runtime->shutdown();
  // A request those threads handed to a worker finishes (against the shut-down
  // runtime) before the queues it runs from go.
  if (m.workers) m.workers->join();
  m.core.workers = nullptr;
  m.queues.reset();
  m.workers.reset();
  m.accept_retry.reset();
  m.refusal_report.reset();
  m.acceptor.reset();
  m.ioc.reset();
  std::lock_guard lock(m.mu);
  m.started = false;
}

namespace {

// The server's own settings that cannot work (the runtime checks the ones
// it is handed): no I/O thread would serve nothing, a zero keep-alive
// interval would spin the I/O thread, a zero limit would refuse every request.
// Names the pool's threads stube-worker (asio's pool takes no thread
// start hook): n tasks that wait for each other can only all arrive on n
// different threads. The latch is shared: a task may still be returning
// from its wait when the last arrival lets start() go on.
void name_workers(net::thread_pool& pool, unsigned n) {
  auto arrived = std::make_shared<std::latch>(n);
  for (unsigned i = 0; i < n; ++i) {
    net::post(pool, [arrived] {
      detail::name_this_thread("stube-worker");
      arrived->arrive_and_wait();
    });
  }
  arrived->wait();
}

void check_options(const ServerOptions& o) {
  auto refuse = [](const std::string& what) {
    throw std::invalid_argument("server options: " + what);
  };
  if (!o.base_path.empty() && (!server::valid_mount_path(o.base_path) || o.base_path == "/"))
    refuse("bad base_path '" + o.base_path + "' (use e.g. \"/app\")");
  boost::system::error_code bad_address;
  net::ip::make_address(o.bind_address, bad_address);
  if (bad_address)
    refuse("bind_address must be a numeric IP address (e.g. 127.0.0.1, 0.0.0.0, ::1), got '" +
           o.bind_address + "'");
  if (o.threads == 0) refuse("threads must be at least 1 (the I/O threads accept and read)");
  if (o.keep_alive.count() <= 0)
    refuse("keep_alive must be positive, got " + std::to_string(o.keep_alive.count()) + " ms");
  if (o.request_timeout.count() <= 0)
    refuse("request_timeout must be positive, got " + std::to_string(o.request_timeout.count()) +
           " ms");
  if (o.max_header_bytes == 0) refuse("max_header_bytes must be at least 1");
  if (o.max_body_bytes == 0) refuse("max_body_bytes must be at least 1");
  if (o.max_stream_backlog == 0) refuse("max_stream_backlog must be at least 1");
  if (o.max_streams_backlog < o.max_stream_backlog)
    refuse("max_streams_backlog (" + std::to_string(o.max_streams_backlog) +
           ") must be at least max_stream_backlog (" + std::to_string(o.max_stream_backlog) + ")");
  for (const std::string& host : o.allowed_hosts) {
    if (!server::host_name_alone(host))
      refuse("allowed_hosts: '" + host +
             "' is not a host name alone (the Host header's port is not compared; give e.g. "
             "localhost, 127.0.0.1 or [::1])");
  }
  // A header value: a line break would start a header of the caller's text,
  // and ';' or ',' another directive or policy.
  auto bad = [](unsigned char c) { return c < 0x20 || c > 0x7e || c == ';' || c == ','; };
  if (std::ranges::any_of(o.frame_ancestors, bad))
    refuse(
        "frame_ancestors must be CSP sources separated by spaces (printable ASCII without ';' "
        "or ','), got '" +
        o.frame_ancestors + "'");
}

// Limits beyond what the timers and the parser hold count as the most they
// hold: a duration beyond a century as a century, so that
// milliseconds::max() works as "never" (converted to the timers' clock's
// nanoseconds it would wrap to a deadline in the past: keep-alives without
// pause, requests cut at once), and a header limit as kMaxHeaderBytes
// (SIZE_MAX, "no limit", wrapped to 0 or 16 KiB).
void hold_to_range(ServerOptions& o) {
  constexpr std::chrono::milliseconds kCentury = std::chrono::hours(24 * 365 * 100);
  o.keep_alive = std::min(o.keep_alive, kCentury);
  o.request_timeout = std::min(o.request_timeout, kCentury);
  o.max_header_bytes = std::min(o.max_header_bytes, server::kMaxHeaderBytes);
}

// ServerOptions::frame_ancestors as the two headers' values.
void set_frame_headers(server::Core& core, std::string_view ancestors) {
  core.frame_policy.clear();  // a start() that failed may have set them
  core.frame_options.clear();
  const auto first = ancestors.find_first_not_of(' ');
  if (first == std::string_view::npos) return;  // empty: neither header
  ancestors.remove_prefix(first);
  ancestors.remove_suffix(ancestors.size() - 1 - ancestors.find_last_not_of(' '));
  core.frame_policy = "frame-ancestors " + std::string(ancestors);
  if (ancestors == "'self'") core.frame_options = "SAMEORIGIN";
  if (ancestors == "'none'") core.frame_options = "DENY";
}

}  // namespace

void Server::start_listening(ServerOptions options) {
  Impl& m = *impl_;
  check_options(options);
  hold_to_range(options);
  set_frame_headers(m.core, options.frame_ancestors);
  m.core.max_connections =
      server::connection_cap(options.max_connections, server::descriptor_limit());
  server::Response over_cap = server::retry_later(server::text_response(
      503, "the server has too many open connections; try again shortly", 11, false));
  over_cap.set("X-Content-Type-Options", "nosniff");
  std::ostringstream refusal;
  refusal << over_cap;
  m.core.over_capacity_response = std::move(refusal).str();
  // The same for a HEAD, whose answer has no body (RFC 9110 §9.3.2); its
  // Content-Length still says what a GET would get.
  const std::size_t head_end = m.core.over_capacity_response.find("\r\n\r\n");
  m.core.over_capacity_head_response = m.core.over_capacity_response.substr(0, head_end + 4);
  m.core.over_capacity_stream_response = server::refused_stream_response(
      "the server has too many open connections; reconnecting shortly");
  if (!options.store) options.store = in_memory_store();
  m.core.options = options;

  // Bound before the store is read: a server that cannot have the port (a
  // second copy started by mistake) fails here, before it has loaded and
  // could save back any conversation. Connections wait in the backlog
  // until accept() below, after load_all (SPEC §8).
  m.ioc = std::make_unique<net::io_context>(static_cast<int>(options.threads));
  const tcp::endpoint endpoint(net::ip::make_address(options.bind_address), options.port);
  m.acceptor.emplace(net::make_strand(*m.ioc));
  m.acceptor->open(endpoint.protocol());
  m.acceptor->set_option(net::socket_base::reuse_address(true));
  m.acceptor->bind(endpoint);
  m.acceptor->listen(net::socket_base::max_listen_connections);
  m.port = m.acceptor->local_endpoint().port();

  RuntimeOptions ro;
  ro.store = options.store;
  ro.conversation_ttl = options.conversation_ttl;
  ro.reaper_interval = options.reaper_interval;
  ro.reaper_batch = options.reaper_batch;
  ro.max_conversations = options.max_conversations;
  ro.kernel.history_limit = options.history_limit;
  ro.kernel.base_path = options.base_path;
  m.core.runtime = std::make_unique<Runtime>(m.core.registry, ro);
  log::info("server: restored " + std::to_string(m.core.runtime->restored_count()) +
            " conversation(s) from the store");
  log::info("server: at most " + std::to_string(m.core.max_connections) +
            " open connections (max_connections)");

  m.accept_retry.emplace(m.acceptor->get_executor());
  m.refusal_report.emplace(m.acceptor->get_executor());
  if (options.workers > 0) {
    m.workers = std::make_unique<net::thread_pool>(options.workers);
    name_workers(*m.workers, options.workers);
    m.queues = std::make_unique<server::ConversationQueues>(*m.workers);
  }
  m.core.workers = m.queues.get();
  m.accept();
  for (unsigned i = 0; i < options.threads; ++i) {
    m.threads.emplace_back([&m] { m.ioc->run(); });
    detail::name_thread(m.threads.back(), "stube-io");
  }
}

std::uint16_t Server::port() const {
  return impl_->port;
}

std::size_t Server::open_connections() const {
  return impl_->core.open_connections.load(std::memory_order_relaxed);
}

std::size_t Server::open_streams() const {
  return impl_->core.open_streams.load(std::memory_order_relaxed);
}

std::size_t Server::streams_backlog() const {
  return impl_->core.streams_backlog.load(std::memory_order_relaxed);
}

std::string Server::url() const {
  const auto& o = impl_->core.options;
  std::string host = o.bind_address;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(impl_->port) + o.base_path + "/";
}

void Server::stop() {
  Impl& m = *impl_;
  {
    std::unique_lock lock(m.mu);
    if (!m.started) return;
    if (m.on_own_thread()) {
      throw std::logic_error(
          "Server::stop: called on one of the server's own threads (from a handler?), where it "
          "would wait for itself; call it from another thread");
    }
    if (m.stopped) {  // another thread is stopping: wait for it to finish
      m.cv.wait(lock, [&m] { return m.done; });
      return;
    }
    m.stopped = true;
    m.stop_requested = true;
  }
  m.cv.notify_all();
  // Stop accepting (on the acceptor's strand), then shut the runtime down:
  // stop hooks, streams cut (browsers reconnect to the next server), final save.
  std::promise<void> closed;
  net::post(m.acceptor->get_executor(), [&m, &closed] {
    boost::system::error_code ignored;
    m.acceptor->close(ignored);
    m.accept_retry->cancel();
    m.refusal_report->cancel();
    m.report_refusals();  // those not yet reported, rather than none
    closed.set_value();
  });
  closed.get_future().wait();
  m.core.aborting = true;
  m.core.runtime->shutdown();
  m.ioc->stop();
  for (std::thread& t : m.threads) t.join();
  m.threads.clear();
  // Requests still in a worker's hands finish against the shut-down runtime
  // (410, 503); their answers are queued on the stopped io_context.
  if (m.workers) m.workers->join();
  // The shutdown posted a drop() to every open stream's strand, which the
  // stopped threads may not have run: run what is ready here, so that the
  // streams are cut now (browsers reconnect at once) rather than when the
  // io_context is destroyed; and the answers the workers queued go out.
  // Bounded, in case a client keeps a connection busy.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  m.ioc->restart();
  while (std::chrono::steady_clock::now() < deadline && m.ioc->poll_one() > 0) {
  }
  // The connections left (idle keep-alives, half-sent requests) would wait
  // for timers that nothing runs any more: closed now, so that their
  // clients see the close now, not when the Server is destroyed.
  {
    std::lock_guard lock(m.core.sessions_mu);
    for (server::HttpSession* session : m.core.sessions) session->abort();
  }
  while (std::chrono::steady_clock::now() < deadline + std::chrono::seconds(1) &&
         m.ioc->poll_one() > 0) {
  }
  log::info("server: stopped");
  {
    std::lock_guard lock(m.mu);
    m.done = true;
  }
  m.cv.notify_all();
}

namespace {

// Asio's signal_set leaves SIGINT and SIGTERM at their default actions when
// it goes: the application's own handlers are put back after wait().
class SavedSignalActions {
 public:
  SavedSignalActions() {
    ::sigaction(SIGINT, nullptr, &int_);
    ::sigaction(SIGTERM, nullptr, &term_);
  }
  ~SavedSignalActions() {
    ::sigaction(SIGINT, &int_, nullptr);
    ::sigaction(SIGTERM, &term_, nullptr);
  }
  SavedSignalActions(const SavedSignalActions&) = delete;
  SavedSignalActions& operator=(const SavedSignalActions&) = delete;

 private:
  struct sigaction int_ {};
  struct sigaction term_ {};
};

}  // namespace

void Server::wait() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    if (!m.started) throw std::logic_error("Server::wait: not started");
  }
  const SavedSignalActions saved;  // outlives `signals`: restored after it
  net::signal_set signals(*m.ioc, SIGINT, SIGTERM);
  signals.async_wait([&m, &signals](boost::system::error_code ec, int signo) {
    if (ec) return;
    log::info(std::string("server: ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") +
              ", shutting down (a second SIGINT or SIGTERM ends the process at once)");
    // A second signal takes the default action, ending the process, rather
    // than being swallowed while a stop hook or a save hangs: Ctrl-C twice.
    boost::system::error_code ignored;
    signals.clear(ignored);
    m.request_stop();
  });
  // The handlers are in place: from now on a signal stops the server
  // cleanly (a supervisor or a test may wait for this line).
  log::info("server: waiting for SIGINT or SIGTERM to stop");
  {
    std::unique_lock lock(m.mu);
    m.cv.wait(lock, [&m] { return m.stop_requested; });
  }
  stop();
  boost::system::error_code ignored;
  signals.cancel(ignored);
}

Runtime& Server::runtime() {
  if (!impl_->core.runtime) throw std::logic_error("Server::runtime: not started");
  return *impl_->core.runtime;
}

}  // namespace stube
