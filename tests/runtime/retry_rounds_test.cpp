// Retry rounds on their own: they back off while a round leaves work
// undone, stop once one finishes it, and never miss a request made while a
// round runs. The delays are milliseconds here; the runtime's are 1 s..1 min.
#include "runtime/retry_rounds.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "runtime/support.hpp"

namespace stube::test {
namespace {

using namespace std::chrono_literals;
using Clock = detail::TimerQueue::Clock;

// A round that answers from a script (true: done; an empty script: done)
// and records when it ran. `hold` keeps the next round waiting until let go.
class ScriptedRound {
 public:
  explicit ScriptedRound(std::deque<bool> script) : script_(std::move(script)) {}

  bool operator()() {
    std::unique_lock lock(mu_);
    ran_.push_back(Clock::now());
    cv_.notify_all();
    if (ran_.size() == during_round_ && during_) {
      lock.unlock();
      during_();
      lock.lock();
    }
    cv_.wait(lock, [&] { return !hold_; });
    if (throws_) {
      throws_ = false;
      throw std::runtime_error("the store fell over");
    }
    if (script_.empty()) return true;
    const bool done = script_.front();
    script_.pop_front();
    return done;
  }
  bool wait_for_rounds(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return ran_.size() >= n; });
  }
  std::vector<Clock::time_point> ran() const {
    std::lock_guard lock(mu_);
    return ran_;
  }
  void hold(bool on) {
    std::lock_guard lock(mu_);
    hold_ = on;
    cv_.notify_all();
  }
  void throw_next() {
    std::lock_guard lock(mu_);
    throws_ = true;
  }
  // Runs `fn` (without the lock) inside round `n`, counted from 1.
  void during(std::size_t n, std::function<void()> fn) {
    std::lock_guard lock(mu_);
    during_round_ = n;
    during_ = std::move(fn);
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<bool> script_;
  std::vector<Clock::time_point> ran_;
  bool hold_ = false;
  bool throws_ = false;
  std::size_t during_round_ = 0;
  std::function<void()> during_;
};

// Stops the timer thread before the rounds it may call back go.
struct StopOnExit {
  detail::TimerQueue& timers;
  ~StopOnExit() { timers.stop(); }
};

// Waits until every timer due within `delay` from now has run: the queue
// fires in deadline order, so a timer booked now for `delay` runs after them.
void let_timers_due_within(detail::TimerQueue& timers, std::chrono::milliseconds delay) {
  std::mutex mu;
  std::condition_variable cv;
  bool fired = false;
  timers.schedule(delay, "test", [&] {
    std::lock_guard lock(mu);
    fired = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, kPatience, [&] { return fired; }));
}

TEST(RetryRounds, BackOffWhileUndoneAndStopOnceARoundIsDone) {
  ScriptedRound round({false, false, false, false, true});
  detail::TimerQueue timers;
  detail::RetryRounds rounds(timers, std::ref(round), 2ms, 8ms);
  const StopOnExit stop_first{timers};
  const Clock::time_point requested = Clock::now();
  rounds.request();
  ASSERT_TRUE(round.wait_for_rounds(5));
  let_timers_due_within(timers, 50ms);  // longer than any gap a sixth round could follow
  timers.stop();
  const std::vector<Clock::time_point> ran = round.ran();
  ASSERT_EQ(ran.size(), 5u) << "rounds went on after one was done";
  // Each gap at least the delay booked: 2, then doubling, at most 8 ms.
  const std::vector<std::chrono::milliseconds> delays{2ms, 4ms, 8ms, 8ms, 8ms};
  Clock::time_point previous = requested;
  for (std::size_t i = 0; i < ran.size(); ++i) {
    EXPECT_GE(ran[i] - previous, delays[i]) << "round " << i + 1;
    previous = ran[i];
  }
}

TEST(RetryRounds, ARequestWhileARoundRunsBooksAnother) {
  ScriptedRound round({true, true});
  detail::TimerQueue timers;
  detail::RetryRounds rounds(timers, std::ref(round), 1ms, 4ms);
  const StopOnExit stop_first{timers};
  round.hold(true);
  rounds.request();
  ASSERT_TRUE(round.wait_for_rounds(1));
  rounds.request();  // the running round may have missed what this asks for
  rounds.request();  // one more round, not two
  round.hold(false);
  EXPECT_TRUE(round.wait_for_rounds(2)) << "the request made during a round was dropped";
  let_timers_due_within(timers, 50ms);
  timers.stop();
  EXPECT_EQ(round.ran().size(), 2u);
}

// A round that finishes its work but was asked for more meanwhile books the
// next one at the first delay: the store is back, so the backing off of the
// rounds that failed before it is over (their gaps had reached 640 ms;
// doubled, the next would come 1,280 ms later).
TEST(RetryRounds, ARoundThatSucceedsAfterBackingOffBooksTheNextAtTheFirstDelay) {
  ScriptedRound round({false, false, false, false, false, false, true, true});
  detail::TimerQueue timers;
  detail::RetryRounds rounds(timers, std::ref(round), 10ms, 10s);
  const StopOnExit stop_first{timers};
  round.during(7, [&] { rounds.request(); });
  rounds.request();
  ASSERT_TRUE(round.wait_for_rounds(8));
  timers.stop();
  const std::vector<Clock::time_point> ran = round.ran();
  EXPECT_GE(ran[6] - ran[5], 640ms) << "the failing rounds did not back off";
  EXPECT_LT(ran[7] - ran[6], 640ms) << "the round after a done one kept backing off";
}

TEST(RetryRounds, ARequestWhileARoundIsBookedAddsNone) {
  ScriptedRound round({true});
  detail::TimerQueue timers;
  detail::RetryRounds rounds(timers, std::ref(round), 5ms, 5ms);
  const StopOnExit stop_first{timers};
  rounds.request();
  rounds.request();
  ASSERT_TRUE(round.wait_for_rounds(1));
  let_timers_due_within(timers, 50ms);
  timers.stop();
  EXPECT_EQ(round.ran().size(), 1u);
}

TEST(RetryRounds, ARoundThatThrowsIsLoggedAndTriedAgain) {
  LogCapture logs;
  ScriptedRound round({true});
  detail::TimerQueue timers;
  detail::RetryRounds rounds(timers, std::ref(round), 1ms, 4ms);
  const StopOnExit stop_first{timers};
  round.throw_next();
  rounds.request();
  EXPECT_TRUE(round.wait_for_rounds(2)) << "a round that threw ended the retries";
  timers.stop();
  EXPECT_TRUE(logs.has(log::Level::error, {"retry round failed", "the store fell over"}));
}

}  // namespace
}  // namespace stube::test
