// The runtime's record of which moments back undid (runtime/moments.hpp).
#include "runtime/moments.hpp"

#include <gtest/gtest.h>

namespace stube::detail {
namespace {

TEST(Moments, BackUndoesTheCurrentMomentAndRestoresThePreviousOne) {
  Moments m;
  const Moments::Ref first = m.current();
  m.step(true, 0, 1);  // a recorded step: a new moment
  const Moments::Ref second = m.current();
  EXPECT_NE(first, second);
  m.step(false, 0, 1);  // not recorded: still the same moment
  EXPECT_EQ(m.current(), second);
  m.step(false, 1, 0);  // back
  EXPECT_TRUE(second->undone);
  EXPECT_FALSE(first->undone);
  EXPECT_EQ(m.current(), first);
}

TEST(Moments, ANestedBackUndoesEveryMomentItPasses) {
  Moments m;
  const Moments::Ref a = m.current();
  m.step(true, 0, 1);
  const Moments::Ref b = m.current();
  m.step(true, 0, 2);
  const Moments::Ref c = m.current();
  m.step(false, 2, 0);  // a wakeup went back again
  EXPECT_TRUE(c->undone);
  EXPECT_TRUE(b->undone);
  EXPECT_FALSE(a->undone);
  EXPECT_EQ(m.current(), a);
}

TEST(Moments, MomentsPastTheHistoryCapAreNeverUndone) {
  Moments m;
  const Moments::Ref oldest = m.current();
  m.step(true, 0, 1);
  m.step(true, 0, 1);  // the cap (1) drops `oldest` from the history
  m.step(false, 1, 0);
  m.step(false, 1, 0);  // nothing left to go back to
  EXPECT_FALSE(oldest->undone);
}

TEST(Moments, AHistoryFromBeforeTheProcessIsFollowed) {
  Moments m;
  m.reset(3);  // a restored conversation with three snapshots
  const Moments::Ref now = m.current();
  m.step(false, 1, 2);
  EXPECT_TRUE(now->undone);
  EXPECT_NE(m.current(), now);
}

// A woken frame's timers: back undoes them only for a frame it takes off
// the stack or wakes again; history is no matter.
TEST(Moments, BackUndoesAWokenFramesMomentOnlyWhenTheFrameLeavesOrWakesAgain) {
  Moments m;
  const Moments::Ref root = m.woken("root"), dialog = m.woken("dialog"), gone = m.woken("gone");
  EXPECT_EQ(m.woken("root"), root) << "one per frame";
  m.step(false, 1, 0);
  m.went_back({"root", "dialog"}, {"dialog"});
  EXPECT_FALSE(root->undone);
  EXPECT_TRUE(dialog->undone);
  EXPECT_TRUE(gone->undone);
  EXPECT_NE(m.woken("dialog"), dialog) << "a frame that wakes again gets a new one";
  m.went_back({"root", "dialog"}, {});  // a top whose wakeup did not run (it answered, say)
  EXPECT_FALSE(root->undone);
  m.went_back({}, {});
  EXPECT_TRUE(root->undone);
}

// A frame's token stands for its pending timers: the same while one holds
// it, undone by rewake (back ran the frame's wakeup again), and made anew
// for the timers armed after.
TEST(Moments, RewakeUndoesTheFramesPendingTimersWhateverTheirMoment) {
  Moments m;
  const Moments::Ref clock = m.frame("f");
  EXPECT_EQ(m.frame("f"), clock);
  const Moments::Ref other = m.frame("g");
  m.rewake("f");
  EXPECT_TRUE(clock->undone);
  EXPECT_FALSE(other->undone);
  const Moments::Ref next = m.frame("f");
  EXPECT_NE(next, clock);
  EXPECT_FALSE(next->undone);
  m.rewake("none");  // a frame without timers: nothing to undo
}

TEST(Moments, AFrameWhoseTimersAreAllGoneGetsANewToken) {
  Moments m;
  std::weak_ptr<Moments::Moment> first = m.frame("f");
  EXPECT_TRUE(first.expired()) << "the map alone kept it alive";
  EXPECT_FALSE(m.frame("f")->undone);
}

}  // namespace
}  // namespace stube::detail
