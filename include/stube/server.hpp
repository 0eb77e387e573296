// stube/server.hpp — the HTTP/SSE server (SPEC §9).
//
//   auto registry = std::make_shared<stube::Registry>();
//   ... registry->define<Counter>("demo/counter") ...
//   stube::Server server(registry);
//   server.mount("/counter", "demo/counter");
//   server.start({.port = 8080, .store = stube::open_store("file:var/convs")});
//   server.wait();  // until SIGINT/SIGTERM (or stop() from another thread)
//
// Routes (under the optional base path):
//   GET  <mount path>                  mint a conversation, set the owner cookie, serve the shell
//   GET  /sse/<cid>                    the conversation's Datastar SSE stream
//   POST /event/<cid>/<iid>/<event>    dispatch one event (signals: JSON body; payload: ?p=<EDN>)
//   POST /back/<cid>                   the `back` effect
//   GET  /_stube/<asset>               the embedded Datastar client and stock stylesheet
// See docs/server.md for the status codes, the wire and running behind a proxy.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stube/component.hpp"
#include "stube/edn.hpp"
#include "stube/runtime.hpp"
#include "stube/store.hpp"

namespace stube {

struct ServerOptions {
  std::uint16_t port = 8080;  // 0 picks a free port; Server::port() reports it
  std::string bind_address{"127.0.0.1"};
  std::shared_ptr<ConversationStore> store{};                   // default: in_memory_store()
  std::optional<std::chrono::milliseconds> conversation_ttl{};  // reaper off when empty
  std::chrono::milliseconds reaper_interval{std::chrono::seconds(60)};
  // Shared stores: conversations per reap() transaction; every store: the
  // most failed saves retried per round (RuntimeOptions::reaper_batch).
  std::size_t reaper_batch = 500;
  // Conversations held at most; a mint past it gets 503 (0: no limit).
  std::size_t max_conversations = 0;
  std::size_t history_limit = 20;  // snapshots kept for `back`
  // A comment line on every SSE stream at this interval, so that proxies do
  // not cut idle streams.
  std::chrono::milliseconds keep_alive{std::chrono::seconds(15)};
  std::string base_path{};  // "" or e.g. "/app": prefixes every route
  // Marks the owner cookie `Secure` (sent over HTTPS only): set it when the
  // browser reaches the server through an HTTPS proxy.
  bool secure_cookie = false;
  // Host names the server answers to (the Host header without its port,
  // compared case-insensitively); a request naming another gets 421. Empty:
  // any. Set it for a tool bound to loopback that web pages must not reach
  // through DNS rebinding, e.g. {"localhost", "127.0.0.1", "[::1]"}.
  std::vector<std::string> allowed_hosts{};
  // Which sites may show the server's pages in a frame: the sources of the
  // `frame-ancestors` directive of a Content-Security-Policy sent with every
  // response, e.g. "'self' https://portal.example.com" for a server on
  // app.example.com. "'self'" and "'none'" also send X-Frame-Options
  // (SAMEORIGIN, DENY) for older browsers. Empty: neither header, and any
  // site may frame the pages (and trick a user into clicking in them:
  // clickjacking). Printable ASCII without ';' or ','. A page framed by
  // another site cannot work: browsers do not send its SameSite=Lax owner
  // cookie from inside such a frame (its requests get 403).
  std::string frame_ancestors{"'self'"};
  std::size_t max_header_bytes = 8 * 1024;  // request line + headers
  std::size_t max_body_bytes = 64 * 1024;   // the signals JSON
  // A request must arrive completely within this time (slow clients), an
  // idle keep-alive connection is closed after it, and so is one that takes
  // none of a response's or a stream's bytes for that long.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  // Bytes queued on one SSE stream for a client that does not read; past it
  // the stream is dropped, with a warning (the browser reconnects and gets
  // the whole view). A frame with nothing queued before it is always taken.
  std::size_t max_stream_backlog = 4 * 1024 * 1024;
  // Bytes held for all SSE streams together: what waits to be written and
  // what is being written. Past it, a stream that still holds bytes and
  // gets another frame is dropped the same way (it reconnects), whichever
  // stream that is, so that many clients that do not read cannot take
  // max_stream_backlog each. A frame for a stream that holds nothing is
  // always taken: the streams can exceed it by that frame each. At least
  // max_stream_backlog.
  std::size_t max_streams_backlog = 256 * 1024 * 1024;
  // Open connections (SSE streams included) at most. One more is answered
  // 503 with Retry-After and closed, so that a flood of connections cannot
  // take the file descriptors the store needs; only its request line is
  // read (waited for up to a second, by at most 16 such connections at
  // once): a stream request gets the 503 cut short, so that the page's
  // stream retries by itself (docs/server.md). Empty:
  // the soft RLIMIT_NOFILE (ulimit -n) at start() less a reserve of
  // max(64, an eighth of it) for the store, the logs and the rest of the
  // process. start() refuses 0, and a value that leaves fewer than 64.
  std::optional<std::size_t> max_connections{};
  // I/O threads: they read requests and write responses. One keeps up with
  // tens of thousands of events a second, since the workers do the rest,
  // and costs less CPU per event than two (docs/PERFORMANCE.md, Server).
  // At least 1.
  unsigned threads = 1;
  // Threads that handle requests: the runtime's per-conversation lock, the
  // handlers and the store's save run here, so that an I/O thread never
  // waits for the disk or the database. A conversation's requests take
  // one worker at a time (the others wait in its queue, holding none). 0
  // handles requests on the I/O threads (cheapest when the store is in
  // memory).
  unsigned workers = 2;
};

// The request's query parameters (decoded), for a mount's init arguments.
using QueryParams = std::map<std::string, std::string, std::less<>>;
using InitArgsFn = std::function<edn::Value(const QueryParams& query)>;

class Server {
 public:
  explicit Server(std::shared_ptr<const Registry> registry);
  // stop(). Not from one of the server's own threads (a handler, a hook):
  // stop() refuses that, and a destructor cannot report it (std::terminate).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds a root component to a path ("/counter"; relative to the base
  // path). Works before and after start(); the component must already be
  // defined when mount() is called (and every component before start():
  // see Registry). `init` turns the request's query
  // into the root's init arguments (default: none). Throws
  // std::invalid_argument for a bad path, a path under the server's own
  // routes (/_stube/, /sse/, /event/, /back/: never reached), or an unknown
  // component.
  Server& mount(std::string_view path, std::string_view component_id, InitArgsFn init = {});
  // A fixed HTML page (e.g. an index) at a path (the same path rules).
  Server& page(std::string_view path, std::string html);

  // Binds the address first, then creates the runtime (which runs the
  // store's load_all), then starts accepting. Throws std::invalid_argument
  // for options that cannot work (naming the field), std::system_error when
  // the address cannot be bound, std::logic_error when already started, and
  // whatever the store's load_all throws (StoreError). After a throw the
  // server is left unstarted, and start() may be called again.
  void start(ServerOptions options = {});
  std::uint16_t port() const;  // the bound port (after start; 0 before)
  std::string url() const;     // "http://127.0.0.1:PORT<base>/" (port 0 before start)
  // Open HTTP connections (SSE streams included; at most max_connections)
  // and open SSE streams, at this moment: for a health check or metrics.
  // Meaningful while the server runs (after stop(), connections it had
  // parked count until the Server is destroyed).
  std::size_t open_connections() const;
  std::size_t open_streams() const;
  // Bytes the SSE streams hold together (see max_streams_backlog).
  std::size_t streams_backlog() const;

  // Idempotent: stops accepting, runs the runtime's shutdown (stop hooks,
  // close streams, final save), joins the I/O threads and the workers (their
  // answers go out), and closes idle keep-alive connections and half-sent
  // requests. Throws std::logic_error when called from one of the server's
  // own threads (it would wait for itself).
  void stop();
  // Blocks until stop() has run, or until SIGINT/SIGTERM arrives (then runs
  // stop() itself). Call from one thread. Handles both signals meanwhile;
  // the application's own actions for them are back when it returns.
  // Throws std::logic_error before start().
  void wait();

  Runtime& runtime();  // after start; std::logic_error before

 private:
  void start_listening(ServerOptions options);
  void abandon_start() noexcept;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stube
