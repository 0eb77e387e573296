// stube-demo: the counter, the wizard (durable and as a flow) and a todo
// list, served by stube's HTTP/SSE server.
//
//   stube-demo --port 8080 --store file:var/convs?durability=durable --ttl 3600
//
// Prints "stube-demo listening on http://HOST:PORT/" once it accepts (with
// --port 0 the port is picked by the system), and shuts down cleanly on
// SIGINT/SIGTERM: stop hooks, streams closed, a final save.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli_usage.hpp"
#include "demo.hpp"
#include "stube/flow.hpp"
#include "stube/log.hpp"
#include "stube/server.hpp"
#include "stube/store.hpp"

namespace {

// Many open streams need many descriptors; take what the hard limit allows.
void raise_file_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

std::shared_ptr<stube::Registry> demo_registry() {
  auto reg = std::make_shared<stube::Registry>();
  demo::define_counter(*reg);
  demo::define_board(*reg);
  demo::define_wizard(*reg);
  demo::define_wizard_flow(*reg);
  demo::define_todo(*reg);
  return reg;
}

}  // namespace

namespace demo {

std::string index_page() {
  return R"(<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>stube demo</title><link rel="icon" href="data:,"><link rel="stylesheet" href="_stube/stube.css"></head>
<body>
<h1>stube demo</h1>
<p>Server-driven UIs in which a component calls another like a function and reads its answer.</p>
<ul class="demo-index">
<li><a href="counter">Counter</a>: the smallest component.</li>
<li><a href="wizard">Wizard</a>: an onboarding wizard written as a durable task component (survives a restart).</li>
<li><a href="wizard-flow">Wizard (flow)</a>: the same wizard as a C++20 coroutine flow (transient).</li>
<li><a href="todo">Todo</a>: add, edit in place, delete with a confirmation dialog.</li>
</ul>
</body>
</html>
)";
}

}  // namespace demo

int main(int argc, char** argv) {
  CLI::App app{"stube-demo: counter, wizard, wizard-flow and todo on stube's HTTP/SSE server"};
  stube::ServerOptions options;
  std::string store_url = "memory:";
  long ttl_seconds = 0;
  long keep_alive_seconds = 15;
  std::size_t max_connections = 0;
  app.add_option("--port", options.port, "TCP port (0 picks a free one)")
      ->capture_default_str()
      ->transform(stube::tool::whole_number(0, 65535));
  app.add_option("--bind", options.bind_address, "IP address to listen on (0.0.0.0: all)")
      ->capture_default_str();
  app.add_option("--store", store_url,
                 "conversation store: memory:, file:<dir>[?durability=durable], "
                 "sqlite:<path>, postgresql://…")
      ->capture_default_str();
  constexpr long kTenYears = 10L * 365 * 24 * 3600;
  app.add_option("--ttl", ttl_seconds, "end conversations idle for this many seconds (0: never)")
      ->capture_default_str()
      ->transform(stube::tool::whole_number(0, kTenYears));
  app.add_option("--reaper-batch", options.reaper_batch,
                 "shared stores (postgresql://): idle conversations ended per reap "
                 "transaction; every store: failed saves retried per round")
      ->capture_default_str()
      ->transform(stube::tool::whole_number(1, 1000000));
  // One host per flag, taken as written: CLI11 would read "[::1]" as a list.
  app.add_option("--allowed-host", options.allowed_hosts,
                 "a host name the server answers to, without a port (repeat it; default: any)")
      ->allow_extra_args(false)
      ->delimiter('\0');
  app.add_option("--frame-ancestors", options.frame_ancestors,
                 "sites that may show the pages in a frame (CSP frame-ancestors; '' allows any)")
      ->capture_default_str();
  app.add_option("--max-conversations", options.max_conversations,
                 "conversations held at most; a new page past it gets 503 (0: no limit)")
      ->capture_default_str()
      ->transform(stube::tool::whole_number(0, 1'000'000'000));
  app.add_option("--threads", options.threads, "I/O threads")
      ->capture_default_str()
      ->transform(stube::tool::whole_number(1, 64));
  app.add_option("--workers", options.workers,
                 "threads that handle requests (handlers, store saves); 0: the I/O threads")
      ->capture_default_str()
      ->transform(stube::tool::whole_number(0, 256));
  app.add_option("--base-path", options.base_path, "serve everything under this path, e.g. /app");
  app.add_flag("--secure-cookie", options.secure_cookie,
               "mark the owner cookie Secure (browsers reach the server through HTTPS)");
  app.add_option("--keep-alive", keep_alive_seconds, "SSE keep-alive interval in seconds")
      ->capture_default_str()
      ->transform(stube::tool::whole_number(1, 3600));
  auto* max_connections_option =
      app.add_option(
             "--max-connections", max_connections,
             "open connections (SSE streams included) at most; more get 503 (default: the "
             "descriptor limit less max(64, an eighth of it), kept for the store and the rest)")
          ->transform(stube::tool::whole_number(1, 1 << 24));
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // As the tools do: CLI11 quotes the words as typed, a --store URL's
    // password among them; and a usage error is exit status 2.
    std::cerr << "stube-demo: " << stube::tool::redacted(e.what(), argc, argv)
              << " (see stube-demo --help)\n";
    return 2;
  }

  try {
    options.store = stube::open_store(store_url);
  } catch (const std::invalid_argument& e) {  // a URL that names no store: usage
    std::cerr << "stube-demo: " << stube::tool::redacted(e.what(), argc, argv)
              << " (see stube-demo --help)\n";
    return 2;
  } catch (const std::exception& e) {  // the store could not be opened
    std::cerr << "stube-demo: " << e.what() << '\n';
    return 1;
  }
  try {
    raise_file_limit();
    if (ttl_seconds > 0) {
      options.conversation_ttl = std::chrono::seconds(ttl_seconds);
      options.reaper_interval = std::min<std::chrono::milliseconds>(
          std::chrono::seconds(60), std::chrono::seconds(ttl_seconds));
    }
    options.keep_alive = std::chrono::seconds(keep_alive_seconds);
    // Checked by start(), which knows the descriptor limit.
    if (max_connections_option->count() > 0) options.max_connections = max_connections;

    stube::Server server(demo_registry());
    server.page("/", demo::index_page())
        .mount("/counter", "demo/counter")
        .mount("/wizard", "demo/wizard")
        .mount("/wizard-flow", "demo/wizard-flow")
        .mount("/todo", "demo/todo", demo::todo_args);
    server.start(options);
    std::cout << "stube-demo listening on " << server.url() << std::endl;
    server.wait();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "stube-demo: " << e.what() << '\n';
    return 1;
  }
}
