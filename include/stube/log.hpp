// stube/log.hpp — a tiny logging facility.
//
// The library reports non-fatal events (a skipped save, an unreadable store
// record, a load summary) through one process-wide sink. The default sink
// writes one line per message to standard error; tests and applications can
// replace it, e.g. to capture warnings without redirecting file descriptor 2:
//
//   auto previous = stube::log::set_sink([](stube::log::Level, std::string_view msg) { ... });
//   ...
//   stube::log::set_sink(std::move(previous));
//
// Every call is thread-safe; the sink is called under a lock, one message at
// a time, so a sink need not be thread-safe itself. Once set_sink returns,
// the sink it replaced is no longer running (so what it refers to may go).
// A sink may call set_sink itself (the next message goes to the new one). Logging never throws: a
// sink that throws has the message written to stderr instead (with what it threw), and what a sink
// logs itself goes to stderr. Logging works until the process ends, also from destructors of static
// objects.
#pragma once

#include <functional>
#include <string_view>

namespace stube::log {

enum class Level { debug, info, warn, error };

// "debug", "info", "warn", "error".
std::string_view level_name(Level level) noexcept;

using Sink = std::function<void(Level, std::string_view message)>;

// Installs `sink` (an empty function restores the default stderr sink) and
// returns the one it replaces.
Sink set_sink(Sink sink);

// The default sink: writes "stube <level>: <message>\n" to stderr with a
// single write(2), so lines from several threads never interleave. Control
// characters in the message are escaped (\n, \r, \xNN), and so are NEL,
// U+2028, U+2029, the C1 controls and bytes that are not UTF-8 (\xNN each),
// so that user input quoted in a message cannot forge a line; a sink of
// your own gets the message as it is.
void stderr_sink(Level level, std::string_view message);

void write(Level level, std::string_view message) noexcept;
inline void debug(std::string_view message) noexcept {
  write(Level::debug, message);
}
inline void info(std::string_view message) noexcept {
  write(Level::info, message);
}
inline void warn(std::string_view message) noexcept {
  write(Level::warn, message);
}
inline void error(std::string_view message) noexcept {
  write(Level::error, message);
}

}  // namespace stube::log
