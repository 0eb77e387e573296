// One thread that fires delayed callbacks in deadline order. Internal.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace stube::detail {

class TimerQueue {
 public:
  using Clock = std::chrono::steady_clock;
  TimerQueue();
  ~TimerQueue();  // stop()
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Runs fn on the timer thread after delay, unless cancelled first. `owner`
  // groups timers for cancel(owner) (the runtime uses the cid); `tag` is the
  // caller's, for cancel_if (the runtime's: the timer's moment, which fn
  // keeps alive). A negative delay counts as 0, and one beyond about a
  // century as a century.
  void schedule(std::chrono::milliseconds delay, std::string owner, std::function<void()> fn,
                const void* tag = nullptr);
  void cancel(const std::string& owner);
  // Cancels the timers of `owner` whose tag `doomed` says yes to.
  void cancel_if(const std::string& owner, bool (*doomed)(const void* tag));
  // Cancels everything, waits for a running callback, joins the thread.
  void stop();

 private:
  struct Entry {
    std::string owner;
    std::function<void()> fn;
    const void* tag;
  };
  using Queue = std::multimap<Clock::time_point, Entry>;
  void run();
  static void fire(const std::function<void()>& fn) noexcept;

  std::mutex mu_;
  std::condition_variable cv_;
  Queue queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace stube::detail
