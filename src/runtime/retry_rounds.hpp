// Retries in rounds on the timer thread, backing off while they fail.
// Internal to the runtime.
//
// What failed against the store (a remove, a save) is tried again in
// rounds: the first a second after request(), then, while a round leaves
// work undone (the store is still down), doubling up to a minute apart, so
// that an outage costs a few attempts a minute. A request made while a round
// runs books another, so nothing requested is missed.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>

#include "runtime/timers.hpp"

namespace stube::detail {

class RetryRounds {
 public:
  // `round` runs on the timer thread and answers whether it left nothing
  // undone; it logs its own failures. `timers` must be stopped before this
  // is destroyed. The delays are for tests.
  RetryRounds(TimerQueue& timers, std::function<bool()> round,
              std::chrono::milliseconds first = std::chrono::seconds(1),
              std::chrono::milliseconds longest = std::chrono::minutes(1))
      : timers_(timers), round_(std::move(round)), first_(first), longest_(longest) {}

  // Books a round (in a second) unless one is booked or running; a running
  // round is followed by another.
  void request();

 private:
  void book(std::chrono::milliseconds delay);  // with mu_ held
  void on_timer();

  TimerQueue& timers_;
  const std::function<bool()> round_;
  const std::chrono::milliseconds first_, longest_;
  std::mutex mu_;
  std::chrono::milliseconds delay_{0};  // 0: no round booked or running
  bool again_ = false;                  // requested since the running round began
};

}  // namespace stube::detail
