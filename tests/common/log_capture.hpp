// LogCapture: every stube log message while alive, for tests that check
// what was logged (or keep expected warnings out of the test output).
#pragma once

#include <chrono>
#include <condition_variable>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stube/log.hpp"

namespace stube::test {

class LogCapture {
 public:
  LogCapture() {
    previous_ = log::set_sink([this](log::Level level, std::string_view msg) {
      std::lock_guard lock(mu_);
      messages_.emplace_back(level, std::string(msg));
      logged_.notify_all();
    });
  }
  ~LogCapture() { log::set_sink(std::move(previous_)); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::pair<log::Level, std::string>> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  // The messages of one level, in the order they were logged.
  std::vector<std::string> at(log::Level level) const {
    std::lock_guard lock(mu_);
    return at_locked(level);
  }
  // True when a message of `level` contains every one of `parts`.
  bool has(log::Level level, std::initializer_list<std::string_view> parts) const {
    return any_has(at(level), parts);
  }
  // Waits up to `timeout` until has(level, parts); returns whether it did.
  bool wait_for_line(log::Level level, std::initializer_list<std::string_view> parts,
                     std::chrono::milliseconds timeout) const {
    return wait_for(
        level, [&](const std::vector<std::string>& lines) { return any_has(lines, parts); },
        timeout);
  }
  // Waits up to `timeout` until `done(at(level))` holds; returns whether it did.
  template <class Pred>
  bool wait_for(log::Level level, Pred done, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return logged_.wait_for(lock, timeout, [&] { return done(at_locked(level)); });
  }
  void clear() {
    std::lock_guard lock(mu_);
    messages_.clear();
  }

 private:
  static bool any_has(const std::vector<std::string>& lines,
                      std::initializer_list<std::string_view> parts) {
    for (const std::string& m : lines) {
      bool all = true;
      for (std::string_view p : parts) all = all && m.find(p) != std::string::npos;
      if (all) return true;
    }
    return false;
  }
  std::vector<std::string> at_locked(log::Level level) const {
    std::vector<std::string> out;
    for (const auto& [l, m] : messages_)
      if (l == level) out.push_back(m);
    return out;
  }

  mutable std::mutex mu_;
  mutable std::condition_variable logged_;
  std::vector<std::pair<log::Level, std::string>> messages_;
  log::Sink previous_;
};

}  // namespace stube::test
