// The runtime's list of ended conversations whose remove failed, on its own:
// its bound, and a round that stops at the first failure.
#include "runtime/pending_removes.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/support.hpp"

namespace stube::test {
namespace {

std::ptrdiff_t failed_removes(const CountingStore& store, std::string_view cid) {
  const std::vector<std::string> ops = store.ops(cid);
  return std::count(ops.begin(), ops.end(), "failed remove");
}

TEST(PendingRemoves, RemembersUpToItsLimitAndSaysWhatItDrops) {
  LogCapture logs;
  CountingStore store;
  detail::TimerQueue timers;
  detail::PendingRemoves pending(store, timers, 2);
  timers.stop();  // no retry round takes them while the test looks
  EXPECT_TRUE(pending.add("cv-a", "down"));
  EXPECT_TRUE(pending.add("cv-b", "down"));
  EXPECT_FALSE(pending.add("cv-c", "down"));
  EXPECT_TRUE(pending.contains("cv-a"));
  EXPECT_TRUE(pending.contains("cv-b"));
  EXPECT_FALSE(pending.contains("cv-c"));
  EXPECT_TRUE(logs.has(log::Level::error, {"cv-c", "2 ended conversations wait", "not retried"}));
}

TEST(PendingRemoves, ARoundStopsAtTheFirstFailureAndTheNextFinishes) {
  LogCapture logs;
  CountingStore store;
  detail::TimerQueue timers;
  detail::PendingRemoves pending(store, timers);
  timers.stop();  // rounds only when called here
  ASSERT_TRUE(pending.add("cv-a", "down"));
  ASSERT_TRUE(pending.add("cv-b", "down"));
  store.fail_removes(true);
  EXPECT_FALSE(pending.retry("in the test"));
  EXPECT_EQ(failed_removes(store, "cv-a") + failed_removes(store, "cv-b"), 1);
  EXPECT_TRUE(
      logs.has(log::Level::error, {"still failing in the test", "2 ended conversation(s) left"}));
  store.fail_removes(false);
  EXPECT_TRUE(pending.retry("in the test"));
  EXPECT_EQ(store.removes("cv-a"), 1u);
  EXPECT_EQ(store.removes("cv-b"), 1u);
  EXPECT_FALSE(pending.contains("cv-a"));
  EXPECT_FALSE(pending.contains("cv-b"));
  EXPECT_TRUE(logs.has(log::Level::info, {"removed 2 ended conversation(s)", "cv-a, cv-b"}));
}

}  // namespace
}  // namespace stube::test
