// Many threads: one conversation is applied serially, many conversations in
// parallel, and an end racing with events never resurrects a conversation.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/spin_until.hpp"
#include "runtime/rig.hpp"
#include "stube/conversation.hpp"

namespace stube::test {
namespace {

// Runs fn(k) on `n` threads at once and joins them.
template <class Fn>
void on_threads(int n, Fn fn) {
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) threads.emplace_back([&fn, k] { fn(k); });
  for (std::thread& t : threads) t.join();
}

TEST(Concurrency, EightThreadsOnOneConversationApplyEveryEventOnceInSerialOrder) {
  constexpr int kThreads = 8, kEvents = 1000;
  Rig rig;
  auto store = std::make_shared<CountingStore>();
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = rt.mint("rt/seq");
  const std::string iid = runtime_top(rt, m.cid);
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  std::atomic<int> not_ok{0};
  on_threads(kThreads, [&](int t) {
    for (int i = 0; i < kEvents; ++i)
      if (rt.dispatch(m.cid, iid, Event{"hit", edn::vec({t, i})}, m.owner) != Runtime::Result::Ok)
        not_ok.fetch_add(1);
  });
  EXPECT_EQ(not_ok.load(), 0);
  EXPECT_EQ(rig.watch->calls.load(), kThreads * kEvents) << "each event handled exactly once";
  EXPECT_EQ(rig.watch->overlaps.load(), 0) << "two handlers ran at the same time";
  const Value state = top_frame(*rt.conversation(m.cid));
  EXPECT_EQ(state[":count"], Value(kThreads * kEvents));
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(state[":last"].get(Value(t)), Value(kEvents - 1));
  EXPECT_EQ(store->saves(m.cid), 1u + kThreads * kEvents);
  EXPECT_EQ(store->last_saved(m.cid), rt.conversation(m.cid));
  EXPECT_EQ(out->sends(), 1u + kThreads * kEvents);  // the view, then one re-render per event
}

TEST(Concurrency, AThousandConversationsInParallel) {
  constexpr int kConvs = 1000, kThreads = 8;
  Rig rig;
  auto store = std::make_shared<CountingStore>();
  Runtime rt(rig.registry, options_with(store));
  std::vector<Runtime::Minted> minted(kConvs);
  on_threads(kThreads, [&](int t) {
    for (int j = t; j < kConvs; j += kThreads)
      minted[static_cast<std::size_t>(j)] = rt.mint("demo/counter");
  });
  ASSERT_EQ(rt.size(), static_cast<std::size_t>(kConvs));
  std::vector<std::string> tops;
  for (const Runtime::Minted& m : minted) tops.push_back(runtime_top(rt, m.cid));
  // Every thread sends one event to every conversation, each starting at a
  // different place, so all conversations are busy at once.
  std::atomic<int> not_ok{0};
  on_threads(kThreads, [&](int t) {
    for (int n = 0; n < kConvs; ++n) {
      const std::size_t j = static_cast<std::size_t>((n + t * kConvs / kThreads) % kConvs);
      if (rt.dispatch(minted[j].cid, tops[j], Event{"inc"}, minted[j].owner) != Runtime::Result::Ok)
        not_ok.fetch_add(1);
    }
  });
  EXPECT_EQ(not_ok.load(), 0);
  for (const Runtime::Minted& m : minted) {
    ASSERT_EQ(top_frame(*rt.conversation(m.cid))[":count"], Value(kThreads)) << m.cid;
    ASSERT_EQ(store->saves(m.cid), 1u + kThreads) << m.cid;
  }
  EXPECT_EQ(store->saves(), static_cast<std::size_t>(kConvs * (1 + kThreads)));
}

// A save that races with an end must never bring the conversation back: the
// store's last word on the cid is "remove", and no file is left.
TEST(Concurrency, EndRacingWithEventsNeverResurrectsTheConversation) {
  constexpr int kRounds = 60;
  Rig rig;
  ScratchDir dir("race");
  auto store = std::make_shared<CountingStore>(file_store(dir.path()));
  Runtime rt(rig.registry, options_with(store));
  for (int round = 0; round < kRounds; ++round) {
    const Runtime::Minted m = rt.mint("demo/counter");
    const std::string iid = runtime_top(rt, m.cid);
    std::atomic<int> ok{0};
    Runtime::Result last = Runtime::Result::Ok;
    std::thread events([&] {
      while ((last = rt.dispatch(m.cid, iid, Event{"inc"}, m.owner)) == Runtime::Result::Ok)
        ok.fetch_add(1);
    });
    // End once a few events have gone through, while they are still coming.
    ASSERT_TRUE(store->wait_until([&] { return store->saves(m.cid) >= 1u + round % 5; }));
    std::thread ender([&] { rt.end(m.cid); });
    ender.join();
    events.join();
    EXPECT_EQ(last, Runtime::Result::NoConversation);
    const std::vector<std::string> ops = store->ops(m.cid);
    ASSERT_FALSE(ops.empty());
    EXPECT_EQ(ops.back(), "remove") << "round " << round;
    EXPECT_EQ(store->removes(m.cid), 1u);
    EXPECT_EQ(store->saves(m.cid), 1u + static_cast<std::size_t>(ok.load()));
    EXPECT_FALSE(dir.has_file(m.cid)) << "round " << round;
    EXPECT_FALSE(rt.conversation(m.cid).has_value());
  }
  EXPECT_EQ(rt.size(), 0u);
}

// A mint that races with shutdown is either refused (and, if its start
// hooks ran, stopped), or its conversation is live when shutdown looks, and
// gets its stop hooks and the final save: none slips through to outlive the
// shutdown unsaved and unstopped.
TEST(Concurrency, ShutdownRacingWithMintsLeavesNoConversationBehind) {
  Rig rig;
  auto store = std::make_shared<CountingStore>();
  Runtime rt(rig.registry, options_with(store));
  std::atomic<int> refused{0};
  std::vector<std::string> cids[4];
  std::atomic<int> minted{0};
  std::atomic<bool> forty_minted{false};
  std::thread stopper([&] {
    forty_minted = test::spin_until([&] { return minted.load() >= 40; });
    rt.shutdown();  // also when the mints stalled: it ends them, and the check below fails
  });
  // Each thread mints until it is refused.
  on_threads(4, [&](int t) {
    for (;;) {
      try {
        cids[t].push_back(rt.mint("t/probe").cid);
        minted.fetch_add(1);
      } catch (const ShuttingDown&) {
        refused.fetch_add(1);
        return;
      }
    }
  });
  stopper.join();
  EXPECT_TRUE(forty_minted) << "the threads minted " << minted << " conversations in 30 s";
  EXPECT_EQ(refused.load(), 4);
  EXPECT_EQ(rt.size(), 0u) << "a conversation outlived the shutdown";
  for (const auto& list : cids)
    for (const std::string& cid : list)
      EXPECT_EQ(store->ops(cid), (std::vector<std::string>{"save", "save"}))
          << cid << ": minted, so it must get the shutdown's final save";
  std::size_t starts = 0, stops = 0;
  for (const std::string& e : rig.journal->entries()) {
    starts += e == "start root";
    stops += e == "stop root";
  }
  EXPECT_GE(starts, static_cast<std::size_t>(minted.load()));
  EXPECT_EQ(stops, starts) << "every conversation started must be stopped";
}

}  // namespace
}  // namespace stube::test
