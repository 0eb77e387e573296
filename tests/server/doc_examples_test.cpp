// The "Starting a server" example of docs/server.md, compiled and run: in a
// forked child whose working directory is a scratch directory (the example's
// store is file:var/convs), as the whole program it is (on a free port
// where it asks for 8080: see namespace example).
// The test requests the example's three routes, then sends SIGTERM and checks
// the clean stop (exit 0) and that the conversations were saved. The marked
// region must stay byte-identical to the doc (tests/kernel/docs_test.cpp).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "common/scratch_dir.hpp"
#include "server/http_client.hpp"
#include "stube/component.hpp"
#include "stube/html.hpp"
#include "stube/server.hpp"
#include "stube/state.hpp"
#include "stube/store.hpp"

// The components the example mounts.
namespace demo {

struct Counter {
  std::int64_t count = 0;
};
STUBE_STATE(Counter, count)

struct Hello {
  std::string name;
};
STUBE_STATE(Hello, name)

void define_counter(stube::Registry& reg) {
  reg.define<Counter>("demo/counter")
      .render([](const stube::Ctx<Counter>& c) {
        using namespace stube::html;
        return div(h1("Count: ", c->count), button(c.on("click", "inc"), "+"));
      })
      .on("inc", [](stube::Ctx<Counter>& c) { ++c->count; });
}

void define_hello(stube::Registry& reg) {
  reg.define<Hello>("demo/hello")
      .init([](const stube::edn::Value& args) {
        return Hello{std::string(args[":name"].as_string())};
      })
      .render([](const stube::Ctx<Hello>& c) { return stube::html::p("Hello, ", c->name, "!"); });
}

}  // namespace demo

namespace {

const std::string index_html = "<!doctype html><title>demo</title><a href=\"/counter\">counter</a>";

// The example's own `stube`, for the example alone: everything of stube's,
// but a Server that listens on a free port where the example asks for 8080,
// so that the test never depends on (or is skipped for) a busy port 8080.
// The example prints the URL it got, which the test reads.
namespace example {
namespace stube {
using namespace ::stube;
class Server : public ::stube::Server {
 public:
  using ::stube::Server::Server;
  void start(ServerOptions options = {}) {
    if (options.port == 8080) options.port = 0;
    ::stube::Server::start(std::move(options));
  }
};
}  // namespace stube

// The example, as the body of a program.
int starting_a_server() {
  // clang-format off
// snippet: server-start
#include <iostream>

#include "stube/server.hpp"
#include "stube/store.hpp"

auto registry = std::make_shared<stube::Registry>();
demo::define_counter(*registry);          // registry->define<Counter>("demo/counter")...
demo::define_hello(*registry);            // registry->define<Hello>("demo/hello")...

stube::Server server(registry);
server.page("/", index_html)              // a fixed HTML page
    .mount("/counter", "demo/counter")    // a root component at a path
    .mount("/hello", "demo/hello", [](const stube::QueryParams& q) {
      // the request's query -> the root's init arguments
      const auto it = q.find("name");
      return stube::edn::map({{stube::edn::Value::keyword("name"),
                               stube::edn::Value(it == q.end() ? "you" : it->second)}});
    });
server.start({.port = 8080, .store = stube::open_store("file:var/convs")});
std::cout << "listening on " << server.url() << '\n';
server.wait();                            // until SIGINT/SIGTERM, then a clean stop
// end snippet
  // clang-format on
  return 0;
}
}  // namespace example

TEST(ServerDocs, StartingAServer) {
  stube::test::ScratchDir dir("server-docs");
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(out[0]);
    ::dup2(out[1], STDOUT_FILENO);  // what the example prints
    ::dup2(out[1], STDERR_FILENO);  // and the server's log
    std::cout << std::unitbuf;
    int status = 1;
    try {
      std::filesystem::current_path(dir.path());
      status = example::starting_a_server();
    } catch (const std::exception& e) {
      std::cerr << "starting_a_server: " << e.what() << std::endl;
    }
    std::_Exit(status);
  }
  ::close(out[1]);
  // The child's output, a line at a time ("" at its end).
  const auto next_line = [fd = out[0]] {
    std::string line;
    char c;
    while (::read(fd, &c, 1) == 1) {
      if (c == '\n') return line.empty() ? std::string(" ") : line;
      line += c;
    }
    return line;
  };
  const std::string prefix = "listening on http://127.0.0.1:";
  std::string line;  // the example's own line, once start() returned
  std::string seen;
  for (std::string l = next_line(); !l.empty(); l = next_line()) {
    seen += l + "\n";
    if (l.starts_with(prefix)) {
      line = l;
      break;
    }
  }
  // SIGTERM once wait() has its handlers in place (it logs so), then the
  // exit; a child that does not exit within a minute is killed and fails.
  const auto stop_child = [&] {
    for (std::string l = next_line(); !l.empty(); l = next_line())
      if (l.find("server: waiting for SIGINT or SIGTERM to stop") != std::string::npos) break;
    ::kill(pid, SIGTERM);
    auto exited = std::async(std::launch::async, [pid] {
      int status = 0;
      ::waitpid(pid, &status, 0);
      return status;
    });
    if (exited.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      ADD_FAILURE() << "the example did not stop within 60 s of SIGTERM";
      ::kill(pid, SIGKILL);
    }
    return exited.get();
  };
  if (line.empty()) {
    const int status = stop_child();
    ::close(out[0]);
    FAIL() << "the example printed nothing; status " << status << "; output:\n" << seen;
  }
  ASSERT_EQ(line.substr(0, prefix.size()), prefix) << line;
  ASSERT_EQ(line.back(), '/') << line;
  const auto port = static_cast<std::uint16_t>(
      std::stoi(line.substr(prefix.size(), line.size() - prefix.size() - 1)));
  ASSERT_NE(port, 0u);
  using stube::test::request;
  const auto index = request(port, "GET", "/");
  EXPECT_EQ(index.status, 200u);
  EXPECT_EQ(index.body, index_html);
  const auto counter = request(port, "GET", "/counter");
  EXPECT_EQ(counter.status, 200u);
  EXPECT_NE(counter.body.find("Count: 0"), std::string::npos) << counter.body;
  const auto named = request(port, "GET", "/hello?name=Ann");
  EXPECT_EQ(named.status, 200u);
  EXPECT_NE(named.body.find("Hello, Ann!"), std::string::npos) << named.body;
  const auto unnamed = request(port, "GET", "/hello");
  EXPECT_NE(unnamed.body.find("Hello, you!"), std::string::npos) << unnamed.body;
  const int status = stop_child();
  ::close(out[0]);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // A clean stop: the three conversations are in the file store.
  int saved = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "var/convs"))
    saved += entry.path().extension() == ".edn";
  EXPECT_EQ(saved, 3);
}

}  // namespace
