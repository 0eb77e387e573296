// The timer queue on its own: deadlines at the edges of the clock.
#include "runtime/timers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <thread>

#include "runtime/support.hpp"

namespace stube::test {
namespace {

// A delay in milliseconds overflowed the clock's nanoseconds (undefined; in
// practice a deadline in the past), so "in a thousand years" fired at once.
TEST(TimerQueue, DelaysBeyondTheClocksRangeWaitInsteadOfFiringAtOnce) {
  Notifier fired;
  std::atomic<int> far{0};
  std::atomic<bool> negative{false}, witness{false};
  detail::TimerQueue q;  // declared last: joined before what its callbacks touch
  const auto later = [&] {
    far.fetch_add(1);
    fired.bump();
  };
  q.schedule(std::chrono::milliseconds::max(), "max", later);
  q.schedule(std::chrono::hours(24 * 365 * 1000), "millennium", later);
  q.schedule(std::chrono::milliseconds::min(), "negative", [&] {
    negative = true;
    fired.bump();
  });
  q.schedule(30ms, "witness", [&] {
    witness = true;
    fired.bump();
  });
  ASSERT_TRUE(fired.wait_until([&] { return witness.load(); }, kPatience));
  EXPECT_TRUE(negative) << "a negative delay counts as none";
  EXPECT_EQ(far.load(), 0) << "a timer due in centuries fired within 30 ms";
}

// Captured by a callback: when the callback is dropped (fired, cancelled or
// stopped), it calls back into the queue, as a capture that owns a
// conversation's last reference might.
struct CallsBackWhenDropped {
  CallsBackWhenDropped(detail::TimerQueue* q, std::promise<void>* d) : queue(q), dropped(d) {}
  CallsBackWhenDropped(const CallsBackWhenDropped&) = delete;
  CallsBackWhenDropped& operator=(const CallsBackWhenDropped&) = delete;
  detail::TimerQueue* queue;
  std::promise<void>* dropped;
  ~CallsBackWhenDropped() {
    queue->cancel("someone else");
    queue->schedule(std::chrono::hours(1), "someone else", [] {});
    dropped->set_value();
  }
};

// The queue dropped callbacks while holding its own lock, so such a
// destructor deadlocked the timer thread, or the thread calling cancel() or
// stop(). A deadlocked thread cannot be joined: the test ends the process.
void expect_dropped_without_deadlock(const char* how, std::future<void> dropped) {
  if (dropped.wait_for(kPatience) == std::future_status::ready) return;
  std::fprintf(stderr, "a callback dropped by %s deadlocked the timer queue\n", how);
  std::fflush(stderr);
  std::_Exit(1);
}

TEST(TimerQueue, ACallbackMayUseTheQueueFromItsCapturesDestructor) {
  detail::TimerQueue q;
  const auto guarded = [&q](std::promise<void>* dropped) {
    auto guard = std::make_shared<CallsBackWhenDropped>(&q, dropped);
    return [guard] {};
  };
  std::promise<void> fired, cancelled, stopped;
  q.schedule(0ms, "fires", guarded(&fired));
  expect_dropped_without_deadlock("firing", fired.get_future());

  q.schedule(std::chrono::hours(1), "cancelled", guarded(&cancelled));
  std::thread canceller([&] { q.cancel("cancelled"); });
  expect_dropped_without_deadlock("cancel()", cancelled.get_future());
  canceller.join();

  q.schedule(std::chrono::hours(1), "stopped", guarded(&stopped));
  std::thread stopper([&] { q.stop(); });
  expect_dropped_without_deadlock("stop()", stopped.get_future());
  stopper.join();
}

}  // namespace
}  // namespace stube::test
