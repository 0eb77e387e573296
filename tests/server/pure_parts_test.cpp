// The server's pure pieces: routing, query strings, cookies, ids, the
// Datastar event format, the shell page.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <limits>
#include <map>
#include <mutex>

#include "common/log_capture.hpp"
#include "server/connection_limit.hpp"
#include "server/conversation_queues.hpp"
#include "server/datastar.hpp"
#include "server/http_util.hpp"
#include "server/routes.hpp"
#include "server/shell.hpp"

namespace stube::server {
namespace {

// One conversation's tasks run one at a time, in the order posted, even
// when one throws (logged); different conversations' tasks share the workers.
TEST(ConversationQueues, OneConversationsTasksRunInOrderOneAtATime) {
  test::LogCapture log;
  boost::asio::thread_pool pool(4);
  ConversationQueues queues(pool);
  std::mutex mu;
  std::map<std::string, std::vector<int>> ran;
  std::map<std::string, std::atomic<int>> running;
  std::atomic<bool> overlapped{false};
  for (const char* cid : {"cv-a", "cv-b"}) running[cid] = 0;
  for (int i = 0; i < 200; ++i) {
    for (const std::string cid : {"cv-a", "cv-b"}) {
      queues.post(cid, [&, cid, i] {
        if (running.at(cid).fetch_add(1) != 0) overlapped = true;
        {
          std::lock_guard lock(mu);
          ran[cid].push_back(i);
        }
        running.at(cid).fetch_sub(1);
        if (i % 50 == 7) throw std::runtime_error("a task that throws");
      });
    }
  }
  pool.join();  // runs out of work once every queue drained
  EXPECT_FALSE(overlapped);
  EXPECT_EQ(log.at(log::Level::error).size(), 8u);
  std::vector<int> in_order(200);
  for (int i = 0; i < 200; ++i) in_order[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(ran["cv-a"], in_order);
  EXPECT_EQ(ran["cv-b"], in_order);
  EXPECT_EQ(queues.busy(), 0u);
}

TEST(Routes, SplitsTargetIntoPathAndQuery) {
  EXPECT_EQ(split_target("/a/b?x=1&y"),
            std::make_pair(std::string_view("/a/b"), std::string_view("x=1&y")));
  EXPECT_EQ(split_target("/a"), std::make_pair(std::string_view("/a"), std::string_view()));
}

TEST(Routes, StripsTheBasePath) {
  EXPECT_EQ(strip_base("/counter", ""), "/counter");
  EXPECT_EQ(strip_base("/app/counter", "/app"), "/counter");
  EXPECT_EQ(strip_base("/app", "/app"), "/");
  EXPECT_EQ(strip_base("/app/", "/app"), "/");
  EXPECT_EQ(strip_base("/application", "/app"), std::nullopt);
  EXPECT_EQ(strip_base("/counter", "/app"), std::nullopt);
}

TEST(Routes, ClassifiesTheFixedRoutes) {
  Route r = parse_route("/sse/cv-1");
  EXPECT_EQ(r.kind, Route::Kind::Sse);
  EXPECT_EQ(r.cid, "cv-1");
  r = parse_route("/event/cv-1/ix-2/add.item:x");
  EXPECT_EQ(r.kind, Route::Kind::Event);
  EXPECT_EQ(r.cid, "cv-1");
  EXPECT_EQ(r.iid, "ix-2");
  EXPECT_EQ(r.event, "add.item:x");
  r = parse_route("/back/cv_9");
  EXPECT_EQ(r.kind, Route::Kind::Back);
  EXPECT_EQ(r.cid, "cv_9");
  r = parse_route("/_stube/datastar.js");
  EXPECT_EQ(r.kind, Route::Kind::Asset);
  EXPECT_EQ(r.asset, "datastar.js");
  r = parse_route("/counter");
  EXPECT_EQ(r.kind, Route::Kind::Path);
  EXPECT_EQ(r.path, "/counter");
}

TEST(Routes, RejectsMalformedConversationPaths) {
  for (const char* bad :
       {"/sse/", "/sse/a/b", "/sse/../x", "/sse/a%2Fb", "/event/cv/ix", "/event/cv/ix/e/f",
        "/event/cv/ix/", "/event/cv/i x/e", "/event/cv/ix/e!", "/back/", "/back/a.b"}) {
    EXPECT_THROW(parse_route(bad), BadRequest) << bad;
  }
  EXPECT_THROW(parse_route("/sse/" + std::string(129, 'a')), BadRequest);
  EXPECT_NO_THROW(parse_route("/sse/" + std::string(128, 'a')));
  try {
    parse_route("/event/cv-1/ix-1/bad event");
    FAIL();
  } catch (const BadRequest& e) {
    EXPECT_NE(std::string(e.what()).find("event name"), std::string::npos) << e.what();
  }
}

TEST(Routes, TheAbsoluteFormOfATargetIsItsPathAndQuery) {
  EXPECT_EQ(server::origin_form("/counter?a=1"), "/counter?a=1");
  EXPECT_EQ(server::origin_form("http://x/counter"), "/counter");
  EXPECT_EQ(server::origin_form("HTTPS://x:8080/a/b?q=1"), "/a/b?q=1");
  EXPECT_EQ(server::origin_form("http://x"), "/");
  EXPECT_EQ(server::origin_form("http://x?q=1"), "/?q=1");
  EXPECT_EQ(server::origin_form("http:///counter"), std::nullopt);
  EXPECT_EQ(server::origin_form("ftp://x/counter"), std::nullopt);
  EXPECT_EQ(server::origin_form("counter"), std::nullopt);
  EXPECT_EQ(server::origin_form("*"), std::nullopt);
  EXPECT_EQ(server::origin_form(""), std::nullopt);
  EXPECT_TRUE(server::requests_stream("GET http://x:1/app/sse/abc HTTP/1.1\r\n", "/app"));
}

TEST(Routes, TellsAStreamRequestByItsRequestLine) {
  EXPECT_TRUE(server::requests_stream("GET /sse/abc HTTP/1.1\r\nHost: x", ""));
  EXPECT_TRUE(server::requests_stream("GET /sse/ab", ""));  // cut off
  EXPECT_TRUE(server::requests_stream("GET /app/sse/abc?x=1 HTTP/1.1\r\n", "/app"));
  EXPECT_FALSE(server::requests_stream("GET /sse/abc HTTP/1.1\r\n", "/app"));
  EXPECT_FALSE(server::requests_stream("POST /sse/abc HTTP/1.1\r\n", ""));
  EXPECT_FALSE(server::requests_stream("GET /ssex/abc HTTP/1.1\r\n", ""));
  EXPECT_FALSE(server::requests_stream("GET /counter HTTP/1.1\r\n", ""));
  EXPECT_FALSE(server::requests_stream("", ""));
  EXPECT_FALSE(server::requests_stream("GE", ""));
  // HTTP/1.0 has no chunks: the plain, complete 503.
  EXPECT_FALSE(server::requests_stream("GET /sse/abc HTTP/1.0\r\n", ""));
}

TEST(HttpUtil, PercentDecoding) {
  EXPECT_EQ(percent_decode("a%20b+c%7B%7d", true), "a b c{}");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_THROW(percent_decode("%", true), BadRequest);
  EXPECT_THROW(percent_decode("%4", true), BadRequest);
  EXPECT_THROW(percent_decode("%zz", true), BadRequest);
}

TEST(HttpUtil, QueryStrings) {
  const QueryParams q = parse_query("p=%5B1+2%5D&x&&y=1&y=2");
  EXPECT_EQ(q.at("p"), "[1 2]");
  EXPECT_EQ(q.at("x"), "");
  EXPECT_EQ(q.at("y"), "2");
  EXPECT_EQ(q.size(), 3u);
  EXPECT_THROW(parse_query("p=%G0"), BadRequest);
  EXPECT_EQ(parse_query("&a=1&").at("a"), "1");
}

// A bad escape is named by its offset in the whole query and by the
// parameter it is in: "offset 0" of the part alone told neither.
TEST(HttpUtil, ABadEscapeInAQueryNamesWhereItIs) {
  const auto message = [](std::string_view query) {
    try {
      parse_query(query, true);
    } catch (const BadRequest& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("p=1&p=%2"), "bad percent-escape in the query at offset 6 (the value of 'p')");
  EXPECT_EQ(message("x=%41%zz"), "bad percent-escape in the query at offset 5 (the value of 'x')");
  EXPECT_EQ(message("ok=1&%zz=2"),
            "bad percent-escape in the query at offset 5 (a parameter name)");
  EXPECT_EQ(message("a%0A=%"),
            "bad percent-escape in the query at offset 5 (the value of 'a\\x0a')");
  // A NUL is refused as in a page's signals: as text it could reach no page
  // (/todo?new=a%00b was a todo whose field never came back).
  EXPECT_EQ(message("q=1&new=a%00b"),
            "a NUL character (%00) in the query at offset 9 (the value of 'new')");
  EXPECT_EQ(message("%00=1"), "a NUL character (%00) in the query at offset 0 (a parameter name)");
  // An event's payload (EDN, which never goes back to the page) may hold one.
  EXPECT_EQ(parse_query("p=%22a%00%22").at("p"), std::string("\"a\0\"", 4));
}

// RFC 9110 §13.1.2: "*", a list, and weak comparison (nginx's gzip passes
// the tag on as W/"…", and a browser revalidates with that).
TEST(HttpUtil, IfNoneMatchComparesWeaklyAndTakesListsAndAStar) {
  const std::string_view etag = "\"6e98f3336531134c\"";
  EXPECT_TRUE(none_match_names("\"6e98f3336531134c\"", etag));
  EXPECT_TRUE(none_match_names("W/\"6e98f3336531134c\"", etag));
  EXPECT_TRUE(none_match_names("\"zz\", \"6e98f3336531134c\"", etag));
  EXPECT_TRUE(none_match_names("\"zz\",W/\"6e98f3336531134c\" ", etag));
  EXPECT_TRUE(none_match_names(" * ", etag));
  EXPECT_FALSE(none_match_names("\"6e98f3336531134\"", etag));
  EXPECT_FALSE(none_match_names("6e98f3336531134c", etag)) << "unquoted";
  EXPECT_FALSE(none_match_names("", etag));
  EXPECT_FALSE(none_match_names("\"zz\", *", etag)) << "* stands alone";
}

TEST(HttpUtil, Cookies) {
  using Values = std::vector<std::string_view>;
  EXPECT_EQ(cookie_values("a=1; stube-cv-1=ow-x;b=2", "stube-cv-1"), Values{"ow-x"});
  EXPECT_EQ(cookie_values("a=\"q\"", "a"), Values{"q"});
  EXPECT_EQ(cookie_values("xa=1; a=2", "a"), Values{"2"});
  EXPECT_EQ(cookie_values("a=1", "b"), Values{});
  EXPECT_EQ(cookie_values("", "b"), Values{});
  // One per matching Path and Domain, the longest Path first.
  EXPECT_EQ(cookie_values("a=planted; b=0; a=mine", "a"), (Values{"planted", "mine"}));
}

TEST(HttpUtil, DatesAreImfFixdates) {
  using std::chrono::seconds;
  using std::chrono::system_clock;
  // RFC 9110 §5.6.7's own example, then a leap day and the end of a year.
  EXPECT_EQ(http_date(system_clock::time_point(seconds(784111777))),
            "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(http_date(system_clock::time_point(seconds(951782400))),
            "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(http_date(system_clock::time_point(seconds(1798761599))),
            "Thu, 31 Dec 2026 23:59:59 GMT");
  const std::string now = http_date_now();
  EXPECT_EQ(now.size(), 29u) << now;
  EXPECT_TRUE(now.ends_with(" GMT")) << now;
}

TEST(HttpUtil, MountPaths) {
  for (const char* ok : {"/", "/counter", "/a/b-c_d.e~f"}) EXPECT_TRUE(valid_mount_path(ok)) << ok;
  for (const char* bad : {"", "counter", "/a/", "//a", "/a b", "/a/../b", "/.x", "/a?b"})
    EXPECT_FALSE(valid_mount_path(bad)) << bad;
}

TEST(Datastar, MorphFragmentIsMergedById) {
  std::string out;
  append_fragment(Fragment{"ix-1", Fragment::Mode::Morph, "<div id=\"ix-1\">a</div>"}, out);
  EXPECT_EQ(out, "event: datastar-merge-fragments\ndata: fragments <div id=\"ix-1\">a</div>\n\n");
}

TEST(Datastar, InnerFragmentReplacesTheTargetsContents) {
  std::string out;
  append_fragment(Fragment{"stube-error", Fragment::Mode::Inner, "<p>a</p>"}, out);
  EXPECT_EQ(out,
            "event: datastar-merge-fragments\ndata: selector #stube-error\ndata: mergeMode inner\n"
            "data: fragments <p>a</p>\n\n");
}

// The root's contents are morphed, so that Datastar sets up again elements
// with ids it has seen (see append_fragment).
TEST(Datastar, TheRootsContentsAreAMorphOfTheRoot) {
  std::string out;
  append_fragment(Fragment{"stube-root", Fragment::Mode::Inner, "<div id=\"ix-1\">\n</div>"}, out);
  EXPECT_EQ(out,
            "event: datastar-merge-fragments\n"
            "data: fragments <div id=\"stube-root\"><div id=\"ix-1\">\n"
            "data: fragments </div></div>\n\n");
}

TEST(Datastar, EveryLineOfHtmlIsItsOwnDataLine) {
  std::string out;
  append_fragment(Fragment{"x", Fragment::Mode::Morph, "<pre id=\"x\">a\nb\r\nc\rd\n</pre>"}, out);
  EXPECT_EQ(out,
            "event: datastar-merge-fragments\ndata: fragments <pre id=\"x\">a\ndata: fragments b\n"
            "data: fragments c\ndata: fragments d\ndata: fragments </pre>\n\n");
}

RC_GTEST_PROP(Datastar, NoLineBreakEscapesADataLine, (const std::string& html)) {
  std::string out;
  append_fragment(Fragment{"x", Fragment::Mode::Morph, html}, out);
  RC_ASSERT(out.substr(out.size() - 2) == "\n\n");
  const std::string body = out.substr(0, out.size() - 1);  // without the event's blank line
  std::size_t start = 0;
  int lines = 0;
  while (start < body.size()) {
    const std::size_t end = body.find('\n', start);
    const std::string line = body.substr(start, end - start);
    RC_ASSERT(line.find('\r') == std::string::npos);
    const bool well_formed = lines == 0 ? line == "event: datastar-merge-fragments"
                                        : line.rfind("data: fragments ", 0) == 0;
    RC_ASSERT(well_formed);
    ++lines;
    start = end + 1;
  }
}

TEST(Datastar, MergeSignalsAndRetry) {
  std::string out;
  append_merge_signals("{\"a\":1}", out);
  append_retry(std::chrono::milliseconds(500), out);
  EXPECT_EQ(out, "event: datastar-merge-signals\ndata: signals {\"a\":1}\n\nretry: 500\n\n");
}

TEST(Datastar, StaleAndErrorFragmentsTargetTheErrorElement) {
  const Fragment stale = stale_page_fragment();
  EXPECT_EQ(stale.target, "stube-error");
  EXPECT_NE(stale.html.find("id=\"stube-error\""), std::string::npos);
  EXPECT_NE(stale.html.find("stale"), std::string::npos);
  const Fragment err = error_fragment("bad <input>");
  EXPECT_NE(err.html.find("bad &lt;input&gt;"), std::string::npos) << err.html;
}

TEST(Shell, LoadsDatastarAndOpensTheStream) {
  const std::string page = render_shell(
      ShellPage{"/app", "cv-1", "demo/<x>", "<div id=\"ix-1\"></div>",
                std::chrono::milliseconds(2500), R"({"ix-1":{"note":"</script><b>"}})"});
  EXPECT_NE(page.find("<script type=\"module\" src=\"/app/_stube/datastar.js?v="),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("href=\"/app/_stube/stube.css?v="), std::string::npos);
  // stube's page script after Datastar's (modules run in document order).
  const std::size_t script = page.find("<script type=\"module\" src=\"/app/_stube/stube.js?v=");
  EXPECT_NE(script, std::string::npos) << page;
  EXPECT_GT(script, page.find("_stube/datastar.js"));
  // On an empty form, whose fields (none) are the stream's query: the
  // page's signals stay out of its URL.
  EXPECT_NE(
      page.find("<form id=\"stube-stream\" hidden data-on-load=\"@get(&#39;/app/sse/cv-1&#39;, "
                "{contentType: &#39;form&#39;, openWhenHidden: true"),
      std::string::npos)
      << page;
  // Before any module: the abort signal of the stream's @get, and the
  // keep-alive interval stube.js times the stream's silence by.
  const std::size_t inline_script = page.find(
      "<script>window.stubeStream = {abort: new AbortController(), keepAliveMs: 2500, "
      "live: false};");
  EXPECT_NE(inline_script, std::string::npos) << page;
  EXPECT_LT(inline_script, page.find("<body>"));
  EXPECT_NE(page.find("abort: window.stubeStream?.abort.signal})"), std::string::npos) << page;
  // The kept signals as data before the root (stube.js merges them): no
  // text of a signal closes the element.
  EXPECT_NE(page.find("<script type=\"application/json\" id=\"stube-signals\">"
                      R"({"ix-1":{"note":"\u003c/script>\u003cb>"}})"
                      "</script>\n<div id=\"stube-root\">"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("<div id=\"stube-root\"><div id=\"ix-1\"></div></div>"), std::string::npos);
  EXPECT_NE(page.find("<div id=\"stube-error\" role=\"alert\"></div>"), std::string::npos);
  EXPECT_NE(page.find("<title>demo/&lt;x&gt;</title>"), std::string::npos);
  // An icon of its own, empty: the browser asks for no /favicon.ico (a 404
  // logged in the console of every page).
  EXPECT_NE(page.find("<link rel=\"icon\" href=\"data:,\">"), std::string::npos);
}

// The cap's default: the soft descriptor limit less max(64, an eighth).
TEST(ConnectionLimit, TheDefaultLeavesAnEighthOfTheDescriptorsAndAtLeast64) {
  EXPECT_EQ(descriptor_reserve(100), 64u);
  EXPECT_EQ(descriptor_reserve(1024), 128u);
  EXPECT_EQ(connection_cap(std::nullopt, 100), 36u);
  EXPECT_EQ(connection_cap(std::nullopt, 512), 448u);
  EXPECT_EQ(connection_cap(std::nullopt, 1024), 896u);
  EXPECT_EQ(connection_cap(std::nullopt, 20000), 17500u);
  EXPECT_EQ(connection_cap(std::nullopt, 1048576), 917504u);
  constexpr auto kUnlimited = std::numeric_limits<std::uint64_t>::max();
  EXPECT_GT(connection_cap(std::nullopt, kUnlimited), std::size_t{1} << 31);
  // Too few descriptors for any connection: refused by name, not a cap of 0.
  for (const std::uint64_t limit : {0u, 1u, 64u}) {
    try {
      const std::size_t cap = connection_cap(std::nullopt, limit);
      ADD_FAILURE() << "limit " << limit << " gave a cap of " << cap;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string_view(e.what()).find("max_connections"), std::string_view::npos);
      EXPECT_NE(std::string_view(e.what()).find("RLIMIT_NOFILE"), std::string_view::npos);
    }
  }
}

// An explicit cap overrides the default, up to the limit less 64.
TEST(ConnectionLimit, AnExplicitCapMustLeave64Descriptors) {
  EXPECT_EQ(connection_cap(5, 1024), 5u);
  EXPECT_EQ(connection_cap(960, 1024), 960u);  // more than the default's 896
  EXPECT_EQ(connection_cap(1000000, std::numeric_limits<std::uint64_t>::max()), 1000000u);
  const auto refused = [](std::size_t requested, std::uint64_t limit, std::string_view why) {
    try {
      connection_cap(requested, limit);
      ADD_FAILURE() << requested << " under " << limit << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string_view(e.what()).find(why), std::string_view::npos) << e.what();
    }
  };
  refused(0, 1024, "max_connections must be at least 1");
  refused(961, 1024, "max_connections 961 needs 961 + 64 file descriptors");
  refused(1, 64, "max_connections 1 needs");
  refused(1, 10, "max_connections 1 needs");
}

// Read when asked: the soft limit, not the hard one. The soft limit is
// lowered by one here (lowering is always allowed), so that the two differ,
// then restored.
TEST(ConnectionLimit, TheDescriptorLimitIsTheSoftRlimit) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = saved.rlim_cur == RLIM_INFINITY ? 500 : saved.rlim_cur - 1;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  const std::uint64_t seen = descriptor_limit();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(seen, static_cast<std::uint64_t>(low.rlim_cur));
  const std::uint64_t restored = descriptor_limit();
  if (saved.rlim_cur == RLIM_INFINITY)
    EXPECT_EQ(restored, std::numeric_limits<std::uint64_t>::max());
  else
    EXPECT_EQ(restored, saved.rlim_cur);
}

TEST(ConnectionLimit, SlotsCountOpenConnectionsUpToTheCap) {
  std::atomic<std::size_t> open{0};
  {
    ConnectionSlot a = ConnectionSlot::take(open, 2);
    ConnectionSlot b = ConnectionSlot::take(open, 2);
    EXPECT_TRUE(a);
    EXPECT_TRUE(b);
    EXPECT_EQ(open.load(), 2u);
    EXPECT_FALSE(ConnectionSlot::take(open, 2)) << "over the cap";
    EXPECT_EQ(open.load(), 2u);
    ConnectionSlot moved = std::move(a);  // e.g. from an HttpSession to its SseStream
    EXPECT_EQ(open.load(), 2u);
    b = ConnectionSlot();  // closed
    EXPECT_EQ(open.load(), 1u);
    EXPECT_TRUE(ConnectionSlot::take(open, 2));  // taken and let go at once
    EXPECT_EQ(open.load(), 1u);
  }
  EXPECT_EQ(open.load(), 0u);
}

// One line at most a second, with every refusal counted in some line.
TEST(ConnectionLimit, RefusalsAreReportedAtMostOnceASecond) {
  using std::chrono::milliseconds;
  RefusalLog log;
  const auto t0 = RefusalLog::Clock::now();
  EXPECT_EQ(log.refused(t0), 1u) << "the first one at once";
  EXPECT_EQ(log.refused(t0 + milliseconds(10)), 0u);
  EXPECT_EQ(log.refused(t0 + milliseconds(900)), 0u);
  EXPECT_EQ(log.report_due(), t0 + milliseconds(1000));
  EXPECT_EQ(log.take_unreported(t0 + milliseconds(1000)), 2u) << "the rest a second later";
  EXPECT_EQ(log.take_unreported(t0 + milliseconds(1000)), 0u);
  EXPECT_EQ(log.refused(t0 + milliseconds(1500)), 0u) << "a second after that line";
  EXPECT_EQ(log.report_due(), t0 + milliseconds(2000));
  EXPECT_EQ(log.refused(t0 + milliseconds(2000)), 2u);
  EXPECT_EQ(refusal_message(2, 3),
            "server: refused 2 connection(s) with 503: the 3 of max_connections were open");
}

}  // namespace
}  // namespace stube::server
