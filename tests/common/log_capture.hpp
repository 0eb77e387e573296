// LogCapture: every stube log message while alive, for tests that check
// what was logged (or keep expected warnings out of the test output).
#pragma once

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
    std::vector<std::string> out;
    for (const auto& [l, m] : messages_)
      if (l == level) out.push_back(m);
    return out;
  }
  // True when a message of `level` contains every one of `parts`.
  bool has(log::Level level, std::initializer_list<std::string_view> parts) const {
    for (const std::string& m : at(level)) {
      bool all = true;
      for (std::string_view p : parts) all = all && m.find(p) != std::string::npos;
      if (all) return true;
    }
    return false;
  }
  void clear() {
    std::lock_guard lock(mu_);
    messages_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<log::Level, std::string>> messages_;
  log::Sink previous_;
};

}  // namespace stube::test
