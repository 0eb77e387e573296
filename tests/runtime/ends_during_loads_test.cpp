// The runtime's list of conversations ended while a load-on-miss was in
// flight, on its own: what a load is told, and how long an end is kept.
#include "runtime/ends_during_loads.hpp"

#include <gtest/gtest.h>

#include <string>

namespace stube::detail {
namespace {

TEST(EndsDuringLoads, ALoadSeesOnlyTheEndsAfterItStarted) {
  EndsDuringLoads ends;
  const auto first = ends.load_started();
  ends.ended("cv-a");
  const auto second = ends.load_started();
  ends.ended("cv-b");
  EXPECT_TRUE(ends.ended_since("cv-a", first));
  EXPECT_FALSE(ends.ended_since("cv-a", second));  // it read the store after the end
  EXPECT_TRUE(ends.ended_since("cv-b", first));
  EXPECT_TRUE(ends.ended_since("cv-b", second));
  EXPECT_FALSE(ends.ended_since("cv-c", first));
  ends.load_finished(first);
  EXPECT_TRUE(ends.ended_since("cv-b", second));
  EXPECT_EQ(ends.remembered(), 1u) << "cv-a concerns no load left";
  ends.load_finished(second);
  EXPECT_EQ(ends.remembered(), 0u);
}

TEST(EndsDuringLoads, AnEndWithNoLoadInFlightIsNotKept) {
  EndsDuringLoads ends;
  ends.ended("cv-a");
  EXPECT_EQ(ends.remembered(), 0u);
  const auto load = ends.load_started();
  EXPECT_FALSE(ends.ended_since("cv-a", load));
  ends.load_finished(load);
}

// Loads that overlap without pause (one always in flight) must not keep
// every end since the last moment none was: only those since the oldest.
TEST(EndsDuringLoads, OverlappingLoadsKeepABoundedList) {
  EndsDuringLoads ends;
  auto older = ends.load_started();
  for (int i = 0; i < 10'000; ++i) {
    const auto newer = ends.load_started();
    ends.ended("cv-" + std::to_string(i));
    ends.load_finished(older);
    older = newer;
    ASSERT_LE(ends.remembered(), 1u) << "after " << i << " ends";
  }
  EXPECT_TRUE(ends.ended_since("cv-9999", older));
  ends.load_finished(older);
  EXPECT_EQ(ends.remembered(), 0u);
}

TEST(EndsDuringLoads, TwoLoadsWithTheSameTicketAreBothCounted) {
  EndsDuringLoads ends;
  const auto a = ends.load_started();
  const auto b = ends.load_started();
  ASSERT_EQ(a, b);
  ends.ended("cv-a");
  ends.load_finished(a);
  EXPECT_TRUE(ends.ended_since("cv-a", b)) << "forgotten while b is still in flight";
  ends.load_finished(b);
  EXPECT_EQ(ends.remembered(), 0u);
}

}  // namespace
}  // namespace stube::detail
