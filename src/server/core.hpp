// What every connection of one server shares: the registry, the options, the
// runtime and the route table.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_set>

#include "server/conversation_queues.hpp"
#include "stube/runtime.hpp"
#include "stube/server.hpp"

namespace stube::server {

struct Mount {
  std::string component;
  InitArgsFn init;
};

class HttpSession;

struct Core {
  std::shared_ptr<const Registry> registry;
  ServerOptions options;
  std::unique_ptr<Runtime> runtime;
  // Set when the server stops: open streams are cut rather than finished,
  // so that browsers reconnect (to the restarted server) by themselves.
  std::atomic<bool> aborting{false};
  std::atomic<std::size_t> open_streams{0};
  // Bytes all streams hold (ServerOptions::max_streams_backlog): the sum of
  // every SseStream's held_.
  std::atomic<std::size_t> streams_backlog{0};
  // Open connections, SSE streams included (each holds a ConnectionSlot),
  // and their cap: ServerOptions::max_connections, or its default, as
  // start() worked it out. A connection over the cap gets
  // `over_capacity_response` (a 503, serialized) and is closed; one whose
  // request line asks for a stream gets `over_capacity_stream_response`
  // instead (the same, cut short: see refuse_over_cap()).
  std::atomic<std::size_t> open_connections{0};
  std::size_t max_connections = 0;
  std::string over_capacity_response;
  std::string over_capacity_head_response;  // the same without its body
  std::string over_capacity_stream_response;
  // Refused connections waiting for their request line.
  std::atomic<std::size_t> waiting_refusals{0};
  // From ServerOptions::frame_ancestors, made once at start(): the headers'
  // values, each empty when it is not sent.
  std::string frame_policy;   // Content-Security-Policy
  std::string frame_options;  // X-Frame-Options
  // Where requests are handled (ServerOptions::workers), one conversation's
  // after another; null: on the I/O threads. Owned by the Server, which
  // joins its workers before the I/O objects go.
  ConversationQueues* workers = nullptr;

  // Every HttpSession, for its lifetime: stop() closes those still open
  // (idle keep-alives, half-read requests) once no thread runs them.
  std::mutex sessions_mu;
  std::unordered_set<HttpSession*> sessions;

  mutable std::shared_mutex routes_mu;
  std::map<std::string, Mount, std::less<>> mounts;       // by path
  std::map<std::string, std::string, std::less<>> pages;  // path -> HTML
};

}  // namespace stube::server
