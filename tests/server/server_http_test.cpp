// The HTTP/SSE server over real sockets: routes, status codes, the Datastar
// stream, ownership, limits, timeouts, shutdown and restore.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <limits>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "common/log_capture.hpp"
#include "common/scratch_dir.hpp"
#include "common/spin_until.hpp"
#include "kernel/wire.hpp"
#include "server/handlers.hpp"
#include "server/http_client.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"
#include "stube/server.hpp"
#include "stube/state.hpp"

namespace stube {
namespace {

using namespace edn::literals;
using test::Conn;
using test::request;
using test::Response;

struct TypedForm {
  std::int64_t age = 0;
};
STUBE_STATE(TypedForm, age)

std::shared_ptr<Registry> test_registry() {
  auto reg = std::make_shared<Registry>();
  reg->define("t/counter")
      .init([](const edn::Value&) {
        return edn::map({{"n"_kw, 0}});
      })
      .render([](const Self& s) {
        return html::div(html::span(html::cls("n"), s[":n"]),
                         html::button(s.on("click", "inc"), "+"));
      })
      .on("inc", [](Self& s) { s.set("n", s[":n"].as_int() + 1); })
      .on("add",
          [](Self& s, const Event& e) {
            s.set("n", s[":n"].as_int() + e.payload.get("by"_kw).as_int());
          })
      .on("boom", [](Self&) { throw std::runtime_error("boom handler"); })
      .on("refuse", [](Self&) { throw BadEvent("refuse takes nothing from strangers"); })
      .on("end", [](Self& s) { s.end(); });
  reg->define("t/form")
      .init([](const edn::Value&) {
        return edn::map({{"name"_kw, ""}});
      })
      .keep({"name"})
      .render([](const Self& s) { return html::p(html::cls("name"), s[":name"]); })
      .on("shout", [](Self& s) { s.set("name", std::string(s[":name"].as_string()) + "!"); })
      .on("look", [](Self&) {})
      // The kept name turns from text into a map.
      .on("split",
          [](Self& s) {
            s.set("name", edn::map({{"first"_kw, s[":name"]}}));
          })
      .on("split-later", [](Self& s) { s.after(std::chrono::milliseconds(1), "split"); })
      // Timers: one that changes the kept name, one that changes another field.
      .on("shout-later", [](Self& s) { s.after(std::chrono::milliseconds(1), "shout"); })
      .on("bump-later", [](Self& s) { s.after(std::chrono::milliseconds(1), "bump"); })
      .on("bump",
          [](Self& s) { s.set("bumps", s[":bumps"].is_nil() ? 1 : s[":bumps"].as_int() + 1); });
  // A view of 24 MB, far more than the kernel's socket buffers hold.
  reg->define("t/big").render([](const Self&) {
    static const std::string filler(24 << 20, 'x');
    return html::p(filler, html::em("end"));
  });
  reg->define("t/sleepy")
      .init([](const edn::Value&) {
        return edn::map({{"n"_kw, 7}});
      })
      .render([](const Self& s) { return html::p(html::cls("n"), s[":n"]); })
      .wakeup([](Self&) { throw std::runtime_error("sleepy cannot wake up"); });
  reg->define<TypedForm>("t/typed-form")
      .keep({"age"})
      .render([](const Ctx<TypedForm>& c) { return html::p(html::cls("age"), c->age); })
      .on("older", [](Ctx<TypedForm>& c) { ++c->age; });
  return reg;
}

// A keep-alive connection that has been served (GET of the "/" page), so
// that the server counts it as open.
std::unique_ptr<Conn> served(std::uint16_t port) {
  auto c = std::make_unique<Conn>(port);
  c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  c->read_until("<p>index</p>");
  return c;
}

// The answer to a connection over the cap, which sends a keep-alive
// request: it is answered and closed (a served one would time out).
Response over_the_cap(std::uint16_t port, std::string_view method = "GET") {
  Conn c(port);
  c.send(std::string(method) + " / HTTP/1.1\r\nHost: x\r\n\r\n");
  return test::parse_response(c.read_to_eof());
}

// A connection served once the server has seen one close (which it notices
// asynchronously): connections are refused until then.
std::unique_ptr<Conn> served_when_free(std::uint16_t port) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto c = std::make_unique<Conn>(port);
    c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::size_t head = c->read_until("\r\n\r\n");
    if (c->data().starts_with("HTTP/1.1 200")) {
      c->read_until("<p>index</p>", head);
      return c;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "no connection served within 5 s; the last got:\n" << c->data();
      return nullptr;
    }
  }
}

// A started server on a free port, plus the conversation helpers the tests use.
class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    options.port = 0;
    server_ = std::make_unique<Server>(test_registry());
    server_->mount("/counter", "t/counter")
        .mount("/form", "t/form")
        .mount("/typed-form", "t/typed-form")
        .mount("/sleepy", "t/sleepy")
        .mount("/big", "t/big")
        .page("/", "<p>index</p>");
    server_->start(std::move(options));
    port_ = server_->port();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  struct Minted {
    std::string cid, iid, cookie;  // cookie: "stube-<cid>=<owner>"
  };
  Minted mint(std::string_view path = "/counter") {
    const Response r = request(port_, "GET", path);
    EXPECT_EQ(r.status, 200u) << r.head;
    Minted m;
    std::smatch match;
    const std::string set_cookie = r.header("Set-Cookie");
    EXPECT_TRUE(std::regex_search(set_cookie, match,
                                  std::regex("^(stube-(cv-[A-Za-z0-9_-]+)=[A-Za-z0-9_-]+)")))
        << set_cookie;
    m.cookie = match[1];
    m.cid = match[2];
    EXPECT_TRUE(std::regex_search(r.body, match, std::regex("id=\"(ix-[A-Za-z0-9_-]+)\"")))
        << r.body;
    m.iid = match[1];
    return m;
  }
  Response post(const Minted& m, std::string_view event, std::string_view body = "{}",
                std::string_view query = "") {
    return request(port_, "POST",
                   "/event/" + m.cid + "/" + m.iid + "/" + std::string(event) + std::string(query),
                   body, "Cookie: " + m.cookie + "\r\n");
  }
  // Opens the SSE stream and waits for the first view.
  std::unique_ptr<Conn> stream(const Minted& m, std::string_view base = "") {
    auto c = std::make_unique<Conn>(port_);
    c->send("GET " + std::string(base) + "/sse/" + m.cid +
            " HTTP/1.1\r\nHost: x\r\nDatastar-Request: true\r\nCookie: " + m.cookie + "\r\n\r\n");
    c->read_until("data: fragments <div id=\"stube-root\">");
    return c;
  }
  // Sends a plain (non-Datastar) stream request on `c` and reads the
  // response head: it and where the body starts in c.data().
  std::pair<Response, std::size_t> stream_head(Conn& c, const Minted& m,
                                               std::string_view http_version) {
    c.send("GET /sse/" + m.cid + " " + std::string(http_version) +
           "\r\nHost: x\r\nCookie: " + m.cookie + "\r\n\r\n");
    const std::size_t head_end = c.read_until("\r\n\r\n");
    return {test::parse_response(c.data().substr(0, head_end)), head_end};
  }
  edn::Value conv(const Minted& m) {
    return server_->runtime().conversation(m.cid).value_or(edn::Value());
  }

  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(ServerTest, MintServesTheShellAndAnOwnerCookie) {
  start();
  const Response r = request(port_, "GET", "/counter");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  // One session cookie per route that names the conversation, so that a
  // browser sends it to this conversation's requests only.
  const std::vector<std::string> cookies = r.headers("Set-Cookie");
  ASSERT_EQ(cookies.size(), 3u);
  const std::string cookie = cookies[0];
  std::smatch m;
  ASSERT_TRUE(std::regex_match(
      cookie, m,
      std::regex("stube-(cv-[A-Za-z0-9_-]+)=([A-Za-z0-9_-]+); Path=/sse/\\1; HttpOnly; "
                 "SameSite=Lax")))
      << cookie;
  const std::string pair = "stube-" + m[1].str() + "=" + m[2].str();
  EXPECT_EQ(cookies[1], pair + "; Path=/event/" + m[1].str() + "; HttpOnly; SameSite=Lax");
  EXPECT_EQ(cookies[2], pair + "; Path=/back/" + m[1].str() + "; HttpOnly; SameSite=Lax");
  // At least 128 random bits: 22 base64url characters after the prefix.
  EXPECT_GE(m[2].length(), 3u + 22u);
  EXPECT_NE(r.body.find("@get(&#39;/sse/" + m[1].str()), std::string::npos);
  EXPECT_NE(r.body.find("<div id=\"stube-root\"><div id=\"ix-"), std::string::npos);
  EXPECT_EQ(server_->runtime().size(), 1u);
  // A second GET is a second conversation with its own owner.
  const Response r2 = request(port_, "GET", "/counter");
  EXPECT_NE(r2.header("Set-Cookie"), cookie);
  EXPECT_EQ(server_->runtime().size(), 2u);
}

TEST_F(ServerTest, TheStreamCarriesTheFirstViewThenEveryPatch) {
  start();
  const Minted m = mint();
  Conn c(port_);
  const auto [head, head_end] = stream_head(c, m, "HTTP/1.1");
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("Content-Type"), "text/event-stream");
  EXPECT_EQ(head.header("Cache-Control"), "no-cache");
  EXPECT_EQ(head.header("X-Accel-Buffering"), "no");
  EXPECT_EQ(head.header("Transfer-Encoding"), "chunked");
  EXPECT_TRUE(head.header("Date").ends_with(" GMT")) << head.head;
  EXPECT_EQ(head.header("Server"), "stube");
  EXPECT_EQ(head.header("X-Content-Type-Options"), "nosniff");
  std::size_t at = c.read_until("retry: 500\n\n");
  // The error element is emptied first: a "try again" message shown while
  // the page was disconnected goes away once it is connected again.
  at = c.read_until(
      "event: datastar-merge-fragments\ndata: fragments <div id=\"stube-error\" "
      "role=\"alert\"></div>\n\n",
      at);
  at = c.read_until(
      "event: datastar-merge-fragments\ndata: fragments <div id=\"stube-root\"><div id=\"" + m.iid +
          "\"",
      at);
  at = c.read_until("<span class=\"n\">0</span>", at);

  const Response r = post(m, "inc");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "text/event-stream");
  at = c.read_until("event: datastar-merge-fragments\ndata: fragments <div id=\"" + m.iid + "\"",
                    at);
  at = c.read_until("<span class=\"n\">1</span>", at);
  EXPECT_EQ(post(m, "add", "{}", "?p=%7B%3Aby%2040%7D").status, 200u);
  c.read_until("<span class=\"n\">41</span>", at);
  EXPECT_EQ(conv(m).get_in({"conv/instances"_kw, edn::Value(m.iid), "n"_kw}), edn::Value(41));
}

// A stream's connection serves nothing after the stream, and says so
// ("Connection: close"): a request pipelined behind the stream's goes
// unanswered, and the client sends it again on another connection
// (RFC 9112 §9.3.2), rather than waiting for an answer that never comes.
TEST_F(ServerTest, ARequestPipelinedBehindAStreamIsLeftToTheClientToRetry) {
  start();
  const Minted m = mint();
  Conn c(port_);
  c.send("GET /sse/" + m.cid + " HTTP/1.1\r\nHost: x\r\nCookie: " + m.cookie +
         "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const Response head = test::parse_response(c.data().substr(0, c.read_until("\r\n\r\n")));
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(head.header("Connection"), "close");
  c.read_until("<span class=\"n\">0</span>");
  EXPECT_EQ(post(m, "end").status, 200u);
  const std::string& all = c.read_to_eof();
  EXPECT_EQ(all.substr(all.size() - 5), "0\r\n\r\n");
  EXPECT_EQ(all.find("<p>index</p>"), std::string::npos);
}

// RFC 9112 §3.2.2: a server must accept a target in absolute form (which
// a client sends to a proxy); its path and query are routed.
TEST_F(ServerTest, AnAbsoluteFormTargetIsRoutedByItsPath) {
  start({.base_path = "/app"});
  const Response page = request(port_, "GET", "http://127.0.0.1/app/counter");
  EXPECT_EQ(page.status, 200u) << page.head << page.body;
  EXPECT_NE(page.body.find("<span class=\"n\">0</span>"), std::string::npos);
  EXPECT_EQ(request(port_, "GET", "HTTP://x:1/app/?q=1").body, "<p>index</p>");
  EXPECT_EQ(request(port_, "GET", "http://x/elsewhere").status, 404u);
  const Response bad = request(port_, "GET", "app/counter");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("bad request target"), std::string::npos) << bad.body;
  EXPECT_EQ(request(port_, "GET", "ftp://x/app/counter").status, 400u);
}

// The base path itself goes on to its directory, where the page's relative
// links resolve under it.
TEST_F(ServerTest, TheBasePathRedirectsToItsDirectory) {
  start({.base_path = "/app"});
  const Response moved = request(port_, "GET", "/app?x=1");
  EXPECT_EQ(moved.status, 301u) << moved.head;
  EXPECT_EQ(moved.header("Location"), "/app/?x=1");
  EXPECT_EQ(request(port_, "HEAD", "/app").header("Location"), "/app/");
  EXPECT_EQ(request(port_, "GET", "/app/").body, "<p>index</p>");
  EXPECT_EQ(request(port_, "GET", "/apple").status, 404u);
}

// HTTP/1.0 has no chunked encoding (a proxy at its default, such as nginx's
// proxy_http_version 1.0, speaks it): the stream is sent raw and ends when
// the connection closes.
TEST_F(ServerTest, AnHttp10ClientGetsTheStreamWithoutChunks) {
  start();
  const Minted m = mint();
  Conn c(port_);
  const auto [head, head_end] = stream_head(c, m, "HTTP/1.0");
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("Content-Type"), "text/event-stream");
  EXPECT_EQ(head.header("Transfer-Encoding"), "");
  EXPECT_EQ(head.header("Connection"), "close");
  constexpr std::string_view kRetry = "retry: 500\n\n";
  EXPECT_EQ(c.read_until(kRetry, head_end), head_end + kRetry.size()) << "no chunk size first";
  std::size_t at = c.read_until("<span class=\"n\">0</span>", head_end);
  EXPECT_EQ(post(m, "inc").status, 200u);
  at = c.read_until("<span class=\"n\">1</span>", at);
  EXPECT_EQ(post(m, "end").status, 200u);
  const std::string& all = c.read_to_eof();
  EXPECT_EQ(all.find("\r\n", head_end), std::string::npos) << "no chunk framing in the body";
}

// The answer to an event: the error element emptied (a message of an
// earlier refused event goes), the page's signals of instances that are
// gone dropped (else every later body carries them, growing with each
// dialog until refused), then the kept signals as the handler left them.
TEST_F(ServerTest, SignalsComeInAsEdnAndGoBackAfterTheHandler) {
  start();
  const Minted m = mint("/form");
  const std::string ns = signal_namespace(m.iid);
  const Response r = post(m, "shout",
                          "{\"" + ns +
                              "\": {\"name\": \"Zed\"}, \"ix-other\": {\"name\": \"no\"}, "
                              "\"ix-gone_0x\": {}, \"not an id\": 1, \"open\": true}");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(conv(m).get_in({"conv/instances"_kw, edn::Value(m.iid), "name"_kw}),
            edn::Value("Zed!"));
  EXPECT_EQ(r.body,
            "event: datastar-merge-fragments\ndata: fragments <div id=\"stube-error\" "
            "role=\"alert\"></div>\n\n"
            "event: datastar-remove-signals\ndata: paths ix-other\ndata: paths ix-gone_0x\n\n"
            "event: datastar-merge-signals\ndata: signals {\"" +
                ns + "\":{\"name\":\"Zed!\"}}\n\n");
  // Back drops them too.
  ASSERT_EQ(post(m, "shout", "{}").status, 200u);
  const auto back = [&](std::string_view body) {
    return request(port_, "POST", "/back/" + m.cid, body, "Cookie: " + m.cookie + "\r\n");
  };
  const Response b = back("{\"ix-dialog\": {\"answer\": \"x\"}, \"" + ns + "\": {}}");
  EXPECT_EQ(b.status, 200u);
  EXPECT_NE(b.body.find("event: datastar-remove-signals\ndata: paths ix-dialog\n\n"),
            std::string::npos)
      << b.body;
  EXPECT_EQ(b.body.find("data: paths " + ns), std::string::npos) << b.body;
  // A body that is not JSON is malformed input, as for an event (SPEC §9):
  // 400, and the conversation does not go back.
  const edn::Value before = conv(m);
  const Response bad = back("[not json");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("invalid JSON signals"), std::string::npos) << bad.body;
  EXPECT_EQ(conv(m), before);
  EXPECT_EQ(back("").status, 200u) << "no body: no signals";
}

// An event that leaves a kept field alone does not send it back: the page
// holds it already, and the user may have typed on since the event went.
TEST_F(ServerTest, AnAnswerLeavesOutTheSignalsThePageHolds) {
  start();
  const Minted m = mint("/form");
  const std::string ns = signal_namespace(m.iid);
  const Response r = post(m, "look", "{\"" + ns + "\": {\"name\": \"Zed\"}}");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(conv(m).get_in({"conv/instances"_kw, edn::Value(m.iid), "name"_kw}), edn::Value("Zed"));
  EXPECT_EQ(r.body,
            "event: datastar-merge-fragments\ndata: fragments <div id=\"stube-error\" "
            "role=\"alert\"></div>\n\n");
  // A handler that changes it sends it.
  const Response shout = post(m, "shout", "{\"" + ns + "\": {\"name\": \"Zed\"}}");
  EXPECT_NE(shout.body.find("data: signals {\"" + ns + "\":{\"name\":\"Zed!\"}}"),
            std::string::npos)
      << shout.body;
}

// A kept signal the page holds as a plain value that comes back a map is
// removed first: Datastar would merge the map's keys into the old value's
// signal and keep the value, which the next event then posted back (the
// handler's write undone). In an answer (against what the page sent) and
// on the stream (against the state before the step).
TEST_F(ServerTest, AKeptSignalThatBecomesAMapIsRemovedBeforeTheMerge) {
  start();
  const Minted m = mint("/form");
  const std::string ns = signal_namespace(m.iid);
  const Response r = post(m, "split", "{\"" + ns + "\": {\"name\": \"Ann\"}}");
  ASSERT_EQ(r.status, 200u) << r.body;
  const std::string merge = "event: datastar-merge-signals\ndata: signals {\"" + ns +
                            "\":{\"name\":{\"first\":\"Ann\"}}}\n\n";
  EXPECT_NE(r.body.find("event: datastar-remove-signals\ndata: paths " + ns + ".name\n\n" + merge),
            std::string::npos)
      << r.body;
  // A map over a map merges as usual.
  const Response again = post(m, "look", "{\"" + ns + "\": {\"name\": {\"first\": \"Bo\"}}}");
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(again.body.find("datastar-remove-signals"), std::string::npos) << again.body;

  const Minted t = mint("/form");
  const std::string tns = signal_namespace(t.iid);
  auto c = stream(t);
  ASSERT_EQ(post(t, "split-later", "{\"" + tns + "\": {\"name\": \"\"}}").status, 200u);
  c->read_until("event: datastar-remove-signals\ndata: paths " + tns +
                ".name\n\nevent: datastar-merge-signals\ndata: signals {\"" + tns +
                "\":{\"name\":{\"first\":\"\"}}}\n\n");
}

// A timer's step answers no request of the page: the kept signals it changed
// go on the stream. (The page kept the old value and posted it back with its
// next event, which undid the timer's change.) Only those: text typed into
// a field the timer left alone stays.
TEST_F(ServerTest, KeptSignalsATimerChangedGoOnTheStream) {
  start();
  const Minted m = mint("/form");
  const std::string ns = signal_namespace(m.iid);
  const std::string typed = "{\"" + ns + "\": {\"name\": \"Zed\"}}";
  // The first stream of the page that minted it, nothing since: the page
  // holds the kept signals (sent again, they would undo what the user
  // typed in the meantime), so the view comes without them.
  auto c = stream(m);
  ASSERT_EQ(post(m, "bump-later", typed).status, 200u);  // changes no kept signal
  ASSERT_EQ(post(m, "shout-later", typed).status, 200u);
  c->read_until("event: datastar-merge-signals\ndata: signals {\"" + ns +
                "\":{\"name\":\"Zed!\"}}\n\n");
  const std::string since = c->data();
  std::size_t merges = 0;
  for (auto at = since.find("datastar-merge-signals"); at != std::string::npos;
       at = since.find("datastar-merge-signals", at + 1))
    ++merges;
  EXPECT_EQ(merges, 1u) << "the first view, or a timer that changed no kept signal, sent them:\n"
                        << since;
  EXPECT_EQ(conv(m).get_in({"conv/instances"_kw, edn::Value(m.iid), "bumps"_kw}), edn::Value(1));
  // The page now posts the timer's value: the next event keeps it.
  ASSERT_EQ(post(m, "look", "{\"" + ns + "\": {\"name\": \"Zed!\"}}").status, 200u);
  EXPECT_EQ(conv(m).get_in({"conv/instances"_kw, edn::Value(m.iid), "name"_kw}),
            edn::Value("Zed!"));
  // Any later stream's first view brings all kept signals: the page may
  // have missed changes while it had none.
  auto again = stream(m);
  again->read_until("event: datastar-merge-signals\ndata: signals {\"" + ns +
                    "\":{\"name\":\"Zed!\"}}\n\n");
}

// A typed component's kept signal of the wrong type is bad input: 400
// naming the field, the handler does not run, the conversation is as it was.
TEST_F(ServerTest, ASignalOfTheWrongTypeIs400AndChangesNothing) {
  start();
  const Minted m = mint("/typed-form");
  const std::string ns = signal_namespace(m.iid);
  const edn::Value before = conv(m);
  const Response r = post(m, "older", "{\"" + ns + "\": {\"age\": \"ten\"}}");
  EXPECT_EQ(r.status, 400u) << r.head;
  EXPECT_NE(r.body.find("bad signals: a signal of :t/typed-form does not fit its state: state "
                        "field 'age'"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(conv(m), before);
  const Response ok = post(m, "older", "{\"" + ns + "\": {\"age\": 41}}");
  EXPECT_EQ(ok.status, 200u) << ok.body;
  EXPECT_EQ(conv(m).get_in({"conv/instances"_kw, edn::Value(m.iid), "age"_kw}), edn::Value(42));
}

TEST_F(ServerTest, StatusCodesLeaveTheConversationUntouched) {
  start({.max_body_bytes = 1024});
  const Minted m = mint();
  ASSERT_EQ(post(m, "inc").status, 200u);
  const edn::Value before = conv(m);
  const std::string owner_header = "Cookie: " + m.cookie + "\r\n";

  // A missing instance: 204, nothing changes (a stale double click). No
  // Content-Length (RFC 9110 §8.6: a 204 must not have one).
  const Response no_instance =
      request(port_, "POST", "/event/" + m.cid + "/ix-gone/inc", "{}", owner_header);
  EXPECT_EQ(no_instance.status, 204u);
  EXPECT_TRUE(no_instance.headers("Content-Length").empty()) << no_instance.head;
  EXPECT_TRUE(no_instance.headers("Transfer-Encoding").empty()) << no_instance.head;
  {  // and the connection goes on after it
    Conn c(port_);
    c.send("POST /event/" + m.cid + "/ix-gone/inc HTTP/1.1\r\nHost: x\r\n" + owner_header +
           "Content-Length: 2\r\n\r\n{}GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.read_until("<p>index</p>");
    EXPECT_EQ(c.data().rfind("HTTP/1.1 204", 0), 0u) << c.data();
  }
  // Another owner, or none: 403, for events, streams and back.
  const std::string forged = "Cookie: stube-" + m.cid + "=ow-AAAAAAAAAAAAAAAAAAAAAA\r\n";
  EXPECT_EQ(request(port_, "POST", "/event/" + m.cid + "/" + m.iid + "/inc", "{}", forged).status,
            403u);
  // The message says which: no cookie arrived, or another session's did.
  const Response cookieless =
      request(port_, "POST", "/event/" + m.cid + "/" + m.iid + "/inc", "{}");
  EXPECT_EQ(cookieless.status, 403u);
  EXPECT_NE(cookieless.body.find("owner cookie did not arrive"), std::string::npos)
      << cookieless.body;
  const Response foreign = request(port_, "GET", "/sse/" + m.cid, "", forged);
  EXPECT_EQ(foreign.status, 403u);
  EXPECT_NE(foreign.body.find("belongs to another browser session"), std::string::npos)
      << foreign.body;
  EXPECT_EQ(request(port_, "POST", "/back/" + m.cid, "", forged).status, 403u);
  // Malformed input: 400 with a message naming the problem.
  const auto bad = [&](const Response& r, std::string_view says) {
    EXPECT_EQ(r.status, 400u) << r.head;
    EXPECT_NE(r.body.find(says), std::string::npos) << r.body;
  };
  bad(post(m, "inc", "{\"a\": tru}"), "invalid JSON signals");
  bad(post(m, "inc", "[]"), "must be a JSON object");
  bad(post(m, "add", "{}", "?p=%7B%3Aby"), "bad EDN payload in query parameter p: line 1");
  bad(post(m, "add", "{}", "?p=%zz"), "bad percent-escape");
  bad(post(m, "inc", "{\"x\": \"" + std::string(2000, 'a') + "\"}"),
      "request body larger than 1024 bytes");
  bad(request(port_, "POST", "/event/" + m.cid + "/" + m.iid + "/in%20c", "{}", owner_header),
      "bad event name");
  bad(post(m, "bogus"), "bad event 'bogus': the component has no handler for it");
  bad(post(m, "refuse"),
      "bad event: component :t/counter refused event 'refuse': refuse takes "
      "nothing from strangers");
  bad(request(port_, "POST", "/event/" + m.cid + "/ix.1/inc", "{}", owner_header),
      "bad instance id");
  bad(request(port_, "GET", "/sse/a%2F..", "", owner_header), "bad conversation id");
  bad(request(port_, "GET", "/counter", "", "X-Big: " + std::string(9000, 'b') + "\r\n"),
      "request header larger than");
  // The handler threw: 500, and the error is on the page (the stream).
  EXPECT_EQ(post(m, "boom").status, 500u);
  // Wrong methods and unknown paths.
  EXPECT_EQ(
      request(port_, "GET", "/event/" + m.cid + "/" + m.iid + "/inc", "", owner_header).status,
      405u);
  EXPECT_EQ(request(port_, "POST", "/sse/" + m.cid, "", owner_header).status, 405u);
  EXPECT_EQ(request(port_, "GET", "/nowhere").status, 404u);
  EXPECT_EQ(request(port_, "GET", "/_stube/nothing.js").status, 404u);

  EXPECT_EQ(conv(m), before);
  // An unknown (or ended) conversation: 410; Datastar gets the stale patch.
  const Response gone = request(port_, "POST", "/event/cv-unknown/" + m.iid + "/inc", "{}",
                                "Datastar-Request: true\r\n");
  EXPECT_EQ(gone.status, 410u);
  EXPECT_EQ(gone.header("Content-Type"), "text/event-stream");
  EXPECT_NE(gone.body.find(
                "data: fragments <div id=\"stube-error\" role=\"alert\" class=\"stube-stale\">"),
            std::string::npos)
      << gone.body;
  EXPECT_EQ(request(port_, "GET", "/sse/cv-unknown").status, 410u);
  EXPECT_EQ(request(port_, "POST", "/back/cv-unknown").status, 410u);
}

TEST_F(ServerTest, BackRestoresThePreviousStep) {
  start();
  const Minted m = mint();
  auto c = stream(m);
  ASSERT_EQ(post(m, "inc").status, 200u);
  ASSERT_EQ(post(m, "inc").status, 200u);
  std::size_t at = c->read_until("<span class=\"n\">2</span>");
  const Response r = request(port_, "POST", "/back/" + m.cid, "", "Cookie: " + m.cookie + "\r\n");
  EXPECT_EQ(r.status, 200u);
  c->read_until("<span class=\"n\">1</span>", at);
  EXPECT_EQ(conv(m).get_in({"conv/instances"_kw, edn::Value(m.iid), "n"_kw}), edn::Value(1));
}

// A keep-alive as it reaches the client: an SSE comment (which proxies see
// as traffic) in an event Datastar passes on to the page (stube.js reopens a
// stream that brought nothing for 2.5 keep-alive intervals).
constexpr std::string_view kKeepAliveChunk =
    "\r\n: keep-alive\nevent: datastar-stube-keep-alive\n\n";

TEST_F(ServerTest, IdleStreamsGetKeepAliveComments) {
  start({.keep_alive = std::chrono::milliseconds(50)});
  const Minted m = mint();
  auto c = stream(m);
  const std::size_t at = c->read_until(kKeepAliveChunk);
  c->read_until(kKeepAliveChunk, at);
}

// The request timeout is for requests and for writes; an open stream whose
// client reads stays open well past it.
TEST_F(ServerTest, StreamsOutliveTheRequestTimeout) {
  start({.keep_alive = std::chrono::milliseconds(50),
         .request_timeout = std::chrono::milliseconds(100)});
  const Minted m = mint();
  auto c = stream(m);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(600);
  std::size_t at = 0;
  while (std::chrono::steady_clock::now() < until) at = c->read_until(kKeepAliveChunk, at);
  EXPECT_EQ(post(m, "inc").status, 200u);
  c->read_until("<span class=\"n\">1</span>", at);
}

// Limits beyond what the timers and the parser hold count as the most they
// hold: milliseconds::max() as "never" (it wrapped to a deadline in the
// past: keep-alives without pause, a stream cut at once) and SIZE_MAX header
// bytes as no limit (it wrapped to 0: every request refused).
TEST_F(ServerTest, LimitsBeyondRangeCountAsTheMostTheServerHolds) {
  start({.keep_alive = std::chrono::milliseconds::max(),
         .max_header_bytes = SIZE_MAX,
         .request_timeout = std::chrono::milliseconds::max()});
  const Minted m = mint();
  auto c = stream(m);
  ASSERT_EQ(post(m, "inc").status, 200u);
  c->read_until("<span class=\"n\">1</span>");
  EXPECT_EQ(c->data().find(": keep-alive"), std::string::npos) << "keep-alives without pause";
  const Response big =
      request(port_, "GET", "/counter", "", "X-Big: " + std::string(20000, 'a') + "\r\n");
  EXPECT_EQ(big.status, 200u) << big.body;
}

TEST_F(ServerTest, EndFinishesTheStreamAndLaterEventsGet410) {
  start();
  const Minted m = mint();
  auto c = stream(m);
  EXPECT_EQ(post(m, "end").status, 200u);
  const std::string& all = c->read_to_eof();
  EXPECT_EQ(all.substr(all.size() - 5), "0\r\n\r\n")
      << "the chunked body is finished: no reconnect";
  EXPECT_EQ(post(m, "inc").status, 410u);
  EXPECT_EQ(server_->runtime().size(), 0u);
}

// A client that keeps its side open after the stream's end (the browser
// closes it) does not keep the connection's slot for ever: the server
// closes it after request_timeout.
TEST_F(ServerTest, AFinishedStreamsConnectionIsLetGoWhenTheClientKeepsIt) {
  start({.request_timeout = std::chrono::milliseconds(200)});
  const Minted m = mint();
  auto c = stream(m);
  EXPECT_EQ(post(m, "end").status, 200u);
  c->read_to_eof();  // the end of the body; `c` stays open
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server_->open_connections() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(server_->open_connections(), 0u);
  EXPECT_EQ(server_->open_streams(), 0u);
}

// request_timeout bounds each write, not the whole answer: a client on a
// slow link that keeps reading gets a page and a first view larger than it
// can take in request_timeout (here 24 MB at a pause of 40 ms per 128 KiB:
// at least 7.5 s each, against a timeout of 4 s; measured below). The
// kernel reports progress once a third of the socket's send buffer (up to
// 4 MB on loopback) drained, 0.4 s of reading here: the timeout leaves ten
// times that, for a reader slowed by a loaded machine or a sanitizer.
TEST_F(ServerTest, ASlowClientThatKeepsReadingGetsALargeViewWhole) {
  constexpr auto kTimeout = std::chrono::seconds(4);
  start({.request_timeout = kTimeout});
  constexpr std::size_t kChunk = 128 << 10;
  constexpr auto kPause = std::chrono::milliseconds(40);
  const auto read_slowly = [&](Conn& c) {
    const auto began = std::chrono::steady_clock::now();
    c.read_slowly_until("<em>end</em>", kChunk, kPause);
    EXPECT_GT(std::chrono::steady_clock::now() - began, kTimeout)
        << "read faster than request_timeout: the test proves nothing";
  };
  Conn page(port_, 30000, 64 << 10);
  page.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  read_slowly(page);
  const Response shell = test::parse_response(page.data());
  ASSERT_EQ(shell.status, 200u);
  Minted m;
  std::smatch match;
  const std::string cookie = shell.header("Set-Cookie");
  ASSERT_TRUE(
      std::regex_search(cookie, match, std::regex("^(stube-(cv-[A-Za-z0-9_-]+)=[A-Za-z0-9_-]+)")));
  m.cookie = match[1];
  m.cid = match[2];

  Conn sse(port_, 30000, 64 << 10);
  sse.send("GET /sse/" + m.cid +
           " HTTP/1.1\r\nHost: x\r\nDatastar-Request: true\r\nCookie: " + m.cookie + "\r\n\r\n");
  read_slowly(sse);
  EXPECT_EQ(server_->open_streams(), 1u);
}

// stop() leaves no connection waiting for a timer nothing runs any more: an
// idle keep-alive connection and a half-sent request are closed before it
// returns, while the Server object still exists.
TEST_F(ServerTest, StopClosesIdleAndHalfReadConnections) {
  start();
  auto idle = served(port_);
  Conn half(port_);
  half.send("POST /event/cv-x/ix-y/inc HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{}");
  ASSERT_EQ(request(port_, "GET", "/").status, 200u);  // both are being read by now
  server_->stop();
  const std::size_t served_bytes = idle->data().size();
  EXPECT_EQ(idle->read_to_eof().size(), served_bytes) << "closed, with nothing more said";
  EXPECT_EQ(half.read_to_eof(), "") << "closed, unanswered";
}

// RFC 9112 §3.2: an HTTP/1.1 request without a Host header, or any with
// two, is answered 400; HTTP/1.0 needs none.
TEST_F(ServerTest, AMissingOrRepeatedHostHeaderIsABadRequest) {
  start();
  const auto answer = [this](const std::string& head) {
    Conn c(port_);
    c.send(head + "Connection: close\r\n\r\n");
    return test::parse_response(c.read_to_eof());
  };
  const Response none = answer("GET / HTTP/1.1\r\n");
  EXPECT_EQ(none.status, 400u);
  EXPECT_NE(none.body.find("needs a Host header"), std::string::npos) << none.body;
  const Response two = answer("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n");
  EXPECT_EQ(two.status, 400u);
  EXPECT_NE(two.body.find("more than one Host header"), std::string::npos) << two.body;
  Conn old(port_);
  old.send("GET / HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(old.read_to_eof().starts_with("HTTP/1.0 200")) << old.data();
  EXPECT_EQ(answer("GET / HTTP/1.1\r\nHost: x\r\n").status, 200u);
}

// The server's end of `c` (the server runs in this process): the socket
// whose peer is c's own address; -1 if there is none (yet).
int server_end_of(const Conn& c) {
  sockaddr_in mine{};
  socklen_t size = sizeof mine;
  if (::getsockname(c.fd(), reinterpret_cast<sockaddr*>(&mine), &size) != 0) return -1;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::stoi(entry.path().filename().string());
    sockaddr_in peer{};
    size = sizeof peer;
    if (fd != c.fd() && ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &size) == 0 &&
        peer.sin_family == AF_INET && peer.sin_port == mine.sin_port)
      return fd;
  }
  return -1;
}

// True once `fd` has nothing unread (or is gone), or `c` has something to
// read (the server answered).
bool server_read_all(int fd, const Conn& c) {
  int unread = 0;
  if (::ioctl(fd, FIONREAD, &unread) != 0 || unread == 0) return true;
  pollfd answer{c.fd(), POLLIN, 0};
  return ::poll(&answer, 1, 0) > 0;
}

// RFC 9112 §2.2: empty lines before a request line (a CRLF some clients
// send after a POST's body) are ignored, a few of them; more are a 400.
TEST_F(ServerTest, EmptyLinesBeforeARequestLineAreIgnored) {
  start();
  Conn c(port_);
  c.send("\r\nPOST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}\r\n");
  c.read_until("\r\n\r\n");
  EXPECT_EQ(c.data().rfind("HTTP/1.1 404", 0), 0u) << c.data();
  c.send("\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string all = c.read_to_eof();
  EXPECT_EQ(all.find("400"), std::string::npos) << all;
  EXPECT_NE(all.find("<p>index</p>"), std::string::npos) << all;
  // Its CR and LF in two reads of the server: the CR waits for the rest.
  Conn split(port_);
  split.send("\r");
  int server_end = -1;
  ASSERT_TRUE(test::spin_until([&] { return (server_end = server_end_of(split)) >= 0; }));
  ASSERT_TRUE(test::spin_until([&] { return server_read_all(server_end, split); }));
  split.send("\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const Response after_split = test::parse_response(split.read_to_eof());
  EXPECT_EQ(after_split.status, 200u) << after_split.head << after_split.body;
  Conn many(port_);
  many.send("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const Response refused = test::parse_response(many.read_to_eof());
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.body.find("bad method"), std::string::npos) << refused.body;
}

// A body over the limit is refused before it is read; the client may still
// be sending it. The server reads on (and drops) what comes until the client
// closes: closing at once would answer those bytes with a reset, which can
// beat the 400 to the client or fail its next send.
TEST_F(ServerTest, ARefusedBodyIsDrainedSoTheClientGetsThe400) {
  start();
  const Minted m = mint();
  const edn::Value before = conv(m);
  Conn c(port_);
  const std::string chunk(256 << 10, 'x');
  c.send("POST /event/" + m.cid + "/" + m.iid + "/inc HTTP/1.1\r\nHost: x\r\nCookie: " + m.cookie +
         "\r\nContent-Length: " + std::to_string(64 * chunk.size()) + "\r\n\r\n" + chunk);
  c.read_until("\r\n\r\n");
  EXPECT_TRUE(c.data().starts_with("HTTP/1.1 400")) << c.data();
  for (int i = 0; i < 8; ++i) c.send(chunk);  // the client goes on: no reset
  c.shut_write();
  c.read_to_eof();
  EXPECT_NE(c.data().find("larger than"), std::string::npos) << c.data();
  EXPECT_EQ(conv(m), before);
}

// A browser names the site of the page that sent a request: an event or
// back from another site's page (a sibling subdomain gets the Lax cookie)
// is refused, and the conversation is untouched.
TEST_F(ServerTest, EventsFromAnotherSitesPageAreRefused) {
  start();
  const Minted m = mint();
  const std::string path = "/event/" + m.cid + "/" + m.iid + "/inc";
  for (const char* site : {"cross-site", "same-site"}) {
    const std::string headers = "Cookie: " + m.cookie + "\r\nSec-Fetch-Site: " + site + "\r\n";
    const Response event = request(port_, "POST", path, "{}", headers);
    EXPECT_EQ(event.status, 403u) << site;
    EXPECT_NE(event.body.find("another site's page"), std::string::npos) << event.body;
    EXPECT_EQ(request(port_, "POST", "/back/" + m.cid, "", headers).status, 403u) << site;
  }
  // The refusal quotes the value as printable ASCII: the message goes into
  // a UTF-8 response, and a header's bytes need not be UTF-8.
  const Response odd = request(port_, "POST", path, "{}",
                               "Cookie: " + m.cookie + "\r\nSec-Fetch-Site: cross\xff\xc3\r\n");
  EXPECT_EQ(odd.status, 403u);
  EXPECT_NE(odd.body.find("cross\\xff\\xc3"), std::string::npos) << odd.body;
  EXPECT_EQ(conv(m).get_in({"conv/instances"_kw, edn::Value(m.iid), "n"_kw}), edn::Value(0));
  const Response own = request(port_, "POST", path, "{}",
                               "Cookie: " + m.cookie + "\r\nSec-Fetch-Site: same-origin\r\n");
  EXPECT_EQ(own.status, 200u) << own.body;
  EXPECT_EQ(conv(m).get_in({"conv/instances"_kw, edn::Value(m.iid), "n"_kw}), edn::Value(1));
}

// Another site's page (or a link of any site, navigated to: the Lax cookie
// goes along) cannot open the stream: it would replace the page's, which
// ends cleanly and is not retried, and the page would get no more patches.
TEST_F(ServerTest, AStreamFromAnotherSiteOrANavigationIsRefusedAndTheOpenOneStays) {
  start();
  const Minted m = mint();
  const auto page = stream(m);
  const std::string cookie = "Cookie: " + m.cookie + "\r\n";
  for (const std::string headers :
       {"Sec-Fetch-Site: cross-site\r\n", "Sec-Fetch-Site: same-site\r\n",
        "Sec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\n",
        "Sec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: Navigate\r\n"}) {
    const Response r = request(port_, "GET", "/sse/" + m.cid, "", cookie + headers);
    EXPECT_EQ(r.status, 403u) << headers;
    EXPECT_TRUE(r.body.find("another site's page") != std::string::npos ||
                r.body.find("not navigated to") != std::string::npos)
        << r.body;
  }
  ASSERT_EQ(post(m, "inc").status, 200u);
  page->read_until("<span class=\"n\">1</span>");  // the page's own stream still gets it
}

// With allowed_hosts, a request naming another host (a page that re-pointed
// its own name at 127.0.0.1: DNS rebinding) is refused before routing.
TEST_F(ServerTest, AllowedHostsRefuseOtherHostNames) {
  start({.allowed_hosts = {"localhost", "127.0.0.1", "[::1]"}});
  const auto get_with_host = [this](const std::string& host) {
    Conn c(port_);
    c.send("GET /counter HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
    return test::parse_response(c.read_to_eof());
  };
  const Response other = get_with_host("attacker.example:" + std::to_string(port_));
  EXPECT_EQ(other.status, 421u);
  EXPECT_NE(other.body.find("'attacker.example'"), std::string::npos) << other.body;
  EXPECT_TRUE(other.header("Set-Cookie").empty());
  EXPECT_EQ(server_->runtime().size(), 0u);
  EXPECT_EQ(get_with_host("LocalHost:" + std::to_string(port_)).status, 200u);
  EXPECT_EQ(get_with_host("[::1]:" + std::to_string(port_)).status, 200u);
  EXPECT_EQ(get_with_host("127.0.0.1").status, 200u);
  EXPECT_EQ(get_with_host("127.0.0.1.evil.example").status, 421u);
  // An absolute-form target names the host itself, and the Host header is
  // ignored then (RFC 9112 §3.2.2).
  const auto get_absolute = [this](const std::string& url, const std::string& host) {
    Conn c(port_);
    c.send("GET " + url + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
    return test::parse_response(c.read_to_eof());
  };
  EXPECT_EQ(get_absolute("http://evil.example/counter", "localhost").status, 421u);
  EXPECT_EQ(get_absolute("http://localhost/counter", "evil.example").status, 200u);
}

// RFC 9112 §3.2: a Host header (or an absolute-form target's host) that is
// not `uri-host [":" port]` is a 400 naming it, quoted as printable ASCII
// like every other piece of a request an error quotes.
TEST_F(ServerTest, AMalformedHostIsABadRequest) {
  start();
  const auto status_for = [this](const std::string& host) {
    Conn c(port_);
    c.send("GET /_stube/stube.css HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
    return test::parse_response(c.read_to_eof());
  };
  for (const char* bad :
       {"a b", "u@x", "localhost:abc", "localhost:99999", "[::1", "[]", "x/y", "%zz", "[::1]x"}) {
    const Response r = status_for(bad);
    EXPECT_EQ(r.status, 400u) << bad;
    EXPECT_NE(r.body.find(std::string("bad Host header '") + bad + "'"), std::string::npos)
        << r.body;
  }
  const Response odd = status_for("<b>\xff\xfe");
  EXPECT_EQ(odd.status, 400u);
  EXPECT_NE(odd.body.find("'<b>\\xff\\xfe'"), std::string::npos) << odd.body;
  for (const char* good : {"localhost", "localhost:", "127.0.0.1:8080", "[::1]:8080",
                           "xn--bcher-kva.example", "my_host.local:65535", ""})
    EXPECT_EQ(status_for(good).status, 200u) << good;
  Conn c(port_);
  c.send("GET http://u@x/_stube/stube.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const Response absolute = test::parse_response(c.read_to_eof());
  EXPECT_EQ(absolute.status, 400u);
  EXPECT_NE(absolute.body.find("bad request target: its host 'u@x'"), std::string::npos)
      << absolute.body;
}

// RFC 9110 §5.3: several Connection lines are one list; a "close" in any of
// them closes the connection after the response (RFC 9112 §9.6), and what
// was pipelined behind it is not answered.
TEST_F(ServerTest, ACloseInAnyConnectionLineClosesTheConnection) {
  start();
  Conn c(port_);
  const std::string get = "GET /_stube/stube.css HTTP/1.1\r\nHost: x\r\n";
  c.send(get + "Connection: keep-alive\r\nConnection: close\r\n\r\n" + get + "\r\n");
  const std::string all = c.read_to_eof();
  const Response first = test::parse_response(all);
  EXPECT_EQ(first.status, 200u);
  EXPECT_EQ(first.header("Connection"), "close");
  EXPECT_EQ(all.find("HTTP/1.1", 1), std::string::npos) << all;
  // HTTP/1.0 too, where keep-alive is asked for (and Beast's parser looks
  // for nothing else).
  Conn old(port_);
  const std::string get10 = "GET /_stube/stube.css HTTP/1.0\r\n";
  old.send(get10 + "Connection: keep-alive\r\nConnection: close\r\n\r\n" + get10 +
           "Connection: keep-alive\r\n\r\n");
  const std::string both = old.read_to_eof();
  EXPECT_TRUE(both.starts_with("HTTP/1.0 200")) << both;
  EXPECT_EQ(both.find("HTTP/1.0", 1), std::string::npos) << both;
}

// OPTIONS * asks about the server as a whole (RFC 9110 §9.3.7).
TEST_F(ServerTest, OptionsStarSaysWhatTheServerAllows) {
  start();
  Conn c(port_);
  c.send("OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const Response r = test::parse_response(c.read_to_eof());
  EXPECT_EQ(r.status, 204u);
  EXPECT_EQ(r.header("Allow"), "GET, HEAD, POST");
  Conn get(port_);
  get.send("GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(test::parse_response(get.read_to_eof()).status, 400u);
}

// Another site cannot show the pages in a frame of its own and trick a user
// into clicking in them (clickjacking), unless frame_ancestors says it may.
TEST_F(ServerTest, PagesMayBeFramedByTheirOwnSiteOnlyUnlessToldOtherwise) {
  const auto frame_headers = [this](std::string_view path) {
    const Response r = request(port_, "GET", path);
    return r.header("Content-Security-Policy") + " | " + r.header("X-Frame-Options");
  };
  start();
  EXPECT_EQ(frame_headers("/counter"), "frame-ancestors 'self' | SAMEORIGIN");
  EXPECT_EQ(frame_headers("/"), "frame-ancestors 'self' | SAMEORIGIN");
  EXPECT_EQ(frame_headers("/nowhere"), "frame-ancestors 'self' | SAMEORIGIN");
  server_->stop();
  start({.frame_ancestors = " 'none' "});
  EXPECT_EQ(frame_headers("/counter"), "frame-ancestors 'none' | DENY");
  server_->stop();
  // A list has no X-Frame-Options equivalent: the CSP alone says it.
  start({.frame_ancestors = "'self' https://portal.example"});
  EXPECT_EQ(frame_headers("/counter"), "frame-ancestors 'self' https://portal.example | ");
  server_->stop();
  start({.frame_ancestors = ""});
  EXPECT_EQ(frame_headers("/counter"), " | ");
}

// Beast (1.74) holds its header limit against the part not parsed yet:
// short lines arriving a few at a time passed it, and one connection could
// make the server keep megabytes of fields.
TEST_F(ServerTest, AHeaderOfManyShortLinesPastTheLimitIs400) {
  start();
  std::string lines;
  for (int i = 0; i < 25000; ++i) lines += "X-A: b\r\n";  // 200 KB of fields
  Conn c(port_);
  try {
    c.send("GET /nope HTTP/1.1\r\nHost: x\r\n" + lines + "Connection: close\r\n\r\n");
  } catch (const std::runtime_error&) {
    // The server answered and closed while the rest was on its way.
  }
  const Response r = test::parse_response(c.read_to_eof());
  EXPECT_EQ(r.status, 400u) << r.head;
  EXPECT_NE(r.body.find("request header larger than"), std::string::npos) << r.body;
}

// The same, sent so that each read of the server ends one byte into a field
// line: a piece under 512 bytes (the least Beast reads) goes once the server
// has read the one before. Beast then parses every field but the unfinished
// one (it must see the next line's first byte to know the field is
// complete: obs-fold), holds that one byte, and its own check never trips.
// Its http::async_read_some returns only once the header is complete, so a
// session that counted per call counted nothing until then: one connection
// held megabytes of fields until request_timeout. The 400 must come while
// the header is still arriving (it never ends here).
TEST_F(ServerTest, AHeaderArrivingInPiecesIsRefusedWhileItArrives) {
  start({.max_header_bytes = 128 * 1024});
  std::string piece;
  for (int i = 0; i < 63; ++i) piece += "-A: b\r\nX";  // 504 bytes, ending in a line's first byte
  Conn c(port_);
  c.send("GET / HTTP/1.1\r\nHost: abcdefgh\r\nX");
  int server_end = -1;
  ASSERT_TRUE(test::spin_until([&] { return (server_end = server_end_of(c)) >= 0; }));
  try {
    for (int i = 0; i < 4096; ++i) {  // 2 MiB, never an empty line
      ASSERT_TRUE(test::spin_until([&] { return server_read_all(server_end, c); }));
      pollfd answer{c.fd(), POLLIN, 0};
      if (::poll(&answer, 1, 0) > 0) break;
      c.send(piece);
    }
  } catch (const std::runtime_error&) {
    // The server answered and closed while the rest was on its way.
  }
  const Response r = test::parse_response(c.read_to_eof());
  EXPECT_EQ(r.status, 400u) << r.head;
  EXPECT_NE(r.body.find("request header larger than 131072 bytes"), std::string::npos) << r.body;
}

// Beast files a chunked body's trailer fields with the header's: a Cookie
// in the trailer counted as the owner's, a Host as the request's.
TEST_F(ServerTest, TrailerFieldsAreRefusedNotTakenAsHeaderFields) {
  start();
  const Minted m = mint();
  const auto send = [&](const std::string& trailer) {
    Conn c(port_);
    c.send("POST /event/" + m.cid + "/" + m.iid +
           "/inc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
           "Connection: close\r\n\r\n2\r\n{}\r\n0\r\n" +
           trailer + "\r\n");
    return test::parse_response(c.read_to_eof());
  };
  const edn::Value before = conv(m);
  const Response with_cookie = send("Cookie: " + m.cookie + "\r\n");
  EXPECT_EQ(with_cookie.status, 400u) << with_cookie.head;
  EXPECT_NE(with_cookie.body.find("trailer fields are not supported"), std::string::npos)
      << with_cookie.body;
  EXPECT_EQ(conv(m), before);
  // Without a trailer the same request is only missing its cookie.
  EXPECT_EQ(send("").status, 403u);
}

// A cookie of the owner cookie's name set for a longer path (a sibling
// subdomain may plant one) comes first in the browser's Cookie header: it
// used to shadow the owner's, and that route was 403 for the conversation.
TEST_F(ServerTest, APlantedOwnerCookieDoesNotShadowTheOwners) {
  start();
  const Minted m = mint();
  const std::string owner = m.cookie.substr(m.cookie.find('=') + 1);
  const std::string name = "stube-" + m.cid;
  const std::string both = "Cookie: " + name + "=ow-planted; " + name + "=" + owner + "\r\n";
  const Response r = request(port_, "POST", "/event/" + m.cid + "/" + m.iid + "/inc", "{}", both);
  EXPECT_EQ(r.status, 200u) << r.head << r.body;
  EXPECT_EQ(request(port_, "POST", "/back/" + m.cid, "{}", both).status, 200u);
  // The planted one alone is still a stranger.
  EXPECT_EQ(request(port_, "POST", "/event/" + m.cid + "/" + m.iid + "/inc", "{}",
                    "Cookie: " + name + "=ow-planted\r\n")
                .status,
            403u);
}

TEST_F(ServerTest, AMintPastMaxConversationsIs503WithRetryAfter) {
  start({.max_conversations = 1});
  mint();
  const Response r = request(port_, "GET", "/counter");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.header("Retry-After"), "5");
  EXPECT_EQ(r.body, "the server holds too many conversations; try again later\n");
  EXPECT_TRUE(r.header("Set-Cookie").empty());
  EXPECT_EQ(server_->runtime().size(), 1u);
}

// A HEAD answers as a GET would (a health check probing with HEAD must see
// the full server), without minting.
TEST_F(ServerTest, AHeadPastMaxConversationsIs503TooAndAGetAfterAnEndIsServed) {
  start({.max_conversations = 1});
  const auto minted = mint();
  const Response head = request(port_, "HEAD", "/counter");
  EXPECT_EQ(head.status, 503u);
  EXPECT_EQ(head.header("Retry-After"), "5");
  server_->runtime().end(minted.cid);
  EXPECT_EQ(request(port_, "HEAD", "/counter").status, 200u);
  EXPECT_EQ(server_->runtime().size(), 0u) << "a HEAD minted a conversation";
}

TEST_F(ServerTest, MintDuringShutdownIs503WithRetryAfter) {
  start();
  server_->runtime().shutdown();
  const Response r = request(port_, "GET", "/counter");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.header("Retry-After"), "5");
}

// While the runtime shuts down (a restart), a conversation's requests get
// 503 "try again": it was saved for the next server. 410 and the stale
// patch would disable the page although the next server resumes it.
TEST_F(ServerTest, RequestsWhileTheRuntimeShutsDownAre503NotStale) {
  start();
  const Minted m = mint();
  server_->runtime().shutdown();  // the server itself still serves
  const Response event = request(port_, "POST", "/event/" + m.cid + "/" + m.iid + "/inc", "{}",
                                 "Datastar-Request: true\r\nCookie: " + m.cookie + "\r\n");
  EXPECT_EQ(event.status, 503u) << event.body;
  EXPECT_EQ(event.header("Retry-After"), "5");
  EXPECT_NE(event.body.find("the server is restarting"), std::string::npos) << event.body;
  EXPECT_EQ(event.body.find("stube-stale"), std::string::npos) << event.body;
  const Response back =
      request(port_, "POST", "/back/" + m.cid, "", "Cookie: " + m.cookie + "\r\n");
  EXPECT_EQ(back.status, 503u) << back.body;
}

// A stream's 503 cut short: `says` in one chunk of a chunked body that is
// never finished.
void expect_cut_short_503(const Response& sse, std::string_view says) {
  EXPECT_EQ(sse.status, 503u) << sse.head;
  EXPECT_EQ(sse.header("Retry-After"), "5");
  EXPECT_EQ(sse.header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(sse.header("Content-Length"), "");
  EXPECT_EQ(sse.header("Connection"), "close");
  EXPECT_EQ(sse.header("Content-Type"), "text/event-stream");
  EXPECT_NE(sse.body.find(says), std::string::npos) << sse.body;
  EXPECT_NE(sse.body.find("stube-error"), std::string::npos) << sse.body;
  ASSERT_GE(sse.body.size(), 2u);
  EXPECT_EQ(sse.body.substr(sse.body.size() - 2), "\r\n") << "one whole chunk";
  EXPECT_EQ(sse.body.find("\r\n0\r\n\r\n"), std::string::npos) << "and no last chunk";
}

// The stream's 503 is cut short: its message in one chunk of a chunked
// body that is never finished, then the connection closes. Datastar's
// stream client takes a complete response (whatever its status) as the
// stream's end and never asks again; it retries only after a network error.
TEST_F(ServerTest, AStreamRefusedWith503IsCutShortSoThatTheBrowserRetries) {
  start();
  const Minted m = mint();
  server_->runtime().shutdown();
  const Response sse = request(port_, "GET", "/sse/" + m.cid, "",
                               "Datastar-Request: true\r\nCookie: " + m.cookie + "\r\n");
  expect_cut_short_503(sse, "the server is restarting");
  // An event's 503 is complete: Datastar would send the event again.
  const Response event = request(port_, "POST", "/event/" + m.cid + "/" + m.iid + "/inc", "{}",
                                 "Datastar-Request: true\r\nCookie: " + m.cookie + "\r\n");
  EXPECT_EQ(event.status, 503u);
  EXPECT_NE(event.header("Content-Length"), "");
}

// Over max_connections a connection is answered at once (a 503, its request
// unread) and closed; the open ones are still served, and one that closes
// makes room for a new one.
TEST_F(ServerTest, ConnectionsOverTheCapGet503AndAreClosed) {
  start({.max_connections = 3});
  std::vector<std::unique_ptr<Conn>> open;
  for (int i = 0; i < 3; ++i) open.push_back(served(port_));
  const Response r = over_the_cap(port_);
  EXPECT_EQ(r.status, 503u) << r.head;
  EXPECT_EQ(r.header("Retry-After"), "5");
  EXPECT_EQ(r.header("Connection"), "close");
  EXPECT_EQ(r.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.body, "the server has too many open connections; try again shortly\n");
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
  // A HEAD gets the head alone (RFC 9110 §9.3.2), its length as a GET's.
  const Response head = over_the_cap(port_, "HEAD");
  EXPECT_EQ(head.status, 503u) << head.head;
  EXPECT_EQ(head.header("Content-Length"), r.header("Content-Length"));
  EXPECT_EQ(head.body, "");
  // One that sends a request with a body gets the same; a page load that
  // would start a conversation starts none.
  const Response post = request(port_, "POST", "/counter", std::string(20000, 'x'));
  EXPECT_EQ(post.status, 503u) << post.head;
  EXPECT_EQ(request(port_, "GET", "/counter").status, 503u);
  EXPECT_EQ(server_->runtime().size(), 0u);
  // The open ones go on.
  Conn& first = *open.front();
  const std::size_t at = first.data().size();
  first.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  first.read_until("<p>index</p>", at);
  open.pop_back();  // closes
  open.push_back(served_when_free(port_));
  ASSERT_NE(open.back(), nullptr);
  EXPECT_EQ(over_the_cap(port_).status, 503u) << "three open again";
}

// Over the cap, a stream request gets its 503 cut short (see
// AStreamRefusedWith503IsCutShortSoThatTheBrowserRetries), so that the
// page's stream retries; anything else gets the complete 503, and a
// connection that sends nothing gets it after a short wait for its request.
TEST_F(ServerTest, AStreamOverTheCapGetsItsRefusalCutShort) {
  start({.base_path = "/app", .max_connections = 2});
  const Minted m = mint("/app/counter");
  std::vector<std::unique_ptr<Conn>> open;
  for (int i = 0; i < 2; ++i) {
    open.push_back(std::make_unique<Conn>(port_));
    open.back()->send("GET /app/ HTTP/1.1\r\nHost: x\r\n\r\n");
    open.back()->read_until("<p>index</p>");
  }
  const Response sse = request(port_, "GET", "/app/sse/" + m.cid, "",
                               "Datastar-Request: true\r\nCookie: " + m.cookie + "\r\n");
  expect_cut_short_503(sse, "too many open connections");
  // Not a stream: the complete 503.
  const Response page = request(port_, "GET", "/app/sse-but-not-a-stream");
  EXPECT_EQ(page.status, 503u);
  EXPECT_EQ(page.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(page.body, "the server has too many open connections; try again shortly\n");
  // Silent: the complete 503 too, after the server's wait for a request
  // line (Conn's receive timeout fails the test if it never comes).
  Conn silent(port_);
  const Response r = test::parse_response(silent.read_to_eof());
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.header("Content-Length"), std::to_string(r.body.size()));
  EXPECT_EQ(server_->open_connections(), 2u);
}

// A view larger than max_stream_backlog is still streamed: the cap is on
// what queues behind a frame, not on the frame itself. (Capped, the first
// view would drop every stream before it started: the page would reconnect
// for ever.)
TEST_F(ServerTest, AViewLargerThanTheBacklogIsStillStreamed) {
  test::LogCapture logs;
  start({.max_stream_backlog = 64});
  const Minted m = mint();
  auto c = stream(m);  // the first view, more than 64 bytes
  c->read_until("<span class=\"n\">0</span>");
  EXPECT_EQ(post(m, "inc").status, 200u);
  c->read_until("<span class=\"n\">1</span>");
  EXPECT_EQ(server_->open_streams(), 1u);
  EXPECT_TRUE(logs.at(log::Level::warn).empty());
}

// So is the first view of a component with kept signals, which its
// signals follow as a second frame of the same step: the cap held the view
// against them, and the page was cut before its first byte, again and again.
TEST_F(ServerTest, AViewLargerThanTheBacklogIsStreamedWithItsKeptSignals) {
  test::LogCapture logs;
  start({.max_stream_backlog = 64});
  const Minted m = mint("/form");
  // After an event (without one the page that minted it holds the signals,
  // and the first view comes without them).
  ASSERT_EQ(post(m, "look", "{}").status, 200u);
  auto c = stream(m);
  c->read_until("event: datastar-merge-signals");
  c->read_until(signal_namespace(m.iid));
  EXPECT_EQ(server_->open_streams(), 1u);
  EXPECT_TRUE(logs.at(log::Level::warn).empty()) << logs.at(log::Level::warn).front();
}

// A client that does not read has its stream dropped once more than
// max_stream_backlog waits behind what is being written, with a warning
// that names the conversation.
TEST_F(ServerTest, AStreamDroppedForItsBacklogIsLogged) {
  test::LogCapture logs;
  start({.max_stream_backlog = 64 * 1024});
  const Minted m = mint("/form");
  const std::string ns = signal_namespace(m.iid);
  Conn c(port_);  // never reads
  c.send("GET /sse/" + m.cid + " HTTP/1.1\r\nHost: x\r\nCookie: " + m.cookie + "\r\n\r\n");
  // A new 60 KB name each time: an unchanged view sends nothing.
  const auto big = [&](int i) {
    return "{\"" + ns + "\": {\"name\": \"" + std::string(60000, char('a' + i % 26)) + "\"}}";
  };
  const auto dropped = [&](const std::vector<std::string>& warnings) {
    for (const std::string& w : warnings)
      if (w.find("stream of conversation " + m.cid + " dropped") != std::string::npos) return true;
    return false;
  };
  for (int i = 0; i < 2000 && !dropped(logs.at(log::Level::warn)); ++i)
    ASSERT_EQ(post(m, "shout", big(i)).status, 200u);
  EXPECT_TRUE(dropped(logs.at(log::Level::warn)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server_->open_streams() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(server_->open_streams(), 0u);
}

// Many clients that do not read cannot take max_stream_backlog each: past
// max_streams_backlog for all streams together, the stream that queues
// more is dropped (here before either reaches its own cap), and what the
// streams held is let go with them.
TEST_F(ServerTest, StreamsThatDoNotReadAreCappedTogether) {
  test::LogCapture logs;
  start({.max_stream_backlog = 8 << 20, .max_streams_backlog = 8 << 20});
  std::vector<Minted> ms{mint("/form"), mint("/form")};
  std::vector<std::unique_ptr<Conn>> silent;  // never read
  for (const Minted& m : ms) {
    silent.push_back(std::make_unique<Conn>(port_));
    silent.back()->send("GET /sse/" + m.cid + " HTTP/1.1\r\nHost: x\r\nCookie: " + m.cookie +
                        "\r\n\r\n");
  }
  const auto big = [&](const Minted& m, int i) {  // a new 60 KB name: a new view
    return "{\"" + signal_namespace(m.iid) + "\": {\"name\": \"" +
           std::string(60000, char('a' + i % 26)) + "\"}}";
  };
  const auto capped = [&] {
    for (const std::string& w : logs.at(log::Level::warn))
      if (w.find("more than max_streams_backlog") != std::string::npos) return true;
    return false;
  };
  for (int i = 0; i < 2000 && !capped(); ++i)
    ASSERT_EQ(post(ms[i % 2], "shout", big(ms[i % 2], i)).status, 200u);
  ASSERT_TRUE(capped());
  for (const std::string& w : logs.at(log::Level::warn))
    EXPECT_EQ(w.find("more than max_stream_backlog "), std::string::npos) << w;
  EXPECT_TRUE(test::spin_until([&] { return server_->open_streams() == 1; }));
  EXPECT_LE(server_->streams_backlog(), std::size_t{8 << 20});
  silent.clear();
  EXPECT_TRUE(test::spin_until([&] { return server_->open_streams() == 0; }));
  EXPECT_EQ(server_->streams_backlog(), 0u);
}

// What a stream holds is let go as it is written: an idle page holds
// nothing, and a closed one nothing either.
TEST_F(ServerTest, AStreamHoldsNothingOnceWritten) {
  start();
  const Minted m = mint();
  auto c = stream(m);
  c->read_until("<span class=\"n\">0</span>");
  EXPECT_EQ(post(m, "inc").status, 200u);
  c->read_until("<span class=\"n\">1</span>");
  // The patch was read once its last write began; its completion comes after.
  EXPECT_TRUE(test::spin_until([&] { return server_->streams_backlog() == 0; }));
  c.reset();
  EXPECT_TRUE(test::spin_until([&] { return server_->open_streams() == 0; }));
  EXPECT_EQ(server_->streams_backlog(), 0u);
}

// An open SSE stream holds its connection: it counts against the cap until
// the client goes.
TEST_F(ServerTest, AnOpenStreamCountsAgainstTheCap) {
  start({.max_connections = 2});
  const Minted m = mint();  // its connection is closed (and let go) before the next
  auto s = stream(m);
  auto c = served(port_);
  EXPECT_EQ(server_->open_connections(), 2u);
  EXPECT_EQ(server_->open_streams(), 1u);
  EXPECT_EQ(over_the_cap(port_).status, 503u);
  EXPECT_EQ(server_->open_connections(), 2u) << "a refused connection is not counted";
  s.reset();  // the tab closes
  ASSERT_NE(served_when_free(port_), nullptr);
  EXPECT_EQ(server_->open_streams(), 0u);
}

// A flood of refused connections is not a flood of log lines: at most one
// a second, and every refusal is counted in one of them.
TEST_F(ServerTest, RefusedConnectionsAreLoggedAtMostOnceASecond) {
  test::LogCapture logs;
  start({.max_connections = 1});
  auto c = served(port_);
  const auto t0 = std::chrono::steady_clock::now();
  constexpr std::size_t kRefused = 20;
  for (std::size_t i = 0; i < kRefused; ++i) ASSERT_EQ(over_the_cap(port_).status, 503u);
  constexpr std::string_view kPrefix = "server: refused ";
  const auto refusal_lines = [&](const std::vector<std::string>& warnings) {
    std::vector<std::string> out;
    for (const std::string& w : warnings)
      if (w.starts_with(kPrefix)) out.push_back(w);
    return out;
  };
  const auto counted = [&](const std::vector<std::string>& warnings) {
    std::size_t n = 0;
    for (const std::string& line : refusal_lines(warnings))
      n += std::stoul(line.substr(kPrefix.size()));
    return n;
  };
  // The ones after the first line are reported a second later.
  EXPECT_TRUE(logs.wait_for(
      log::Level::warn, [&](const auto& warnings) { return counted(warnings) == kRefused; },
      std::chrono::seconds(5)))
      << "counted " << counted(logs.at(log::Level::warn));
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0)
          .count();
  const auto lines = refusal_lines(logs.at(log::Level::warn));
  EXPECT_LE(lines.size(), 1 + static_cast<std::size_t>(seconds));
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.front().find("the 1 of max_connections were open"), std::string::npos)
      << lines.front();
}

// Without max_connections the cap is the soft descriptor limit less
// max(64, an eighth of it), read when the server starts: under a limit of
// 67 (lowered for this test; lowering is always allowed, and the old limit
// is restored) that is 3.
TEST_F(ServerTest, TheDefaultCapComesFromTheDescriptorLimit) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  // Lowering is always allowed; a soft limit already below 67 leaves no
  // room for a server at all, and is a broken test machine.
  ASSERT_TRUE(saved.rlim_cur == RLIM_INFINITY || saved.rlim_cur >= 67)
      << "the soft descriptor limit is " << saved.rlim_cur << ", below 67";
  struct Restore {
    rlimit rl;
    ~Restore() { setrlimit(RLIMIT_NOFILE, &rl); }
  } restore{saved};
  rlimit low = saved;
  low.rlim_cur = 67;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  start();
  std::vector<std::unique_ptr<Conn>> open;
  for (int i = 0; i < 3; ++i) open.push_back(served(port_));
  EXPECT_EQ(over_the_cap(port_).status, 503u);
}

TEST_F(ServerTest, SlowClientsTimeOut) {
  start({.request_timeout = std::chrono::milliseconds(200)});
  Conn c(port_, 5000);
  c.send("GET /counter HTTP/1.1\r\nHost: x\r\n");  // never finishes the header
  EXPECT_EQ(c.read_to_eof(), "");
  EXPECT_EQ(server_->runtime().size(), 0u);
}

TEST_F(ServerTest, ServesTheEmbeddedAssetsAndPages) {
  start();
  const Response js = request(port_, "GET", "/_stube/datastar.js?v=1");
  ASSERT_EQ(js.status, 200u);
  EXPECT_EQ(js.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.body.rfind("// Datastar v1.0.0-beta.11\n", 0), 0u);
  EXPECT_NE(js.body.find("datastar-merge-fragments"), std::string::npos);
  const std::string etag = js.header("ETag");
  ASSERT_FALSE(etag.empty());
  const Response not_modified =
      request(port_, "GET", "/_stube/datastar.js", "", "If-None-Match: " + etag + "\r\n");
  EXPECT_EQ(not_modified.status, 304u);
  // The 304 says what the 200 would about caching (RFC 9110 §15.4.5).
  EXPECT_EQ(not_modified.header("Cache-Control"), js.header("Cache-Control"));
  // Not "Content-Length: 0": that would say the asset is empty (RFC 9110 §8.6).
  EXPECT_TRUE(not_modified.headers("Content-Length").empty()) << not_modified.head;
  // Behind nginx's gzip the tag comes back weak, perhaps in a list: still a
  // 304, not the whole asset again.
  EXPECT_EQ(
      request(port_, "GET", "/_stube/datastar.js", "", "If-None-Match: \"old\", W/" + etag + "\r\n")
          .status,
      304u);
  const Response css = request(port_, "GET", "/_stube/stube.css");
  EXPECT_EQ(css.status, 200u);
  EXPECT_NE(css.body.find(".stube-dialog"), std::string::npos);
  const Response script = request(port_, "GET", "/_stube/stube.js");
  EXPECT_EQ(script.status, 200u);
  EXPECT_EQ(script.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_NE(script.body.find("retries-failed"), std::string::npos);
  // Kept for a year only under the URL naming this version (the shell's
  // "?v=<etag>"); a plain or stale URL is revalidated, so that an upgrade
  // reaches a page that links the asset plainly.
  EXPECT_EQ(js.header("Cache-Control"), "no-cache");
  EXPECT_EQ(css.header("Cache-Control"), "no-cache");
  const std::string version = etag.substr(1, etag.size() - 2);
  const Response kept = request(port_, "GET", "/_stube/datastar.js?v=" + version);
  EXPECT_EQ(kept.status, 200u);
  EXPECT_EQ(kept.header("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(request(port_, "GET", "/_stube/datastar.js?v=" + version, "",
                    "If-None-Match: " + etag + "\r\n")
                .header("Cache-Control"),
            "public, max-age=31536000, immutable");
  const Response index = request(port_, "GET", "/");
  EXPECT_EQ(index.status, 200u);
  EXPECT_EQ(index.body, "<p>index</p>");
}

TEST_F(ServerTest, ABasePathPrefixesEveryRoute) {
  start({.base_path = "/app"});
  EXPECT_EQ(request(port_, "GET", "/counter").status, 404u);
  const Response r = request(port_, "GET", "/app/counter");
  ASSERT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find("@post(&#39;/app/event/"), std::string::npos);
  EXPECT_NE(r.body.find("@get(&#39;/app/sse/"), std::string::npos);
  EXPECT_NE(r.body.find("src=\"/app/_stube/datastar.js"), std::string::npos);
  for (const std::string& cookie : r.headers("Set-Cookie"))
    EXPECT_TRUE(std::regex_search(cookie, std::regex("; Path=/app/(sse|event|back)/cv-")))
        << cookie;
  EXPECT_EQ(server_->url(), "http://127.0.0.1:" + std::to_string(port_) + "/app/");
}

TEST_F(ServerTest, SecureCookieMarksTheOwnerCookieSecure) {
  start({.secure_cookie = true});
  const std::string cookie = request(port_, "GET", "/counter").header("Set-Cookie");
  EXPECT_TRUE(std::regex_match(
      cookie, std::regex("stube-cv-[A-Za-z0-9_-]+=[A-Za-z0-9_-]+; Path=/sse/cv-[A-Za-z0-9_-]+; "
                         "HttpOnly; SameSite=Lax; Secure")))
      << cookie;
}

// Beast's limits count header and body bytes, not a chunk's extension or
// the trailers: an endless one is cut off by the read buffer's cap (a 400,
// not gigabytes of memory), and a Transfer-Encoding other than "chunked"
// alone is refused rather than its body read as the next request.
TEST_F(ServerTest, ChunkExtensionsTrailersAndOtherEncodingsAreRefused) {
  start();
  const Minted m = mint();
  const std::string head = "POST /event/" + m.cid + "/" + m.iid +
                           "/inc HTTP/1.1\r\nHost: x\r\nCookie: " + m.cookie +
                           "\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string filler(100 * 1024, 'a');
  for (const std::string& body : {"2;x=" + filler, "2\r\n{}\r\n0\r\nX-T: " + filler}) {
    Conn c(port_);
    try {
      c.send(head + body);  // the server may stop reading (and close) before the end
    } catch (const std::runtime_error&) {
    }
    c.read_until("\r\n\r\n");
    const Response r = test::parse_response(c.data());
    EXPECT_EQ(r.status, 400u) << c.data().substr(0, 200);
    EXPECT_NE(c.data().find("chunk extension or trailer larger than 8192 bytes"), std::string::npos)
        << c.data().substr(0, 300);
  }
  for (const char* te : {"chunked, identity", "gzip", "xchunked"}) {
    Conn c(port_);
    c.send("POST /nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + std::string(te) +
           "\r\n\r\nGET /counter HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string& all = c.read_to_eof();
    EXPECT_TRUE(all.starts_with("HTTP/1.1 400")) << te << ": " << all.substr(0, 200);
    EXPECT_NE(all.find("unsupported Transfer-Encoding"), std::string::npos) << all;
    EXPECT_EQ(all.find("Set-Cookie"), std::string::npos) << "the body was served as a request";
  }
  EXPECT_EQ(server_->runtime().size(), 1u);
  EXPECT_EQ(post(m, "inc").status, 200u);
}

TEST_F(ServerTest, ExpectContinueIsAnswered) {
  start();
  const Minted m = mint();
  Conn c(port_);
  c.send("POST /event/" + m.cid + "/" + m.iid + "/inc HTTP/1.1\r\nHost: x\r\nCookie: " + m.cookie +
         "\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
  c.read_until("HTTP/1.1 100 Continue\r\n\r\n");
  c.send("{}");
  EXPECT_NE(c.read_to_eof().find("HTTP/1.1 200 OK"), std::string::npos) << c.data();
}

// A request refused while it is read (too large a body, a bad framing) is
// a 400 like the others: a Datastar request gets it as a patch of the
// page's error element, which Datastar applies; then the connection closes.
TEST_F(ServerTest, ADatastarRequestGetsAReadTime400AsAPatch) {
  start({.max_body_bytes = 1024});
  const Minted m = mint();
  const std::string big = "{\"x\": \"" + std::string(2000, 'a') + "\"}";
  const Response r = request(port_, "POST", "/event/" + m.cid + "/" + m.iid + "/inc", big,
                             "Cookie: " + m.cookie + "\r\nDatastar-Request: true\r\n");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.header("Content-Type"), "text/event-stream");
  EXPECT_NE(r.body.find("data: fragments <div id=\"stube-error\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("request body larger than 1024 bytes"), std::string::npos) << r.body;
  EXPECT_EQ(r.header("Connection"), "close");
  // Without the header: plain text, as before.
  EXPECT_EQ(request(port_, "POST", "/event/" + m.cid + "/" + m.iid + "/inc", big,
                    "Cookie: " + m.cookie + "\r\n")
                .header("Content-Type"),
            "text/plain; charset=utf-8");
}

// The owner cookie is found in any Cookie header: some gateways pass the
// cookies of an HTTP/2 request on as several.
TEST_F(ServerTest, TheOwnerCookieIsFoundInAnyCookieHeader) {
  start();
  const Minted m = mint();
  const Response r = request(port_, "POST", "/event/" + m.cid + "/" + m.iid + "/inc", "{}",
                             "Cookie: other=1\r\nCookie: " + m.cookie + "\r\n");
  EXPECT_EQ(r.status, 200u) << r.head;
  EXPECT_EQ(request(port_, "POST", "/event/" + m.cid + "/" + m.iid + "/inc", "{}",
                    "Cookie: other=1\r\nCookie: also=2\r\n")
                .status,
            403u);
}

TEST_F(ServerTest, AnHttp10ClientGetsNoInterimResponse) {
  start();
  const Minted m = mint();
  Conn c(port_);
  c.send("POST /event/" + m.cid + "/" + m.iid + "/inc HTTP/1.0\r\nHost: x\r\nCookie: " + m.cookie +
         "\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n{}");
  const std::string& all = c.read_to_eof();
  EXPECT_TRUE(all.starts_with("HTTP/1.0 200 OK")) << all;
  EXPECT_EQ(all.find("100 Continue"), std::string::npos) << all;
}

// HEAD on the routes that GET reads: GET's head, no body, nothing minted.
// A HEAD refused for its body's size (which Beast reports as soon as it has
// the header) has no body either. (The server drains what a refused body
// sends until the client is done: done here.)
TEST_F(ServerTest, AHeadRefusedForItsBodySizeHasNoBody) {
  start();
  Conn c(port_);
  c.send("HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
  c.shut_write();
  const std::string all = c.read_to_eof();
  const Response r = test::parse_response(all);
  EXPECT_EQ(r.status, 400u) << all;
  EXPECT_NE(r.header("Content-Length"), "0") << r.head;
  EXPECT_TRUE(all.ends_with("\r\n\r\n")) << "a HEAD's refusal sent a body:\n" << all;
}

TEST_F(ServerTest, HeadIsGetWithoutTheBody) {
  start();
  const std::string asset = request(port_, "GET", "/_stube/datastar.js").body;
  ASSERT_FALSE(asset.empty());
  Conn c(port_);
  // Each HEAD's response ends at its head: the next response follows at once.
  c.send(
      "HEAD /_stube/datastar.js HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /counter HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /event/cv-x/ix-1/inc HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string& all = c.read_to_eof();
  std::vector<Response> heads;
  std::size_t at = 0;
  for (int i = 0; i < 5; ++i) {
    const std::size_t end = all.find("\r\n\r\n", at);
    ASSERT_NE(end, std::string::npos) << all;
    heads.push_back(test::parse_response(all.substr(at, end + 4 - at)));
    at = end + 4;
  }
  EXPECT_TRUE(all.compare(at, 15, "HTTP/1.1 200 OK") == 0) << "a HEAD sent a body:\n" << all;
  EXPECT_TRUE(all.ends_with("\r\n\r\n<p>index</p>")) << all;
  EXPECT_EQ(heads[0].status, 200u);
  EXPECT_EQ(heads[0].header("Content-Length"), std::to_string(asset.size()));
  EXPECT_FALSE(heads[0].header("ETag").empty());
  EXPECT_EQ(heads[1].status, 200u);
  EXPECT_EQ(heads[1].header("Content-Length"), "12");
  EXPECT_EQ(heads[2].status, 200u);
  EXPECT_EQ(heads[2].header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_TRUE(heads[2].headers("Set-Cookie").empty()) << heads[2].head;
  EXPECT_EQ(server_->runtime().size(), 0u) << "a HEAD minted a conversation";
  // Refusals too come without their body (their length still said).
  EXPECT_EQ(heads[3].status, 404u);
  EXPECT_NE(heads[3].header("Content-Length"), "0");
  EXPECT_EQ(heads[4].status, 405u);
  // Every answer carries the time it was made (RFC 9110 §6.6.1).
  for (const Response& h : heads) {
    EXPECT_TRUE(h.header("Date").ends_with(" GMT")) << h.head;
    EXPECT_EQ(h.header("X-Content-Type-Options"), "nosniff") << h.head;
  }
  // Routes that only GET or POST: 405 naming what they take.
  const Response post_page = request(port_, "POST", "/counter");
  EXPECT_EQ(post_page.status, 405u);
  EXPECT_EQ(post_page.header("Allow"), "GET, HEAD");
  const Minted m = mint();
  const Response head_sse =
      request(port_, "HEAD", "/sse/" + m.cid, "", "Cookie: " + m.cookie + "\r\n");
  EXPECT_EQ(head_sse.status, 405u);
  EXPECT_EQ(head_sse.header("Allow"), "GET");
  EXPECT_EQ(head_sse.body, "");
  // A mount answers a HEAD as it would a GET: 503 while shutting down.
  server_->runtime().shutdown();
  const Response closing = request(port_, "HEAD", "/counter");
  EXPECT_EQ(closing.status, 503u);
  EXPECT_EQ(closing.header("Retry-After"), "5");
}

TEST_F(ServerTest, KeepAliveConnectionsServeSeveralRequests) {
  start();
  const Minted m = mint();
  Conn c(port_);
  const std::string req = "POST /event/" + m.cid + "/" + m.iid +
                          "/inc HTTP/1.1\r\nHost: x\r\nCookie: " + m.cookie +
                          "\r\nContent-Length: 2\r\n\r\n{}";
  c.send(req + req + req);
  std::size_t at = 0;
  for (int i = 0; i < 3; ++i) at = c.read_until("HTTP/1.1 200 OK", at);
  c.read_until("\r\n\r\n", at);
  EXPECT_EQ(conv(m).get_in({"conv/instances"_kw, edn::Value(m.iid), "n"_kw}), edn::Value(3));
}

// The names of this process's threads, from /proc/self/task/*/comm.
std::multiset<std::string> thread_names() {
  std::multiset<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  return names;
}

// top -H, ps -L, gdb and perf tell stube's threads apart by name.
TEST_F(ServerTest, ItsThreadsAreNamed) {
  test::ScratchDir dir{"server"};
  start({.store = file_store(dir.path()), .threads = 2, .workers = 3});
  const Minted m = mint();
  ASSERT_EQ(post(m, "inc").status, 200u);  // a replacing save: the file store's closer starts
  const std::multiset<std::string> names = thread_names();
  EXPECT_EQ(names.count("stube-io"), 2u);
  EXPECT_EQ(names.count("stube-worker"), 3u);
  EXPECT_GE(names.count("stube-timer"), 1u);
  EXPECT_GE(names.count("stube-closer"), 1u);
}

TEST_F(ServerTest, StopCutsStreamsAndSavesAndARestartResumes) {
  test::ScratchDir dir{"server"};
  start({.store = file_store(dir.path())});
  const Minted m = mint();
  ASSERT_EQ(post(m, "inc").status, 200u);
  ASSERT_EQ(post(m, "inc").status, 200u);
  auto c = stream(m);
  server_->stop();
  // Cut, not finished: a browser takes it as an error and reconnects.
  const std::string& all = c->read_to_eof();
  EXPECT_EQ(all.find("0\r\n\r\n"), std::string::npos);
  EXPECT_EQ(file_store(dir.path())->load_all().count(m.cid), 1u);

  // The same directory again: restored before the listener accepts, and the
  // same browser (same owner cookie) gets the same view.
  start({.store = file_store(dir.path())});
  EXPECT_EQ(server_->runtime().restored_count(), 1u);
  auto again = stream(m);
  again->read_until("<span class=\"n\">2</span>");
  EXPECT_EQ(post(m, "inc").status, 200u);
  again->read_until("<span class=\"n\">3</span>");
}

// HTTP/1.0 has no last chunk to leave out: a stream that ends with the
// connection reads as complete when closed. nginx at its default
// proxy_http_version 1.0 would finish the browser's response, and the page
// would never reconnect to the next server. Stop resets such a stream; a
// stream that ends (the conversation did) closes as before.
TEST_F(ServerTest, StopResetsAnHttp10StreamSoThatItDoesNotReadAsFinished) {
  start();
  const Minted ended = mint(), cut = mint();
  Conn finished(port_);
  const std::size_t finished_head = stream_head(finished, ended, "HTTP/1.0").second;
  finished.read_until("<span class=\"n\">0</span>", finished_head);
  ASSERT_EQ(post(ended, "end").status, 200u);
  finished.read_to_eof();
  EXPECT_FALSE(finished.was_reset());

  Conn c(port_);
  const std::size_t head_end = stream_head(c, cut, "HTTP/1.0").second;
  c.read_until("<span class=\"n\">0</span>", head_end);
  server_->stop();
  c.read_to_eof();
  EXPECT_TRUE(c.was_reset());
}

void an_applications_handler(int) {}

// wait() handles SIGINT and SIGTERM while it waits; Asio's signal_set left
// them at their default actions afterwards, so an application's own handler
// was gone (a later SIGTERM killed it outright).
TEST_F(ServerTest, WaitPutsTheApplicationsSignalActionsBack) {
  struct sigaction mine {};
  mine.sa_handler = an_applications_handler;
  sigemptyset(&mine.sa_mask);
  struct sigaction original_term {
  }, original_int{};
  ASSERT_EQ(::sigaction(SIGTERM, &mine, &original_term), 0);
  ASSERT_EQ(::sigaction(SIGINT, nullptr, &original_int), 0);
  start();
  server_->stop();
  server_->wait();  // stop() has run: returns at once, after its signal_set is gone
  struct sigaction after {};
  ::sigaction(SIGTERM, nullptr, &after);
  EXPECT_EQ(after.sa_handler, &an_applications_handler);
  ::sigaction(SIGINT, nullptr, &after);
  EXPECT_EQ(after.sa_handler, original_int.sa_handler);
  ::sigaction(SIGTERM, &original_term, nullptr);
}

// Ctrl-C twice: while wait()'s stop hangs (here in a stop hook), a second
// SIGTERM ends the process the default way instead of being swallowed.
// In a forked child, which TSan cannot run (scripts/test.sh leaves it out).
TEST(ServerSignals, ASecondSignalEndsAStopThatHangsAForkedChild) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(ready[0]);
    const int fd = ready[1];
    log::set_sink([fd](log::Level, std::string_view msg) {
      if (msg.find("waiting for SIGINT or SIGTERM") != std::string_view::npos)
        (void)!::write(fd, "w", 1);
    });
    auto reg = std::make_shared<Registry>();
    reg->define("t/stuck").render([](const Self&) { return html::p("stuck"); }).stop([fd](Self&) {
      (void)!::write(fd, "s", 1);
      for (;;) ::pause();  // a stop hook that never returns
    });
    Server server(reg);
    server.start({.port = 0});
    (void)server.runtime().mint("t/stuck");
    server.wait();
    ::_exit(3);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_EQ(c, 'w');
  ::kill(pid, SIGTERM);
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_EQ(c, 's') << "the first SIGTERM runs the stop hooks";
  ::kill(pid, SIGTERM);
  // The pipe's end-of-file comes when the child is gone (it held the only
  // write end); 30 s without it is a child the signal did not end.
  pollfd gone{ready[0], POLLIN, 0};
  if (::poll(&gone, 1, 30000) != 1 || ::read(ready[0], &c, 1) != 0) {
    ::kill(pid, SIGKILL);
    ADD_FAILURE() << "the second SIGTERM did not end the process";
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(ready[0]);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
}

// A restored conversation whose wakeup hook throws: the stream opens and
// shows the error on the page (it was a bare 500 before, and the error was
// lost with the stream), and the conversation is as it was.
TEST_F(ServerTest, AWakeupThatThrowsIsShownOnTheStream) {
  test::ScratchDir dir{"server"};
  start({.store = file_store(dir.path())});
  const Minted m = mint("/sleepy");
  server_->stop();
  start({.store = file_store(dir.path())});
  Conn c(port_);
  const auto [head, head_end] = stream_head(c, m, "HTTP/1.1");
  EXPECT_EQ(head.status, 200u) << head.head;
  c.read_until("sleepy cannot wake up", head_end);
  EXPECT_EQ(conv(m).get_in({"conv/instances"_kw, edn::Value(m.iid), "n"_kw}), edn::Value(7));
  server_->stop();  // while its directory is still there
}

// An in-memory store whose saves of one conversation wait until released:
// a save that takes as long as the test wants.
class GatedStore final : public ConversationStore {
 public:
  void hold(std::string cid) {
    std::lock_guard lock(mu_);
    held_ = std::move(cid);
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      held_.clear();
    }
    cv_.notify_all();
  }
  // Waits until a save of the held conversation has started.
  bool wait_blocked() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [this] { return blocked_ > 0; });
  }

  ConversationMap load_all() override { return inner_->load_all(); }
  edn::Value save(const edn::Value& conv) override {
    std::unique_lock lock(mu_);
    if (!held_.empty() && conv::id(conv) == held_) {
      ++blocked_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return held_.empty(); });
    }
    lock.unlock();
    return inner_->save(conv);
  }
  void remove(std::string_view cid) override { inner_->remove(cid); }

 private:
  std::shared_ptr<ConversationStore> inner_ = in_memory_store();
  std::mutex mu_;
  std::condition_variable cv_;
  std::string held_;
  int blocked_ = 0;
};

// A request (an event whose save hangs in the GatedStore) sent from another
// thread. The save is released by finish(), or at the latest when this goes
// out of scope, since stop() needs it done.
class HangingEvent {
 public:
  HangingEvent(GatedStore& store, std::function<Response()> send)
      : store_(store), pending_(std::async(std::launch::async, std::move(send))) {}
  ~HangingEvent() { store_.release(); }  // then ~future waits for the answer
  HangingEvent(const HangingEvent&) = delete;
  HangingEvent& operator=(const HangingEvent&) = delete;
  Response finish() {
    store_.release();
    return pending_.get();
  }

 private:
  GatedStore& store_;
  std::future<Response> pending_;
};

// With one I/O thread, a save that hangs must not stop the server from
// serving other connections: requests are handled on the workers.
TEST_F(ServerTest, ASlowSaveDoesNotHoldTheIoThread) {
  auto store = std::make_shared<GatedStore>();
  start({.store = store, .threads = 1, .workers = 2});
  const Minted slow = mint();
  const Minted other = mint();
  auto slow_stream = stream(slow);
  store->hold(slow.cid);
  HangingEvent hanging(*store, [&] { return post(slow, "inc"); });
  ASSERT_TRUE(store->wait_blocked());

  EXPECT_EQ(request(port_, "GET", "/").status, 200u);
  auto other_stream = stream(other);
  EXPECT_EQ(post(other, "inc").status, 200u);
  other_stream->read_until("<span class=\"n\">1</span>");

  EXPECT_EQ(hanging.finish().status, 200u);
  slow_stream->read_until("<span class=\"n\">1</span>");
}

// A request for a conversation that is busy (the page reconnecting its
// stream, a double click on a slow handler) waits in that conversation's
// queue, not on a worker blocked on its lock: with both workers so taken,
// every other conversation's requests would wait as well.
TEST_F(ServerTest, ARequestForABusyConversationHoldsNoWorker) {
  auto store = std::make_shared<GatedStore>();
  start({.store = store, .threads = 1, .workers = 2});
  const Minted slow = mint();
  const Minted other = mint();
  store->hold(slow.cid);
  HangingEvent hanging(*store, [&] { return post(slow, "inc"); });
  ASSERT_TRUE(store->wait_blocked());
  Conn reconnect(port_);
  reconnect.send("GET /sse/" + slow.cid + " HTTP/1.1\r\nHost: x\r\nDatastar-Request: true\r\n" +
                 "Cookie: " + slow.cookie + "\r\n\r\n");
  // Answered by the only I/O thread, which accepted and read the reconnect
  // first: that one is now handed on, and waits for the slow conversation.
  ASSERT_EQ(request(port_, "GET", "/_stube/datastar.js").status, 200u);

  EXPECT_EQ(post(other, "inc").status, 200u);
  EXPECT_EQ(post(other, "inc").status, 200u);

  EXPECT_EQ(hanging.finish().status, 200u);
  reconnect.read_until("<span class=\"n\">1</span>");
}

// A tab closed while a worker holds its conversation through a slow save:
// letting go of the stream waits for that lock on a worker, not on the
// only I/O thread.
TEST_F(ServerTest, ClosingAStreamDoesNotWaitForItsConversationOnTheIoThread) {
  auto store = std::make_shared<GatedStore>();
  start({.store = store, .threads = 1, .workers = 2});
  const Minted slow = mint();
  auto slow_stream = stream(slow);
  store->hold(slow.cid);
  HangingEvent hanging(*store, [&] { return post(slow, "inc"); });
  ASSERT_TRUE(store->wait_blocked());
  slow_stream.reset();  // the browser goes away: the server sees EOF first

  EXPECT_EQ(request(port_, "GET", "/").status, 200u);
  const Minted other = mint();
  EXPECT_EQ(post(other, "inc").status, 200u);
  EXPECT_EQ(hanging.finish().status, 200u);
}

// Assets, static pages, unknown paths and malformed targets never wait:
// with the only worker held by a save that hangs, the I/O thread still
// answers them.
TEST_F(ServerTest, AssetsPagesAndBadTargetsAreAnsweredWhileEveryWorkerWaits) {
  auto store = std::make_shared<GatedStore>();
  start({.store = store, .threads = 1, .workers = 1});
  const Minted slow = mint();
  store->hold(slow.cid);
  HangingEvent hanging(*store, [&] { return post(slow, "inc"); });
  ASSERT_TRUE(store->wait_blocked());

  EXPECT_EQ(request(port_, "GET", "/_stube/datastar.js").status, 200u);
  EXPECT_EQ(request(port_, "GET", "/_stube/nothing.js").status, 404u);
  EXPECT_EQ(request(port_, "POST", "/event/" + slow.cid + "/only-two").status, 400u);
  EXPECT_EQ(request(port_, "GET", "/").body, "<p>index</p>");
  EXPECT_EQ(request(port_, "GET", "/nowhere").status, 404u);

  EXPECT_EQ(hanging.finish().status, 200u);
}

// workers = 0: requests are handled on the I/O threads themselves.
TEST_F(ServerTest, WithoutWorkersTheIoThreadsHandleRequests) {
  start({.threads = 1, .workers = 0});
  const Minted m = mint();
  auto c = stream(m);
  EXPECT_EQ(post(m, "inc").status, 200u);
  c->read_until("<span class=\"n\">1</span>");
  EXPECT_EQ(post(m, "end").status, 200u);
  EXPECT_EQ(post(m, "inc").status, 410u);
}

// stop() while the workers hold requests: every event the server answered
// with 200 is in the store afterwards; an event whose answer the stop cut
// off may be there too.
TEST_F(ServerTest, StopWhileRequestsAreInFlightLosesNoAnsweredEvent) {
  test::ScratchDir dir{"server"};
  start({.store = file_store(dir.path()), .threads = 2, .workers = 2});
  constexpr int kClients = 4;
  std::vector<Minted> convs;
  for (int i = 0; i < kClients; ++i) convs.push_back(mint());
  std::vector<int> answered(kClients, 0);
  std::atomic<int> total{0}, finished{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      try {
        while (post(convs[i], "inc").status == 200) {
          ++answered[i];
          ++total;
        }
      } catch (const std::exception&) {  // the stop cut the connection
      }
      ++finished;
    });
  const bool flowing = test::spin_until([&] { return total >= 50 || finished > 0; });
  server_->stop();
  for (std::thread& t : clients) t.join();
  ASSERT_TRUE(flowing) << "the clients answered " << total << " events in 30 s";
  EXPECT_GE(total.load(), 50);

  const auto stored = file_store(dir.path())->load_all();
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(stored.count(convs[i].cid), 1u) << convs[i].cid;
    const edn::Value n =
        stored.at(convs[i].cid).get_in({"conv/instances"_kw, edn::Value(convs[i].iid), "n"_kw});
    EXPECT_GE(n.as_int(), answered[i]) << convs[i].cid;
    EXPECT_LE(n.as_int(), answered[i] + 1) << convs[i].cid;
  }
}

// A second server started on a port that is taken (a copy started by
// mistake on the same store) fails before it reads the store: it never
// holds, and never saves back, what the running server keeps changing.
TEST(Server, APortInUseFailsBeforeTheStoreIsRead) {
  struct CountingStore final : ConversationStore {
    std::atomic<int> loads{0}, saves{0};
    ConversationMap load_all() override {
      ++loads;
      return {};
    }
    edn::Value save(const edn::Value& conv) override {
      ++saves;
      return conv;
    }
    void remove(std::string_view) override {}
  };
  Server running(test_registry());
  running.start({.port = 0});
  auto store = std::make_shared<CountingStore>();
  Server copy(test_registry());
  EXPECT_THROW(copy.start({.port = running.port(), .store = store}), std::system_error);
  EXPECT_EQ(store->loads.load(), 0);
  EXPECT_EQ(store->saves.load(), 0);
}

// Opens a new page at `path` and sends `event` to its root instance.
Response event_on_new_page(std::uint16_t port, const std::string& path, const std::string& event) {
  const Response page = request(port, "GET", path);
  std::smatch m;
  if (!std::regex_search(page.head, m, std::regex("(stube-(cv-[A-Za-z0-9_-]+)=[^;]+)"))) {
    ADD_FAILURE() << "no owner cookie in " << page.head;
    return page;
  }
  const std::string cookie = m[1], cid = m[2];
  if (!std::regex_search(page.body, m, std::regex("id=\"(ix-[A-Za-z0-9_-]+)\""))) {
    ADD_FAILURE() << "no instance id in " << page.body;
    return page;
  }
  return request(port, "POST", "/event/" + cid + "/" + m[1].str() + "/" + event, "{}",
                 "Cookie: " + cookie + "\r\n");
}

// stop() from a handler (on a worker, or on the I/O thread without
// workers) would wait for the very thread it runs on: it is refused with a
// clear error instead of deadlocking, and the server goes on serving.
TEST(Server, StopFromAHandlerIsRefusedInsteadOfDeadlocking) {
  for (const unsigned workers : {2u, 0u}) {
    SCOPED_TRACE("workers " + std::to_string(workers));
    Server* self = nullptr;
    std::string refusal;
    auto reg = test_registry();
    reg->define("t/stopper")
        .render([](const Self& s) { return html::div(html::button(s.on("click", "stop"), "x")); })
        .on("stop", [&](Self&) {
          try {
            self->stop();
          } catch (const std::logic_error& e) {
            refusal = e.what();
          }
        });
    Server s(reg);
    self = &s;
    s.mount("/stopper", "t/stopper");
    s.start({.port = 0, .workers = workers});
    EXPECT_EQ(event_on_new_page(s.port(), "/stopper", "stop").status, 200u);
    EXPECT_NE(refusal.find("own threads"), std::string::npos) << refusal;
    EXPECT_EQ(request(s.port(), "GET", "/stopper").status, 200u);
    s.stop();
  }
}

// The same from a handler on the runtime's timer thread (an `after`
// event): that thread holds the conversation's lock, which stop() would
// wait for. Refused, and the server goes on serving.
TEST(Server, StopFromATimerHandlerIsRefusedInsteadOfDeadlocking) {
  Server* self = nullptr;
  std::promise<std::string> refusal;
  auto reg = test_registry();
  reg->define("t/stopper")
      .render([](const Self& s) { return html::div(html::button(s.on("click", "later"), "x")); })
      .on("later", [](Self& s) { s.after(std::chrono::milliseconds(1), "stop"); })
      .on("stop", [&](Self&) {
        try {
          self->stop();
          refusal.set_value("stop() returned");
        } catch (const std::logic_error& e) {
          refusal.set_value(e.what());
        }
      });
  Server s(reg);
  self = &s;
  s.mount("/stopper", "t/stopper");
  s.start({.port = 0});
  EXPECT_EQ(event_on_new_page(s.port(), "/stopper", "later").status, 200u);
  auto answer = refusal.get_future();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_NE(answer.get().find("own threads"), std::string::npos);
  EXPECT_FALSE(s.runtime().in_handler()) << "only on the handler's own thread";
  EXPECT_EQ(request(s.port(), "GET", "/stopper").status, 200u);
  s.stop();
}

// Settings that cannot work (a zero interval would spin a thread, a zero
// limit would refuse every request) are refused by name, and the refused
// server can still be started with good ones.
TEST(Server, RefusesImpossibleOptionsByName) {
  using std::chrono::milliseconds;
  Server s(test_registry());
  const auto refused = [&](const ServerOptions& o, std::string_view field) {
    try {
      s.start(o);
      ADD_FAILURE() << "started with a bad " << field;
      s.stop();
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string_view(e.what()).find(field), std::string_view::npos) << e.what();
    }
  };
  refused({.port = 0, .conversation_ttl = milliseconds(0)}, "conversation_ttl");
  refused({.port = 0, .conversation_ttl = milliseconds(-5)}, "conversation_ttl");
  refused({.port = 0, .reaper_interval = milliseconds(0)}, "reaper_interval");
  refused({.port = 0, .reaper_batch = 0}, "reaper_batch");
  refused({.port = 0, .threads = 0}, "threads");
  refused({.port = 0, .bind_address = "localhost"}, "bind_address must be a numeric IP address");
  refused({.port = 0, .keep_alive = milliseconds(0)}, "keep_alive");
  refused({.port = 0, .frame_ancestors = "'self'\r\nSet-Cookie: a=b"}, "frame_ancestors");
  refused({.port = 0, .frame_ancestors = "'self'; script-src *"}, "frame_ancestors");
  refused({.port = 0, .max_header_bytes = 0}, "max_header_bytes");
  refused({.port = 0, .max_body_bytes = 0}, "max_body_bytes");
  refused({.port = 0, .request_timeout = milliseconds(-1)}, "request_timeout");
  refused({.port = 0, .max_stream_backlog = 0}, "max_stream_backlog");
  refused({.port = 0, .max_stream_backlog = 1 << 20, .max_streams_backlog = 1 << 19},
          "max_streams_backlog (524288) must be at least max_stream_backlog (1048576)");
  refused({.port = 0, .max_connections = 0}, "max_connections must be at least 1");
  refused({.port = 0, .max_connections = std::numeric_limits<std::size_t>::max()},
          "max_connections " + std::to_string(std::numeric_limits<std::size_t>::max()) + " needs");
  s.mount("/counter", "t/counter");
  s.start({.port = 0});
  EXPECT_EQ(request(s.port(), "GET", "/counter").status, 200u);
}

// An init that throws something that is not a std::exception is still the
// request's fault, as documented: 400 "bad query".
TEST(Server, AnInitThrowingAnythingIsABadQuery) {
  Server s(test_registry());
  s.mount("/odd", "t/counter", [](const QueryParams&) -> edn::Value { throw 42; });
  s.start({.port = 0});
  const Response r = request(s.port(), "GET", "/odd?x=1");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("bad query: init threw something that is not a std::exception"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(s.runtime().size(), 0u);
}

// A path under the server's own routes would never be reached: refused,
// naming it. (The paths are relative to the base path, so under one
// "/app/sse/x" is an ordinary path.)
TEST(Server, RefusesMountsAndPagesUnderItsOwnRoutes) {
  Server s(test_registry());
  for (const std::string path : {"/_stube/x", "/sse/x", "/event/a/b/c", "/back/x"}) {
    try {
      s.mount(path, "t/counter");
      ADD_FAILURE() << "mounted " << path;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string_view(e.what()).find("'" + path + "'"), std::string_view::npos)
          << e.what();
    }
    EXPECT_THROW(s.page(path, "<p>x</p>"), std::invalid_argument) << path;
  }
  s.mount("/sse", "t/counter").mount("/app/sse/x", "t/counter").page("/backs/x", "<p>b</p>");
  s.start({.port = 0});
  EXPECT_EQ(request(s.port(), "GET", "/sse").status, 200u);
  EXPECT_EQ(request(s.port(), "GET", "/backs/x").body, "<p>b</p>");
}

TEST(Server, RejectsBadMountsAndOptions) {
  Server s(test_registry());
  EXPECT_THROW(s.mount("counter", "t/counter"), std::invalid_argument);
  // The message says what a path may be, not only that this one is bad.
  for (const std::string path : {"/a/", "/a//b", "/.hidden", "/a b"}) {
    try {
      s.mount(path, "t/counter");
      ADD_FAILURE() << "mounted " << path;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string_view(e.what()).find("mount: bad path '" + path + "': a path is"),
                std::string_view::npos)
          << e.what();
      EXPECT_NE(std::string_view(e.what()).find("no trailing '/'"), std::string_view::npos)
          << e.what();
    }
  }
  EXPECT_THROW(s.mount("/x", "t/missing"), std::invalid_argument);
  EXPECT_THROW(s.start({.port = 0, .base_path = "app"}), std::invalid_argument);
  // A host that can never match (the Host header's port is not compared), or
  // the next command-line flag taken as the value: refused, not a 421 for
  // every request.
  for (const std::string bad : {"localhost:8080", "", "--secure-cookie", "a b", "[::1]:80"}) {
    try {
      s.start({.port = 0, .allowed_hosts = {"localhost", bad}});
      ADD_FAILURE() << "started with allowed host '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string_view(e.what()).find("allowed_hosts: '" + bad + "' is not a host name"),
                std::string_view::npos)
          << e.what();
    }
  }
  Server hosts(test_registry());
  hosts.start({.port = 0, .allowed_hosts = {"localhost", "127.0.0.1", "[::1]", "app.example"}});
  Server ok(test_registry());
  ok.start({.port = 0});
  Server clash(test_registry());
  try {
    clash.start({.port = ok.port(), .frame_ancestors = "'none'"});
    ADD_FAILURE() << "two servers listen on port " << ok.port();
  } catch (const std::system_error& e) {
    // The message names the address, so that a log line says which one.
    EXPECT_NE(
        std::string_view(e.what()).find("cannot listen on 127.0.0.1:" + std::to_string(ok.port())),
        std::string_view::npos)
        << e.what();
  }
  EXPECT_THROW(ok.start({.port = 0}), std::logic_error);
  // A stopped server says so, rather than "already started".
  ok.stop();
  try {
    ok.start({.port = 0});
    ADD_FAILURE() << "a stopped server started again";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string_view(e.what()).find("was stopped; create a new Server"),
              std::string_view::npos)
        << e.what();
  }
  // The failed start left nothing behind: a second one runs on its own options.
  clash.page("/", "<p>x</p>");
  clash.start({.port = 0, .frame_ancestors = ""});
  const Response r = request(clash.port(), "GET", "/");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Content-Security-Policy"), "");
  EXPECT_EQ(r.header("X-Frame-Options"), "");
}

}  // namespace
}  // namespace stube
