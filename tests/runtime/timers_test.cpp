// The timer queue on its own: deadlines at the edges of the clock.
#include "runtime/timers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

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

}  // namespace
}  // namespace stube::test
