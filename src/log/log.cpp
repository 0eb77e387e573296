// The process-wide log sink.
#include "stube/log.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "edn/utf8.hpp"

namespace stube::log {

namespace {

// Leaked on purpose: a destructor of a static object may log during exit,
// after function-local statics destroyed in their turn would be gone.
struct State {
  std::mutex config;                 // guards `sink`; never held while a sink runs
  std::mutex calls;                  // held while a sink runs: one message at a time
  std::shared_ptr<const Sink> sink;  // null: the default sink
};

// A child forked while another thread held a lock here would wait for it
// for good (no thread of the child will release it): the fork waits for
// the message being written, and the child starts with both free.
void lock_for_fork() noexcept;
void unlock_after_fork() noexcept;

State& state() {
  static State* s = [] {
    auto* made = new State;
    ::pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
    return made;
  }();
  return *s;
}

// Whether this thread is running a sink (and so holds `calls`).
thread_local bool in_sink = false;
// Whether lock_for_fork took `calls` (not when a sink forks: it holds it).
thread_local bool calls_locked_for_fork = false;

void lock_for_fork() noexcept {
  calls_locked_for_fork = !in_sink;
  if (calls_locked_for_fork) state().calls.lock();
  state().config.lock();
}

void unlock_after_fork() noexcept {
  state().config.unlock();
  if (calls_locked_for_fork) state().calls.unlock();
}

}  // namespace

std::string_view level_name(Level level) noexcept {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "log";
}

Sink set_sink(Sink sink) {
  auto next = sink ? std::make_shared<const Sink>(std::move(sink)) : nullptr;
  std::shared_ptr<const Sink> previous;
  // Once set_sink returns, the sink it replaced is not running any more
  // (a capture may then go away), so it waits for a call in progress;
  // unless it is that call itself (a sink that replaces itself), which
  // would wait for ever.
  std::unique_lock<std::mutex> calls;
  if (!in_sink) calls = std::unique_lock(state().calls);
  {
    std::lock_guard lock(state().config);
    previous = std::exchange(state().sink, std::move(next));
  }
  return previous ? *previous : Sink();
}

// Control characters escaped: a message may quote user input (a handler's
// exception text), and a raw newline in it would forge a log line. So are
// the other characters a reader may take for a line break (NEL, U+2028,
// U+2029), the C1 controls (0x9B is CSI on an 8-bit terminal) and bytes
// that are not UTF-8.
void append_escaped(std::string_view message, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto hex = [&](unsigned char u) {
    out.append("\\x").push_back(kHex[u >> 4]);
    out += kHex[u & 15];
  };
  const char* p = message.data();
  const char* const end = p + message.size();
  while (p != end) {
    const auto u = static_cast<unsigned char>(*p);
    if (u >= 0x20 && u < 0x7f) {
      out += *p++;
      continue;
    }
    if (u < 0x80) {
      if (u == '\n')
        out += "\\n";
      else if (u == '\r')
        out += "\\r";
      else if (u == '\t')
        out += '\t';
      else
        hex(u);
      ++p;
      continue;
    }
    const std::size_t n = edn::detail::utf8_sequence_length(p, end);
    const std::string_view seq(p, n);
    if (n == 0) {
      hex(u);
      ++p;
      continue;
    }
    const char32_t c = edn::detail::decode_utf8(seq);
    if ((c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029) {
      for (const char b : seq) hex(static_cast<unsigned char>(b));
    } else {
      out.append(seq);
    }
    p += n;
  }
}

void stderr_sink(Level level, std::string_view message) {
  std::string line;
  line.reserve(message.size() + 16);
  line.append("stube ").append(level_name(level)).append(": ");
  append_escaped(message, line);
  line.push_back('\n');
  // A short write to stderr is retried; any other failure has nowhere to go.
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void write(Level level, std::string_view message) noexcept {
  // Logging happens in error paths and destructors: it must not throw, and
  // a sink that logs itself would wait for ever on the lock it holds. Its
  // messages go to stderr instead.
  // Set only by the call that holds the lock and calls the sink, and
  // cleared only by it, whatever is thrown.
  struct InSink {
    InSink() noexcept { in_sink = true; }
    ~InSink() { in_sink = false; }
  };
  try {
    if (in_sink) return stderr_sink(level, message);
    std::lock_guard calls(state().calls);
    std::shared_ptr<const Sink> sink;
    {
      // Not held while the sink runs: a sink may install another one.
      std::lock_guard lock(state().config);
      sink = state().sink;
    }
    if (!sink) return stderr_sink(level, message);
    const InSink calling;
    try {
      (*sink)(level, message);
    } catch (const std::exception& e) {
      stderr_sink(level, message);
      stderr_sink(Level::error, std::string("log sink threw: ") + e.what());
    } catch (...) {
      stderr_sink(level, message);
      stderr_sink(Level::error, "log sink threw a non-standard exception");
    }
  } catch (...) {  // no memory for the line, or the lock failed: nowhere to say so
  }
}

}  // namespace stube::log
