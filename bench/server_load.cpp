// server_load: a load generator for stube's HTTP/SSE server (any running
// stube-demo). It measures what a browser sees: the time from POSTing an
// event to the DOM patch arriving on the conversation's SSE stream.
//
//   server_load --port P --mode events  --conversations 50 --events 400 [--server-pid PID]
//   server_load --port P --mode streams --streams 1000 --concurrency 32 --total 20000 [--rate R]
//   server_load --port P --mode idle    --streams 10000 --server-pid PID [--rate R]
//   server_load --mode save-rate --store file:/tmp/x [--save-threads N]   (the store alone)
//   server_load --port P --mode interleaved --server-pid PID --store file
//               --alone-store file:/tmp/y --conversations 8 --events 250 --slices 10
//     (the server and the store alone taking turns, slice by slice)
//
// Every conversation is a /counter: each "inc" produces exactly one
// merge-fragments event on the stream, which is what the client waits for.
// Without --rate the senders run closed-loop (next event as soon as the last
// one's patch arrived: the throughput); with --rate they are paced to R
// events/s in all and latency counts from each event's scheduled send time,
// so a stall of the server is not hidden by the sender waiting for it.
// With --server-pid the CPU time of the server (from /proc) and of this
// process over the timed phase is reported per event: on a machine shared
// with other jobs that is steadier than the wall-clock rate.
// Prints one line of key=value results per run (bench/run_server_bench.sh
// collects them). Loopback only; every loop is bounded.
#include <sys/resource.h>
#include <unistd.h>

// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>:
// it must come first.
#include <utility>
// clang-format on
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "stube/conversation.hpp"
#include "stube/kernel.hpp"
#include "stube/store.hpp"

namespace net = boost::asio;
using net::awaitable;
using net::use_awaitable;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string mode = "events";
  unsigned short port = 8080;
  int conversations = 50;
  int save_threads = 1;  // save-rate: threads saving at once
  int slices = 10;       // interleaved: slices of each side
  int events = 400;
  int streams = 1000;
  int concurrency = 32;
  int total = 20000;
  long server_pid = 0;
  double rate = 0;  // events/s in all; 0: closed loop
  std::string store = "memory:";
  std::string alone_store;  // interleaved: the store saved to alone
  std::string path = "/counter";
};

// A connection with its own read buffer.
struct Conn {
  static constexpr std::size_t kChunk = 16384;
  tcp::socket sock;
  std::string buf;
  // Reads land here first: growing `buf` by a chunk to read into it would
  // zero-fill 16 KiB per read, a visible part of the loader's CPU.
  std::unique_ptr<char[]> chunk = std::make_unique_for_overwrite<char[]>(kChunk);
  explicit Conn(net::any_io_executor ex) : sock(std::move(ex)) {}
};

awaitable<void> connect(Conn& c, unsigned short port) {
  co_await c.sock.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                                use_awaitable);
  c.sock.set_option(tcp::no_delay(true));
}

// Appends what the socket has to the buffer, through the connection's own
// chunk: a large array local to a coroutine would be a heap allocation per
// call, and the loader's CPU counts in the results.
awaitable<void> read_more(Conn& c) {
  const std::size_t n =
      co_await c.sock.async_read_some(net::buffer(c.chunk.get(), Conn::kChunk), use_awaitable);
  c.buf.append(c.chunk.get(), n);
}

// Reads until `delim` is in the buffer; returns the position just past it.
awaitable<std::size_t> read_until(Conn& c, std::string_view delim, std::size_t from = 0) {
  for (;;) {
    if (auto p = c.buf.find(delim, from); p != std::string::npos) co_return p + delim.size();
    co_await read_more(c);
  }
}

struct Response {
  int status = 0;
  std::string head, body;
};

// One response with a Content-Length body (all of ours except streams).
awaitable<Response> read_response(Conn& c) {
  const std::size_t end = co_await read_until(c, "\r\n\r\n");
  Response r;
  r.head = c.buf.substr(0, end);
  r.status = std::stoi(r.head.substr(9, 3));
  std::size_t length = 0;
  // Beast writes "Content-Length: N"; no regex here, the loader's CPU counts.
  if (const std::size_t at = r.head.find("\r\nContent-Length: "); at != std::string::npos)
    length = std::stoul(r.head.substr(at + 18, 20));
  while (c.buf.size() < end + length) co_await read_more(c);
  r.body = c.buf.substr(end, length);
  c.buf.erase(0, end + length);
  co_return r;
}

struct Conversation {
  std::string cid, iid, cookie;
  std::unique_ptr<Conn> stream;
  std::size_t seen = 0;  // stream position already consumed
};

awaitable<Conversation> mint(Conn& http, const Options& o) {
  co_await net::async_write(
      http.sock, net::buffer("GET " + o.path + " HTTP/1.1\r\nHost: b\r\n\r\n"), use_awaitable);
  const Response r = co_await read_response(http);
  if (r.status != 200) throw std::runtime_error("mint: HTTP " + std::to_string(r.status));
  static const std::regex kCookie("Set-Cookie: (stube-(cv-[A-Za-z0-9_-]+)=[A-Za-z0-9_-]+)");
  static const std::regex kIid("id=\"(ix-[A-Za-z0-9_-]+)\"");
  std::smatch m;
  Conversation cv;
  if (!std::regex_search(r.head, m, kCookie)) throw std::runtime_error("mint: no owner cookie");
  cv.cookie = m[1];
  cv.cid = m[2];
  if (!std::regex_search(r.body, m, kIid)) throw std::runtime_error("mint: no instance id");
  cv.iid = m[1];
  co_return cv;
}

constexpr std::string_view kPatch = "event: datastar-merge-fragments";

awaitable<void> open_stream(Conversation& cv, const Options& o) {
  cv.stream = std::make_unique<Conn>(co_await net::this_coro::executor);
  co_await connect(*cv.stream, o.port);
  co_await net::async_write(cv.stream->sock,
                            net::buffer("GET /sse/" + cv.cid + " HTTP/1.1\r\nHost: b\r\nCookie: " +
                                        cv.cookie + "\r\n\r\n"),
                            use_awaitable);
  cv.seen = co_await read_until(*cv.stream, "<div id=\"stube-root\">");  // the first view
}

// One event: POST, its response, and the patch on the stream. Returns ms.
awaitable<double> one_event(Conn& http, Conversation& cv) {
  const std::string req = "POST /event/" + cv.cid + "/" + cv.iid +
                          "/inc HTTP/1.1\r\nHost: b\r\nCookie: " + cv.cookie +
                          "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
  const auto t0 = Clock::now();
  co_await net::async_write(http.sock, net::buffer(req), use_awaitable);
  const Response r = co_await read_response(http);
  if (r.status != 200)
    throw std::runtime_error("event: HTTP " + std::to_string(r.status) + "\n" + r.body);
  cv.seen = co_await read_until(*cv.stream, kPatch, cv.seen);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  // Keep the stream buffer small: drop what has been consumed.
  cv.stream->buf.erase(0, cv.seen);
  cv.seen = 0;
  co_return ms;
}

struct Stats {
  std::vector<double> ms;
  void add(double v) { ms.push_back(v); }
  // Nearest rank: the smallest value with at least p of them at or below it,
  // index ceil(p n) - 1. (The epsilon keeps 0.07 * 100 = 7.000000000000001
  // at rank 7.)
  double pct(double p) {
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    const double rank = std::ceil(p * static_cast<double>(ms.size()) - 1e-9);
    return ms[static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(ms.size()))) - 1];
  }
};

long rss_kib(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// CPU seconds (user + system) of this process, and of the server.
double self_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double process_cpu_s(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the ")" that ends the command name: state is field 3,
  // utime and stime are fields 14 and 15.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i >= 14) ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// The file store's closer threads in process `pid` (/proc/PID/task/TID), by
// the name src/store/deferred_close.cpp gives them.
std::vector<std::filesystem::path> find_closers(long pid) {
  std::vector<std::filesystem::path> closers;
  std::error_code ec;  // a process gone has no closers
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name) && name == "stube-closer") closers.push_back(task.path());
  }
  return closers;
}

// One look at a thread (its /proc status): its state letter, and how often
// it has been switched out; 0 and 0 once it is gone.
struct ThreadLook {
  char state = 0;
  long switches = 0;
  bool operator==(const ThreadLook&) const = default;
  bool idle() const { return state == 'S' || state == 0; }  // asleep, or gone
};

ThreadLook look_at(const std::filesystem::path& task) {
  ThreadLook look;
  std::ifstream in(task / "status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("State:", 0) == 0 && line.size() > 7)
      look.state = line[line.find_first_not_of(" \t", 6)];
    else if (const auto at = line.find("ctxt_switches:"); at != std::string::npos)
      look.switches += std::stol(line.substr(at + 14));
  }
  return look;
}

std::vector<ThreadLook> look_at(const std::vector<std::filesystem::path>& tasks) {
  std::vector<ThreadLook> looks;
  for (const auto& task : tasks) looks.push_back(look_at(task));
  return looks;
}

// When the work of a slice was over, and the CPU this thread spent finding
// out (not the work's).
struct Settled {
  Clock::time_point at;
  double looking_cpu_s = 0;
};

// Waits until the file store's closers in process `pid` are idle. A save
// hands the replaced file to the closer (up to 1024 of them queued), and
// releasing one can take a while (a trim, on a discard-mounted disk): that
// is the saves' work, and still running, it would slow the other side's
// next slice. Idle is asleep ('S') at two looks 1 ms apart without having
// run in between; the work was over at the first of them, which is the
// time returned. No closer thread: nothing was deferred. The closers are
// found once, so that each look reads one small file per closer.
Settled wait_for_closers(long pid) {
  using namespace std::chrono_literals;
  const double cpu0 = thread_cpu_s();
  const auto give_up = Clock::now() + 60s;
  const auto closers = find_closers(pid);
  Clock::time_point at = Clock::now();
  std::vector<ThreadLook> before = look_at(closers);
  while (!closers.empty()) {
    std::this_thread::sleep_for(1ms);
    const Clock::time_point now = Clock::now();
    std::vector<ThreadLook> after = look_at(closers);
    if (std::ranges::all_of(before, &ThreadLook::idle) && after == before) break;
    if (now > give_up) throw std::runtime_error("the store's closer was busy for 60 s");
    at = now;
    before = std::move(after);
  }
  return {at, thread_cpu_s() - cpu0};
}

// CPU time spent by the loader and the server over a timed phase.
struct CpuMeter {
  long server_pid;
  double self0 = self_cpu_s();
  double server0 = server_pid > 0 ? process_cpu_s(server_pid) : 0;
  explicit CpuMeter(long pid) : server_pid(pid) {}
  // " loader_cpu_us=… server_cpu_us=… cpu_us=…" per event, and the rate
  // that many microseconds of CPU allow on all this machine's cores.
  std::string per_event(std::size_t n) const {
    const double self = (self_cpu_s() - self0) * 1e6 / static_cast<double>(n);
    if (server_pid <= 0) return " loader_cpu_us=" + std::to_string(self);
    const double server = (process_cpu_s(server_pid) - server0) * 1e6 / static_cast<double>(n);
    char buf[200];
    std::snprintf(
        buf, sizeof buf, " loader_cpu_us=%.1f server_cpu_us=%.1f cpu_bound_events_per_s=%.0f", self,
        server, static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)) * 1e6 / (self + server));
    return buf;
  }
};

void report(const std::string& what, std::size_t n, double seconds, Stats& s,
            const std::string& extra = "") {
  std::printf(
      "%s events=%zu seconds=%.3f events_per_s=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f%s\n",
      what.c_str(), n, seconds, static_cast<double>(n) / seconds, s.pct(0.50), s.pct(0.99),
      s.pct(1.0), extra.c_str());
  std::fflush(stdout);
}

// Runs `body` on a fresh io_context until it finishes; rethrows its error.
template <class F>
void run(F body) {
  net::io_context ioc(1);
  std::exception_ptr error;
  net::co_spawn(ioc, body(), [&](std::exception_ptr e) { error = e; });
  ioc.run();
  if (error) std::rethrow_exception(error);
}

// Mints n conversations (and opens their streams), `parallel` at a time.
awaitable<std::vector<Conversation>> mint_many(const Options& o, int n, int parallel,
                                               bool streams) {
  std::vector<Conversation> all(static_cast<std::size_t>(n));
  auto ex = co_await net::this_coro::executor;
  int next = 0, done = 0;
  std::exception_ptr failure;
  net::steady_timer finished(ex, Clock::time_point::max());
  for (int w = 0; w < std::min(parallel, n); ++w) {
    net::co_spawn(
        ex,
        [&]() -> awaitable<void> {
          Conn http(co_await net::this_coro::executor);
          co_await connect(http, o.port);
          while (next < n) {
            Conversation& cv = all[static_cast<std::size_t>(next++)];
            cv = co_await mint(http, o);
            if (streams) co_await open_stream(cv, o);
          }
        },
        [&](std::exception_ptr e) {
          if (e && !failure) failure = e;
          if (++done == std::min(parallel, n)) finished.cancel();
        });
  }
  try {
    co_await finished.async_wait(use_awaitable);
  } catch (const boost::system::system_error&) {
  }
  if (failure) std::rethrow_exception(failure);
  co_return all;
}

// `workers` senders share the conversations round robin until `total` events.
// With `rate` > 0 each sender is paced to rate/workers events/s and an
// event's latency counts from its scheduled time (no coordinated omission).
awaitable<void> drive(const Options& o, std::vector<Conversation>& convs, int workers, int total,
                      Stats& stats, double rate = 0) {
  auto ex = co_await net::this_coro::executor;
  int sent = 0, done = 0;
  std::exception_ptr failure;
  net::steady_timer finished(ex, Clock::time_point::max());
  workers = std::min<int>(workers, static_cast<int>(convs.size()));
  const auto start = Clock::now();
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(rate > 0 ? workers / rate : 0));
  for (int w = 0; w < workers; ++w) {
    net::co_spawn(
        ex,
        [&, w]() -> awaitable<void> {
          Conn http(co_await net::this_coro::executor);
          co_await connect(http, o.port);
          net::steady_timer pace(http.sock.get_executor());
          // Worker w owns conversations w, w+workers, ...: one event in flight per conversation.
          std::size_t i = static_cast<std::size_t>(w);
          // Stagger the paced senders evenly over one interval.
          Clock::time_point due = start + interval * w / workers;
          while (sent < total) {
            ++sent;
            double late_ms = 0;
            if (rate > 0) {
              pace.expires_at(due);
              co_await pace.async_wait(use_awaitable);
              late_ms = std::chrono::duration<double, std::milli>(Clock::now() - due).count();
              due += interval;
            }
            stats.add(late_ms + co_await one_event(http, convs[i]));
            i += static_cast<std::size_t>(workers);
            if (i >= convs.size()) i = static_cast<std::size_t>(w);
          }
        },
        [&](std::exception_ptr e) {
          if (e && !failure) failure = e;
          if (++done == workers) finished.cancel();
        });
  }
  try {
    co_await finished.async_wait(use_awaitable);
  } catch (const boost::system::system_error&) {
  }
  if (failure) std::rethrow_exception(failure);
}

void events_mode(const Options& o) {
  run([&]() -> awaitable<void> {
    auto convs = co_await mint_many(o, o.conversations, 16, true);
    Stats warm;
    co_await drive(o, convs, o.conversations, std::min(2000, o.conversations * 10), warm);
    Stats stats;
    const CpuMeter cpu(o.server_pid);
    const auto t0 = Clock::now();
    co_await drive(o, convs, o.conversations, o.conversations * o.events, stats);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    report("mode=events store=" + stube::redact_store_url(o.store), stats.ms.size(), s, stats,
           " conversations=" + std::to_string(o.conversations) + cpu.per_event(stats.ms.size()));
  });
}

void streams_mode(const Options& o) {
  run([&]() -> awaitable<void> {
    auto convs = co_await mint_many(o, o.streams, 32, true);
    Stats warm;
    co_await drive(o, convs, o.concurrency, 2000, warm);
    Stats stats;
    const CpuMeter cpu(o.server_pid);
    const auto t0 = Clock::now();
    co_await drive(o, convs, o.concurrency, o.total, stats, o.rate);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    report("mode=streams store=" + stube::redact_store_url(o.store), stats.ms.size(), s, stats,
           " open_streams=" + std::to_string(convs.size()) +
               " concurrency=" + std::to_string(o.concurrency) + " rate=" +
               std::to_string(static_cast<long>(o.rate)) + cpu.per_event(stats.ms.size()));
  });
}

void idle_mode(const Options& o) {
  if (o.server_pid <= 0) throw std::invalid_argument("--mode idle needs --server-pid");
  run([&]() -> awaitable<void> {
    const long rss0 = rss_kib(o.server_pid);
    auto convs = co_await mint_many(o, o.streams, 32, false);
    const long rss1 = rss_kib(o.server_pid);
    const auto t0 = Clock::now();
    std::vector<Conversation> streamed(convs.size());
    // Open every stream (32 at a time).
    {
      auto ex = co_await net::this_coro::executor;
      int next = 0, done = 0;
      std::exception_ptr failure;
      net::steady_timer finished(ex, Clock::time_point::max());
      for (int w = 0; w < 32; ++w)
        net::co_spawn(
            ex,
            [&]() -> awaitable<void> {
              while (next < static_cast<int>(convs.size()))
                co_await open_stream(convs[static_cast<std::size_t>(next++)], o);
            },
            [&](std::exception_ptr e) {
              if (e && !failure) failure = e;
              if (++done == 32) finished.cancel();
            });
      try {
        co_await finished.async_wait(use_awaitable);
      } catch (const boost::system::system_error&) {
      }
      if (failure) std::rethrow_exception(failure);
    }
    const double open_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const long rss2 = rss_kib(o.server_pid);
    // Still responsive: events on fresh conversations while all streams stay open.
    auto fresh = co_await mint_many(o, 20, 4, true);
    Stats stats;
    const CpuMeter cpu(o.server_pid);
    const auto t1 = Clock::now();
    co_await drive(o, fresh, 20, o.total, stats, o.rate);
    const double s = std::chrono::duration<double>(Clock::now() - t1).count();
    char extra[256];
    std::snprintf(extra, sizeof extra,
                  " open_streams=%zu open_seconds=%.2f rss_base_kib=%ld kib_per_conversation=%.2f "
                  "kib_per_stream=%.2f",
                  convs.size(), open_s, rss0,
                  static_cast<double>(rss1 - rss0) / static_cast<double>(convs.size()),
                  static_cast<double>(rss2 - rss1) / static_cast<double>(convs.size()));
    report("mode=idle store=" + stube::redact_store_url(o.store), stats.ms.size(), s, stats,
           std::string(extra) + cpu.per_event(stats.ms.size()));
  });
}

// The store alone: counter conversations shaped like the ones the server
// saves (same component state, full history), saved in a loop. Removes them
// again when done.
class StoreAlone {
 public:
  StoreAlone(const std::string& url, int conversations) : store_(stube::open_store(url)) {
    using namespace stube::edn::literals;
    stube::Registry reg;
    reg.define("demo/counter")
        .init([](const stube::edn::Value&) {
          return stube::edn::map({{"count"_kw, 0}});
        })
        .render([](const stube::Self& s) { return stube::html::span(s[":count"]); })
        .on("inc", [](stube::Self& s) { s.set("count", s[":count"].as_int() + 1); });
    stube::KernelOptions kopts;
    for (int c = 0; c < conversations; ++c) {
      stube::Step step = stube::start_conversation(reg, "demo/counter", {}, kopts);
      // The server stores the owner token from the start, so every history
      // snapshot carries it too.
      step.conv = step.conv.assoc("stube/owner"_kw, stube::conv::mint_id("ow-"));
      const std::string iid(stube::top_instance(step.conv));
      for (int i = 0; i < 25; ++i)
        step = stube::dispatch(reg, step.conv, iid, {"inc", {}, {}}, kopts);
      convs_.push_back(step.conv);
    }
  }
  StoreAlone(const StoreAlone&) = delete;
  StoreAlone& operator=(const StoreAlone&) = delete;
  ~StoreAlone() {
    try {
      for (const auto& cv : convs_) store_->remove(stube::conv::id(cv));
    } catch (const std::exception& e) {
      std::cerr << "server_load: cleaning up the store alone: " << e.what() << '\n';
    }
  }

  // n saves; thread t saves conversations t, t + threads, ...: one save in
  // flight per thread, as one per worker in the server. Returns when the
  // saving threads are done; the store's closer may still be at work (see
  // wait_for_closers).
  void save(int n, int threads) {
    std::vector<std::thread> savers;
    for (int t = 0; t < threads; ++t)
      savers.emplace_back([&, t] {
        for (int i = t; i < n; i += threads)
          store_->save(stube::conv::touch(convs_[static_cast<std::size_t>(i) % convs_.size()]));
      });
    for (auto& t : savers) t.join();
  }
  std::size_t bytes() const { return stube::edn::write(convs_.front()).size(); }

 private:
  std::shared_ptr<stube::ConversationStore> store_;
  std::vector<stube::edn::Value> convs_;
};

void save_rate_mode(const Options& o) {
  StoreAlone alone(o.store, o.conversations);
  const int n = o.conversations * o.events;
  const auto t0 = Clock::now();
  const double cpu0 = self_cpu_s();
  alone.save(n, o.save_threads);
  // The releases the saves left to the closer are theirs: on the clock.
  const Settled end = wait_for_closers(::getpid());
  const double cpu_us = (self_cpu_s() - cpu0 - end.looking_cpu_s) * 1e6 / n;
  const double s = std::chrono::duration<double>(end.at - t0).count();
  std::printf(
      "mode=save-rate store=%s saves=%d seconds=%.3f saves_per_s=%.0f cpu_us=%.1f "
      "bytes_per_conversation=%zu\n",
      stube::redact_store_url(o.store).c_str(), n, s, n / s, cpu_us, alone.bytes());
  std::fflush(stdout);
}

// The machine's CPU ticks (/proc/stat): all of them, and those busy (neither
// idle nor waiting on I/O).
struct MachineTicks {
  double total = 0, busy = 0;
  static MachineTicks now() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    in >> cpu;
    MachineTicks t;
    double v = 0;
    for (int i = 0; i < 8 && in >> v; ++i) {
      t.total += v;
      if (i != 3 && i != 4) t.busy += v;  // fields 4 and 5: idle, iowait
    }
    return t;
  }
};

// What one side of the interleaved comparison used, summed over its slices.
struct Side {
  struct Mark {
    MachineTicks machine;
    double self_cpu, pid_cpu;
    Clock::time_point time;
  };
  double seconds = 0, cpu_s = 0, loader_cpu_s = 0;
  MachineTicks ticks;
  std::vector<double> rates;  // per slice
  int count = 0;

  static Mark mark(long pid) {
    return {MachineTicks::now(), self_cpu_s(), pid > 0 ? process_cpu_s(pid) : 0, Clock::now()};
  }
  // Adds the slice begun at `m` and over at `end` (wait_for_closers, whose
  // looking is left out): n operations, done by process `pid` (the server,
  // driven by this loader) or, with pid 0, by this process. The CPU times
  // are read after the wait, so they hold the closer's.
  void add(const Mark& m, const Settled& end, int n, long pid) {
    const double s = std::chrono::duration<double>(end.at - m.time).count();
    const MachineTicks now = MachineTicks::now();
    const double self = self_cpu_s() - m.self_cpu - end.looking_cpu_s;
    seconds += s;
    count += n;
    rates.push_back(n / s);
    ticks.total += now.total - m.machine.total;
    ticks.busy += now.busy - m.machine.busy;
    if (pid > 0) {
      cpu_s += process_cpu_s(pid) - m.pid_cpu;
      loader_cpu_s += self;
    } else {
      cpu_s += self;
    }
  }
  double rate() const { return count / seconds; }
  double us_per_op(double cpu) const { return cpu * 1e6 / count; }
  double busy_pct() const { return ticks.total > 0 ? 100 * ticks.busy / ticks.total : 0; }
};

// The server on a file store against the same store alone, in short slices
// that take turns (which side goes first alternates). A shared disk has
// spells, seconds long, in which a save costs a third or three times what
// it did; rounds of a few seconds each often put the two sides in different
// spells, slices of a fraction of a second put both in the same ones.
void interleaved_mode(const Options& o) {
  if (o.server_pid <= 0 || o.alone_store.empty())
    throw std::invalid_argument("--mode interleaved needs --server-pid and --alone-store");
  StoreAlone alone(o.alone_store, o.conversations);
  run([&]() -> awaitable<void> {
    auto convs = co_await mint_many(o, o.conversations, 16, true);
    const int warm = std::min(2000, o.conversations * 10);
    Stats warm_stats;
    co_await drive(o, convs, o.conversations, warm, warm_stats);
    alone.save(warm, o.save_threads);
    // Each slice ends when its side's closer is idle (wait_for_closers), so
    // neither side's releases run on into the other's slice; the first
    // slice starts so too.
    wait_for_closers(o.server_pid);
    wait_for_closers(::getpid());

    const int n = o.conversations * o.events;
    Side server, store;
    Stats stats;
    std::vector<double> pair_ratios;
    for (int slice = 0; slice < o.slices; ++slice) {
      for (int turn = 0; turn < 2; ++turn) {
        if ((turn == 0) == (slice % 2 == 0)) {
          const auto m = Side::mark(o.server_pid);
          co_await drive(o, convs, o.conversations, n, stats);
          server.add(m, wait_for_closers(o.server_pid), n, o.server_pid);
        } else {
          const auto m = Side::mark(0);
          alone.save(n, o.save_threads);
          store.add(m, wait_for_closers(::getpid()), n, 0);
        }
      }
      pair_ratios.push_back(100 * server.rates.back() / store.rates.back());
    }
    std::sort(pair_ratios.begin(), pair_ratios.end());
    const double server_us = server.us_per_op(server.cpu_s);
    const double loader_us = server.us_per_op(server.loader_cpu_s);
    char extra[512];
    std::snprintf(
        extra, sizeof extra,
        " conversations=%d slices=%d loader_cpu_us=%.1f server_cpu_us=%.1f "
        "cpu_bound_events_per_s=%.0f server_busy_pct=%.0f saves=%d saves_per_s=%.0f "
        "save_cpu_us=%.1f save_busy_pct=%.0f ratio_pct=%.0f slice_ratio_min=%.0f "
        "slice_ratio_median=%.0f slice_ratio_max=%.0f bytes_per_conversation=%zu",
        o.conversations, o.slices, loader_us, server_us,
        static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)) * 1e6 / (server_us + loader_us),
        server.busy_pct(), store.count, store.rate(), store.us_per_op(store.cpu_s),
        store.busy_pct(), 100 * server.rate() / store.rate(), pair_ratios.front(),
        pair_ratios[pair_ratios.size() / 2], pair_ratios.back(), alone.bytes());
    report("mode=interleaved store=" + stube::redact_store_url(o.store), stats.ms.size(),
           server.seconds, stats, extra);
  });
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--mode")
      o.mode = next();
    else if (a == "--port")
      o.port = static_cast<unsigned short>(std::stoi(next()));
    else if (a == "--conversations")
      o.conversations = std::stoi(next());
    else if (a == "--save-threads")
      o.save_threads = std::max(1, std::stoi(next()));
    else if (a == "--events")
      o.events = std::stoi(next());
    else if (a == "--streams")
      o.streams = std::stoi(next());
    else if (a == "--concurrency")
      o.concurrency = std::stoi(next());
    else if (a == "--total")
      o.total = std::stoi(next());
    else if (a == "--server-pid")
      o.server_pid = std::stol(next());
    else if (a == "--store")
      o.store = next();
    else if (a == "--alone-store")
      o.alone_store = next();
    else if (a == "--slices")
      o.slices = std::max(1, std::stoi(next()));
    else if (a == "--rate")
      o.rate = std::stod(next());
    else if (a == "--path")
      o.path = next();
    else
      throw std::invalid_argument("unknown option " + a);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
    }
    const Options o = parse(argc, argv);
    if (o.mode == "events")
      events_mode(o);
    else if (o.mode == "streams")
      streams_mode(o);
    else if (o.mode == "idle")
      idle_mode(o);
    else if (o.mode == "save-rate")
      save_rate_mode(o);
    else if (o.mode == "interleaved")
      interleaved_mode(o);
    else
      throw std::invalid_argument("unknown mode " + o.mode);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "server_load: " << e.what() << '\n';
    return 1;
  }
}
