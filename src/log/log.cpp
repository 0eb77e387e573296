// The process-wide log sink.
#include "stube/log.hpp"

#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string>
#include <utility>

namespace stube::log {

namespace {

std::mutex& sink_mutex() {
  static std::mutex m;
  return m;
}

// Guarded by sink_mutex(). Empty means "the default sink".
Sink& current_sink() {
  static Sink sink;
  return sink;
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
  std::lock_guard lock(sink_mutex());
  return std::exchange(current_sink(), std::move(sink));
}

// Control characters escaped: a message may quote user input (a handler's
// exception text), and a raw newline in it would forge a log line.
void append_escaped(std::string_view message, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += '\t';
    } else {
      out.append("\\x").push_back(kHex[u >> 4]);
      out += kHex[u & 15];
    }
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
  thread_local bool in_sink = false;
  // Set only by the call that holds the lock and calls the sink, and
  // cleared only by it, whatever is thrown.
  struct InSink {
    InSink() noexcept { in_sink = true; }
    ~InSink() { in_sink = false; }
  };
  try {
    if (in_sink) return stderr_sink(level, message);
    std::lock_guard lock(sink_mutex());
    const Sink& sink = current_sink();
    if (!sink) return stderr_sink(level, message);
    const InSink calling;
    try {
      sink(level, message);
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
