// Time and teardown: timers, the reaper, shutdown, and coroutine frames.
// Nothing here sleeps to synchronise: tests wait on a condition, and "this
// did not happen" is proven against a witness timer that fires later.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include "runtime/rig.hpp"
#include "stube/conversation.hpp"
#include "stube/flow.hpp"

namespace stube::test {
namespace {

Event arm(int n, int delay_ms) {
  return Event{"arm", edn::vec({n, delay_ms})};
}

std::int64_t state_int(const Runtime& rt, const std::string& cid, const char* key) {
  const auto c = rt.conversation(cid);
  return c ? top_frame(*c)[key].as_int() : -1;
}

// cv-badstack: a ticker whose stack holds a non-string under the top, so
// that its stop hooks throw (stop_all cannot read the stack).
void write_bad_stack_record(const ScratchDir& dir, const std::string& label = "badstack") {
  std::ofstream(dir.path() / "cv-badstack.edn") << R"({:conv/id "cv-badstack",
      :conv/stack [7 "ix-1"], :conv/history [],
      :conv/instances {"ix-1" {:instance/id "ix-1", :instance/type :rt/ticker,
                               :instance/parent nil, :instance/resume nil,
                               :ticks 0, :incs 0, :label ")"
                                                << label << R"("}}})";
}

// "No tick came" proves a cancel only if the cancel came before the timers
// were due: a thread paused for longer than their delay (a busy machine)
// lets them fire first. So `round(delay_ms)`, which arms timers that far
// ahead and cancels them, is run again with longer delays until a round
// is over before its timers are due. Returns that round's delay.
int first_round_in_time(const std::function<void(int delay_ms)>& round) {
  for (int delay_ms = 30; delay_ms <= 3840; delay_ms *= 2) {
    const auto start = std::chrono::steady_clock::now();
    round(delay_ms);
    if (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(delay_ms))
      return delay_ms;
  }
  ADD_FAILURE() << "no round cancelled its timers before they were due (delays up to 3.8 s)";
  return 0;
}

std::string numbered(const char* label, int n) {
  return std::string(label) + "-" + std::to_string(n);
}

class Lifecycle : public ::testing::Test {
 protected:
  void SetUp() override { frames = live_flow_frames(); }
  void TearDown() override { EXPECT_EQ(live_flow_frames(), frames) << "leaked coroutine frames"; }

  Runtime::Minted ticker(Runtime& rt, const char* label) {
    return rt.mint("rt/ticker", edn::map({{kw("label"), label}}));
  }
  // Arms one timer on a fresh witness conversation of `rt` and waits for it
  // to fire: every timer of `rt` due earlier has had its chance by then.
  void wait_for_witness(Runtime& rt, int delay_ms) {
    const Runtime::Minted w = ticker(rt, "witness");
    auto out = std::make_shared<RecordingOutput>();
    ASSERT_EQ(rt.attach(w.cid, w.owner, out), Runtime::Result::Ok);
    ASSERT_EQ(send_top(rt, w, arm(1, delay_ms)), Runtime::Result::Ok);
    ASSERT_TRUE(out->wait_for_html("ticks: 1"));
  }
  // Fails the save of an event of `m`, lets the store recover, and expects
  // the step saved again (and "saved again" logged) with no other event.
  void expect_a_failed_save_made_again(Runtime& rt, const Runtime::Minted& m) {
    LogCapture logs;
    store->fail_saves(true);
    ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
    const Value live = *rt.conversation(m.cid);
    ASSERT_NE(store->last_saved(m.cid), live);
    store->fail_saves(false);
    EXPECT_TRUE(store->wait_until([&] { return store->last_saved(m.cid) == live; }))
        << "the failed save was never made again";
    EXPECT_TRUE(logs.wait_for_line(log::Level::info, {m.cid, "saved again"}, kPatience));
  }
  std::vector<std::string> ticks_of(const char* label) const {
    return starting_with(rig.journal->entries(), std::string("tick ") + label);
  }

  Rig rig;
  std::shared_ptr<CountingStore> store = std::make_shared<CountingStore>();
  std::size_t frames = 0;
};

TEST_F(Lifecycle, ATimerDeliversItsEventThroughTheSerialisedPath) {
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = rt.mint("demo/reminder");
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  ASSERT_EQ(send_top(rt, m, Event{"arm"}), Runtime::Result::Ok);
  EXPECT_TRUE(out->has_html("armed"));
  ASSERT_TRUE(out->wait_for_html("Beeps: 1"));
  // The timer's event is an event like any other: one save, final value.
  ASSERT_TRUE(store->wait_until([&] { return store->saves(m.cid) == 3u; }));
  EXPECT_EQ(state_int(rt, m.cid, ":beeps"), 1);
  EXPECT_EQ(store->last_saved(m.cid), rt.conversation(m.cid));
}

// What a step the page did not ask for changed reaches the stream as the
// state before and after (Output::state_changed): the page keeps copies of
// some of it (the server: kept signals), which no answer to a request of
// the page brings in line then. So does a stream's first view, with no
// "before". The page's own events do not call it.
class StateRecordingOutput : public RecordingOutput {
 public:
  void state_changed(const Value& before, const Value& after) override {
    std::lock_guard lock(mu_);
    changes_.emplace_back(before, after);
  }
  std::vector<std::pair<Value, Value>> changes() const {
    std::lock_guard lock(mu_);
    return changes_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<Value, Value>> changes_;
};

TEST_F(Lifecycle, ATimersStepTellsTheStreamTheStateBeforeAndAfter) {
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = ticker(rt, "t");
  auto out = std::make_shared<StateRecordingOutput>();
  // The page that minted it, with nothing since, holds its state already.
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  EXPECT_TRUE(out->changes().empty());
  ASSERT_FALSE(out->fragments().empty()) << "no first view";
  ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  ASSERT_EQ(send_top(rt, m, arm(1, 1)), Runtime::Result::Ok);
  ASSERT_TRUE(out->wait_for_html("ticks: 1"));
  const Value now = *rt.conversation(m.cid);  // waits for the rest of the timer's step
  const auto changes = out->changes();
  ASSERT_EQ(changes.size(), 1u) << "the page's own events told it, or the timer did not";
  EXPECT_EQ(top_frame(changes[0].first)[":ticks"].as_int(), 0);
  EXPECT_EQ(top_frame(changes[0].second)[":ticks"].as_int(), 1);
  EXPECT_EQ(changes[0].second, now);
  // Any later stream's first view: all of it is news to the page.
  auto again = std::make_shared<StateRecordingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, again), Runtime::Result::Ok);
  ASSERT_EQ(again->changes().size(), 1u);
  EXPECT_TRUE(again->changes()[0].first.is_nil());
  EXPECT_EQ(again->changes()[0].second, now);
}

// A refused event (no such event, bad signals, a stale instance) changes
// nothing: the page that minted the conversation still holds its state, so
// its first stream must not send it again (over what the user typed).
TEST_F(Lifecycle, ARefusedEventBeforeTheFirstStreamKeepsThePagesState) {
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = ticker(rt, "refused");
  ASSERT_EQ(send_top(rt, m, Event{"no-such-event"}), Runtime::Result::UnknownEvent);
  ASSERT_EQ(rt.dispatch(m.cid, "ix-gone", Event{"inc"}, m.owner), Runtime::Result::NoInstance);
  auto out = std::make_shared<StateRecordingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  EXPECT_TRUE(out->changes().empty()) << "the first stream sent the minted state again";
  ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  auto again = std::make_shared<StateRecordingOutput>();  // after a real step: news
  ASSERT_EQ(rt.attach(m.cid, m.owner, again), Runtime::Result::Ok);
  EXPECT_EQ(again->changes().size(), 1u);
}

TEST_F(Lifecycle, TimersAndBrowserEventsInterleaveWithoutLoss) {
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = ticker(rt, "busy");
  const std::string iid = runtime_top(rt, m.cid);
  ASSERT_EQ(send_top(rt, m, arm(200, 1)), Runtime::Result::Ok);
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(rt.dispatch(m.cid, iid, Event{"inc"}, m.owner), Runtime::Result::Ok);
  ASSERT_TRUE(store->wait_until([&] { return state_int(rt, m.cid, ":ticks") == 200; }));
  EXPECT_EQ(state_int(rt, m.cid, ":incs"), 200);
  ASSERT_TRUE(store->wait_until([&] { return store->saves(m.cid) == 2u + 200u + 200u; }));
  EXPECT_EQ(store->last_saved(m.cid), rt.conversation(m.cid));
}

// A timer belongs to the moment that requested it: when back undoes that
// moment, the timer does not fire into the state restored.
TEST_F(Lifecycle, BackDropsTheTimersOfTheMomentItUndoes) {
  Runtime rt(rig.registry, options_with(store));
  Runtime::Minted m;
  std::string label;
  const int delay = first_round_in_time([&](int ms) {
    label = numbered("undone", ms);
    m = ticker(rt, label.c_str());
    ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);  // a new moment
    ASSERT_EQ(send_top(rt, m, arm(2, ms)), Runtime::Result::Ok);    // requested in it
    ASSERT_EQ(rt.back(m.cid, m.owner), Runtime::Result::Ok);
  });
  EXPECT_EQ(state_int(rt, m.cid, ":incs"), 0);
  wait_for_witness(rt, 3 * delay);
  EXPECT_TRUE(ticks_of(label.c_str()).empty());
  EXPECT_EQ(state_int(rt, m.cid, ":ticks"), 0);
}

// And they go at once, with what they hold, instead of waiting in the queue
// until they are due (an hour, a day) only to be skipped then.
TEST_F(Lifecycle, BackFreesTheTimersOfTheMomentItUndoesAtOnce) {
  Runtime rt(rig.registry, options_with(store));
  bool freed_at_back = false;
  first_round_in_time([&](int ms) {
    const Runtime::Minted m = ticker(rt, numbered("undone-freed", ms).c_str());
    ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);  // a new moment
    auto held = std::make_shared<int>(7);
    const std::weak_ptr<int> watch = held;
    Event armed{"arm", edn::vec({2, ms, edn::Value::opaque(std::move(held), "held")})};
    ASSERT_EQ(send_top(rt, m, std::move(armed)), Runtime::Result::Ok);  // requested in it
    ASSERT_FALSE(watch.expired());
    ASSERT_EQ(rt.back(m.cid, m.owner), Runtime::Result::Ok);
    freed_at_back = watch.expired();
  });
  EXPECT_TRUE(freed_at_back) << "the undone moment's timers still hold their events";
}

// The timers of the moment back returns to, and of moments before it, go on.
// (A tick that came during the later moments would be theirs, and undone
// with them: the round must be over before it is due.)
TEST_F(Lifecycle, BackKeepsTheTimersOfTheMomentsItRestores) {
  Runtime rt(rig.registry, options_with(store));
  Runtime::Minted m;
  std::shared_ptr<RecordingOutput> out;
  first_round_in_time([&](int ms) {
    m = ticker(rt, numbered("kept", ms).c_str());
    out = std::make_shared<RecordingOutput>();
    ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
    ASSERT_EQ(send_top(rt, m, arm(1, ms)), Runtime::Result::Ok);  // the first moment's
    ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
    ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
    ASSERT_EQ(rt.back(m.cid, m.owner), Runtime::Result::Ok);
    ASSERT_EQ(rt.back(m.cid, m.owner), Runtime::Result::Ok);
  });
  // The state now, not any view sent so far.
  ASSERT_TRUE(store->wait_until([&] { return state_int(rt, m.cid, ":ticks") == 1; }));
  EXPECT_EQ(state_int(rt, m.cid, ":incs"), 0);
  EXPECT_TRUE(out->has_html("ticks: 1 incs: 0"));
}

// A clock that re-arms itself runs in the moment that started it: its ticks
// during a later moment are still that moment's, and back from the later
// one leaves the clock running.
TEST_F(Lifecycle, AClockThatReArmsItselfSurvivesBackFromALaterMoment) {
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = rt.mint("rt/clock");
  ASSERT_EQ(send_top(rt, m, Event{"start"}), Runtime::Result::Ok);
  ASSERT_TRUE(store->wait_until([&] { return state_int(rt, m.cid, ":ticks") >= 2; }));
  ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);  // a later moment
  const std::int64_t at_inc = state_int(rt, m.cid, ":ticks");
  ASSERT_TRUE(store->wait_until([&] { return state_int(rt, m.cid, ":ticks") >= at_inc + 2; }));
  ASSERT_EQ(rt.back(m.cid, m.owner), Runtime::Result::Ok);
  ASSERT_EQ(state_int(rt, m.cid, ":incs"), 0);
  const std::int64_t after_back = state_int(rt, m.cid, ":ticks");
  EXPECT_TRUE(store->wait_until([&] { return state_int(rt, m.cid, ":ticks") >= after_back + 2; }))
      << "the clock stopped at " << state_int(rt, m.cid, ":ticks");
  rt.end(m.cid);
}

// Back runs the restored top frame's wakeup, which sets its clock going
// again: the clock the frame had going stops, or each back would add one
// (clocks 1 and 2 ticking side by side after the first, three after the
// second). Ticks counted from the back on, which holds the conversation:
// an old clock's tick is either journalled before it or never.
TEST_F(Lifecycle, BackReplacesTheClockOfTheFrameItWakesInsteadOfAddingOne) {
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = rt.mint("rt/start-clock");  // its start: clock 1
  for (int round = 1; round <= 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
    ASSERT_EQ(rt.back(m.cid, m.owner), Runtime::Result::Ok);  // its wakeup: clock round + 1
    expect_only_the_newest_clock(*store, *rig.journal, rig.journal->entries().size(), "start-clock",
                                 round + 1);
  }
  rt.end(m.cid);
}

// A moment that fell off the front of a capped history can no longer be
// undone: its timers fire whatever back does after.
TEST_F(Lifecycle, TimersOfMomentsPastTheHistoryCapStillFire) {
  RuntimeOptions options = options_with(store);
  options.kernel.history_limit = 1;
  Runtime rt(rig.registry, options);
  Runtime::Minted m;
  std::shared_ptr<RecordingOutput> out;
  first_round_in_time([&](int ms) {  // over before the tick, which back would undo
    m = ticker(rt, numbered("old", ms).c_str());
    out = std::make_shared<RecordingOutput>();
    ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
    ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
    ASSERT_EQ(send_top(rt, m, arm(1, ms)), Runtime::Result::Ok);  // in the moment incs 1
    ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
    ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
    ASSERT_EQ(rt.back(m.cid, m.owner), Runtime::Result::Ok);  // to incs 2; 1 is out of reach
  });
  ASSERT_TRUE(store->wait_until([&] { return state_int(rt, m.cid, ":ticks") == 1; }));
  EXPECT_EQ(state_int(rt, m.cid, ":incs"), 2);
  EXPECT_TRUE(out->has_html("ticks: 1 incs: 2"));
}

// A timer's event is not a moment of its own: a ticking clock does not fill
// the history, and back undoes what the user did, ticks since included.
TEST_F(Lifecycle, ATimersEventIsPartOfTheMomentThatRequestedIt) {
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = ticker(rt, "clock");
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  ASSERT_EQ(send_top(rt, m, arm(3, 1)), Runtime::Result::Ok);
  ASSERT_TRUE(out->wait_for_html("ticks: 3 incs: 1"));
  EXPECT_EQ(conv::history(*rt.conversation(m.cid)).size(), 1u);
  ASSERT_EQ(rt.back(m.cid, m.owner), Runtime::Result::Ok);
  EXPECT_EQ(state_int(rt, m.cid, ":ticks"), 0);
  EXPECT_EQ(state_int(rt, m.cid, ":incs"), 0);
}

TEST_F(Lifecycle, AnAfterOfMillisecondsMaxDoesNotFireAtOnce) {
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = ticker(rt, "never");
  const Event forever{"arm", edn::vec({1, std::numeric_limits<std::int64_t>::max()})};
  ASSERT_EQ(send_top(rt, m, forever), Runtime::Result::Ok);
  wait_for_witness(rt, 30);
  EXPECT_TRUE(ticks_of("never").empty());
  EXPECT_EQ(state_int(rt, m.cid, ":ticks"), 0);
}

TEST_F(Lifecycle, EndingAConversationCancelsItsTimers) {
  Runtime rt(rig.registry, options_with(store));
  Runtime::Minted m;
  std::string label;
  const int delay = first_round_in_time([&](int ms) {
    label = numbered("doomed", ms);
    m = ticker(rt, label.c_str());
    ASSERT_EQ(send_top(rt, m, arm(3, ms)), Runtime::Result::Ok);
    rt.end(m.cid);
  });
  wait_for_witness(rt, 3 * delay);
  EXPECT_TRUE(ticks_of(label.c_str()).empty());
  EXPECT_EQ(store->ops(m.cid), (std::vector<std::string>{"save", "save", "remove"}));
}

// Not only do they not tick (an uncancelled timer of an ended conversation
// would find no conversation either): they are gone at once, with what they
// hold, instead of waiting in the queue until they are due (an hour, a day).
TEST_F(Lifecycle, EndingAConversationFreesItsTimersAtOnce) {
  Runtime rt(rig.registry, options_with(store));
  bool freed_at_end = false;
  first_round_in_time([&](int ms) {
    const Runtime::Minted m = ticker(rt, numbered("freed", ms).c_str());
    auto held = std::make_shared<int>(7);
    const std::weak_ptr<int> watch = held;
    Event armed{"arm", edn::vec({3, ms, edn::Value::opaque(std::move(held), "held")})};
    ASSERT_EQ(send_top(rt, m, std::move(armed)), Runtime::Result::Ok);
    rt.end(m.cid);
    freed_at_end = watch.expired();
  });
  EXPECT_TRUE(freed_at_end) << "the ended conversation's timers still hold their events";
}

// Ending a conversation whose stop hooks cannot run (here a restored record
// whose stack holds a non-string under the top) used to throw out of end()
// with the slot marked ended but still in the map (410 for ever), its
// timers still queued and its record left in the store.
TEST_F(Lifecycle, EndingAConversationWhoseStopHooksFailStillForgetsAndRemovesIt) {
  LogCapture logs;
  std::unique_ptr<Runtime> rt;
  std::optional<ScratchDir> dir;
  std::shared_ptr<CountingStore> records;
  std::string label;
  const int delay = first_round_in_time([&](int ms) {
    rt.reset();
    label = numbered("badstack", ms);
    dir.emplace("end");
    write_bad_stack_record(*dir, label);
    records = std::make_shared<CountingStore>(file_store(dir->path()));
    rt = std::make_unique<Runtime>(rig.registry, options_with(records));
    ASSERT_EQ(rt->restored_count(), 1u);
    ASSERT_EQ(rt->dispatch("cv-badstack", "ix-1", arm(3, ms), ""), Runtime::Result::Ok);
    EXPECT_NO_THROW(rt->end("cv-badstack"));
  });
  EXPECT_FALSE(rt->conversation("cv-badstack").has_value());
  EXPECT_EQ(rt->size(), 0u);
  EXPECT_EQ(records->removes("cv-badstack"), 1u);
  EXPECT_FALSE(dir->has_file("cv-badstack"));
  EXPECT_TRUE(logs.has(log::Level::error, {"cv-badstack", "stop hooks"}));
  wait_for_witness(*rt, 3 * delay);
  EXPECT_TRUE(ticks_of(label.c_str()).empty()) << "its timers outlived it";
}

// At shutdown too a failing stop hook is logged with the conversation it
// belongs to, and the conversation is still saved for the next server.
TEST_F(Lifecycle, StopHooksThatFailAtShutdownAreLoggedWithTheirCid) {
  ScratchDir dir{"shutdown"};
  write_bad_stack_record(dir);
  auto records = std::make_shared<CountingStore>(file_store(dir.path()));
  LogCapture logs;
  Runtime rt(rig.registry, options_with(records));
  rt.shutdown();
  EXPECT_TRUE(logs.has(log::Level::error, {"stop hooks of conversation cv-badstack", "shutdown"}));
  EXPECT_EQ(records->saves("cv-badstack"), 1u);
}

TEST_F(Lifecycle, AnEndEffectCancelsTimersToo) {
  Runtime rt(rig.registry, options_with(store));
  Runtime::Minted m;
  std::string label;
  const int delay = first_round_in_time([&](int ms) {
    label = numbered("quitter", ms);
    m = ticker(rt, label.c_str());
    ASSERT_EQ(send_top(rt, m, arm(3, ms)), Runtime::Result::Ok);
    ASSERT_EQ(send_top(rt, m, Event{"quit"}), Runtime::Result::Ok);  // an end effect
  });
  EXPECT_FALSE(rt.conversation(m.cid).has_value());
  wait_for_witness(rt, 3 * delay);
  EXPECT_TRUE(ticks_of(label.c_str()).empty());
  EXPECT_EQ(store->ops(m.cid), (std::vector<std::string>{"save", "save", "remove"}));
}

TEST_F(Lifecycle, ShutdownCancelsTimers) {
  Runtime witness(rig.registry, {});
  std::unique_ptr<Runtime> rt;
  Runtime::Minted m;
  std::string label;
  const int delay = first_round_in_time([&](int ms) {
    rt = std::make_unique<Runtime>(rig.registry, options_with(store));
    label = numbered("stopped", ms);
    m = ticker(*rt, label.c_str());
    ASSERT_EQ(send_top(*rt, m, arm(3, ms)), Runtime::Result::Ok);
    rt->shutdown();
  });
  wait_for_witness(witness, 3 * delay);
  EXPECT_TRUE(ticks_of(label.c_str()).empty());
  EXPECT_EQ(store->saves(m.cid), 3u);  // mint, arm, the shutdown flush
  rt.reset();
  EXPECT_EQ(store->saves(m.cid), 3u);
}

TEST_F(Lifecycle, DestroyingARuntimeWithPendingTimersIsSafe) {
  for (int round = 0; round < 20; ++round) {
    Runtime rt(rig.registry, options_with(store));
    const Runtime::Minted m = ticker(rt, "racing");
    ASSERT_EQ(send_top(rt, m, arm(50, round % 3)), Runtime::Result::Ok);
  }
  SUCCEED();  // ASan/TSan builds catch a callback into a destroyed runtime
}

TEST_F(Lifecycle, TheReaperEndsIdleConversationsAndKeepsBusyOnes) {
  RuntimeOptions o = options_with(store);
  // Long enough that a stalled test thread does not leave `busy` idle.
  o.conversation_ttl = 2s;
  o.reaper_interval = 20ms;
  Runtime rt(rig.registry, o);
  const Runtime::Minted idle = rt.mint("t/probe", edn::map({{kw("label"), "idle"}}));
  const Runtime::Minted busy = rt.mint("demo/counter");
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(rt.attach(idle.cid, idle.owner, out), Runtime::Result::Ok);
  // Keep `busy` touched until the reaper has taken `idle`.
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (!out->wait_closed(2ms) && std::chrono::steady_clock::now() < deadline)
    ASSERT_EQ(send_top(rt, busy, Event{"inc"}), Runtime::Result::Ok);
  ASSERT_TRUE(out->closed()) << "the reaper never ended the idle conversation";
  EXPECT_FALSE(rt.conversation(idle.cid).has_value());
  EXPECT_EQ(store->ops(idle.cid), (std::vector<std::string>{"save", "remove"}));
  EXPECT_EQ(starting_with(rig.journal->entries(), "stop"), std::vector<std::string>{"stop idle"});
  EXPECT_TRUE(rt.conversation(busy.cid).has_value());
  EXPECT_EQ(send_top(rt, idle, Event{"inc"}), Runtime::Result::NoConversation);
}

// A timer's event is not the browser's doing: a clock that re-arms itself
// for ever used to bump :conv/touched on every tick, and its conversation
// was never idle, so an abandoned page lived on (and saved) for good.
TEST_F(Lifecycle, TheReaperEndsAConversationKeptBusyOnlyByItsOwnTimer) {
  RuntimeOptions o = options_with(store);
  // Long enough that a stalled test thread still finds it before it goes.
  o.conversation_ttl = 1s;
  o.reaper_interval = 20ms;
  Runtime rt(rig.registry, o);
  const Runtime::Minted clock = rt.mint("rt/clock");
  ASSERT_EQ(send_top(rt, clock, Event{"start"}), Runtime::Result::Ok);
  const std::optional<Value> started = rt.conversation(clock.cid);
  ASSERT_TRUE(started.has_value()) << "reaped before the test could read it";
  const edn::Value started_at = started->get(conv::keys::touched());
  // Ticking: its state moves on, its :conv/touched does not.
  ASSERT_TRUE(store->wait_until([&] {
    const auto c = rt.conversation(clock.cid);
    return !c || top_frame(*c)[":ticks"].as_int() >= 3;
  }));
  if (const auto c = rt.conversation(clock.cid)) {
    EXPECT_EQ(c->get(conv::keys::touched()), started_at);
  }
  EXPECT_TRUE(store->wait_until([&] { return store->removes(clock.cid) == 1u; }))
      << "the reaper never ended a conversation only its own timer kept busy";
  EXPECT_FALSE(rt.conversation(clock.cid).has_value());
}

// A record without :conv/touched (written by hand or by an old version; the
// stores accept it) used to throw out of the reaper's round, and the round
// that threw never booked the next: nothing was reaped again. One touched
// in the year 9999 was never idle: it lived on through every restart.
TEST_F(Lifecycle, ARecordWithoutTouchedDoesNotStopTheReaper) {
  ScratchDir dir{"reaper"};
  std::ofstream(dir.path() / "cv-legacy.edn")
      << R"({:conv/id "cv-legacy", :conv/instances {}, :conv/stack [], :conv/history []})";
  std::ofstream(dir.path() / "cv-future.edn")
      << R"({:conv/id "cv-future", :conv/instances {}, :conv/stack [], :conv/history [],
             :conv/touched #inst "9999-12-31T00:00:00.000-00:00"})";
  auto legacy = std::make_shared<CountingStore>(file_store(dir.path()));
  LogCapture logs;
  RuntimeOptions o = options_with(legacy);
  o.conversation_ttl = 50ms;
  o.reaper_interval = 20ms;
  Runtime rt(rig.registry, o);
  ASSERT_EQ(rt.restored_count(), 2u);
  const Runtime::Minted m = rt.mint("demo/counter");
  EXPECT_TRUE(legacy->wait_until([&] { return legacy->removes(m.cid) == 1u; }))
      << "the reaper stopped after the record without :conv/touched";
  // The record itself counts as touched when the reaper first saw it, so it
  // goes one ttl later; the warning names it once.
  EXPECT_TRUE(legacy->wait_until([&] { return legacy->removes("cv-legacy") == 1u; }));
  EXPECT_FALSE(dir.has_file("cv-legacy"));
  EXPECT_TRUE(legacy->wait_until([&] { return legacy->removes("cv-future") == 1u; }));
  const auto warnings = [&](const char* cid, const char* what) {
    std::size_t n = 0;
    for (const std::string& w : logs.at(log::Level::warn))
      if (w.find(cid) != std::string::npos && w.find(what) != std::string::npos) ++n;
    return n;
  };
  EXPECT_EQ(warnings("cv-legacy", "has no :conv/touched"), 1u);
  EXPECT_EQ(warnings("cv-future", "in the future"), 1u);
}

TEST_F(Lifecycle, ImpossibleReaperSettingsAreRefusedBeforeTheStoreIsRead) {
  const auto refused = [&](RuntimeOptions o, std::string_view field) {
    try {
      Runtime rt(rig.registry, o);
      ADD_FAILURE() << "a runtime started with a bad " << field;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string_view(e.what()).find(field), std::string_view::npos) << e.what();
    }
  };
  RuntimeOptions o = options_with(store);
  o.conversation_ttl = 0ms;
  refused(o, "conversation_ttl");
  o.conversation_ttl = 300ms;
  o.reaper_interval = -1ms;
  refused(o, "reaper_interval");
  o.reaper_interval = 20ms;
  o.reaper_batch = 0;
  refused(o, "reaper_batch");
  EXPECT_EQ(store->load_calls(), 0u);
  o.reaper_batch = 1;
  Runtime rt(rig.registry, o);
  EXPECT_EQ(store->load_calls(), 1u);
}

// A save that failed (the backend was down) left the stored copy behind
// until the conversation's next event, perhaps never: a crash lost its
// steps, and a shared store's reaper took its old :conv/touched for idle.
// The reaper's rounds save such conversations again.
TEST_F(Lifecycle, TheReaperSavesAgainWhatAFailedSaveLeftBehind) {
  RuntimeOptions o = options_with(store);
  o.conversation_ttl = std::chrono::hours(1);
  o.reaper_interval = 20ms;
  Runtime rt(rig.registry, o);
  const Runtime::Minted m = rt.mint("demo/counter");
  expect_a_failed_save_made_again(rt, m);
  EXPECT_TRUE(rt.conversation(m.cid).has_value());
}

// Without a reaper too: a failed save is made again about a second later
// (runtime/retry_rounds.hpp), not only at the conversation's next event,
// which may never come; a crash meanwhile would lose the step.
TEST_F(Lifecycle, AFailedSaveIsMadeAgainWithoutAReaper) {
  Runtime rt(rig.registry, options_with(store));
  expect_a_failed_save_made_again(rt, rt.mint("demo/counter"));
}

// Rounds back off only while saves fail: a round that saved a full batch
// (reaper_batch) books the next one as soon as the first, not twice as late
// (four conversations one at a time took 1 + 2 + 4 + 8 s: the last saved
// 15 s on, against 4 s). One deadline for all four, between the two.
TEST_F(Lifecycle, FailedSavesBeyondABatchAreMadeAgainWithoutBackingOff) {
  RuntimeOptions o = options_with(store);
  o.reaper_batch = 1;
  Runtime rt(rig.registry, o);
  std::vector<Runtime::Minted> minted;
  for (int i = 0; i < 4; ++i) minted.push_back(rt.mint("demo/counter"));
  LogCapture logs;
  store->fail_saves(true);
  for (const Runtime::Minted& m : minted)
    ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  store->fail_saves(false);
  std::vector<Value> live;
  for (const Runtime::Minted& m : minted) live.push_back(*rt.conversation(m.cid));
  const auto all_saved = [&] {
    for (std::size_t i = 0; i < minted.size(); ++i)
      if (store->last_saved(minted[i].cid) != live[i]) return false;
    return true;
  };
  EXPECT_TRUE(store->wait_until(all_saved, 9s)) << "the four were not saved again within 9 s";
}

// While the store stays down, a round tries one of them and stops: each
// attempt may wait out a connection timeout on the timer thread, which also
// fires the components' timers (three conversations, three attempts per
// round, held a timer up for seconds). Without a reaper, the rounds are the
// retry rounds': the first a second after the failures, the next two
// seconds after that one failed (runtime/retry_rounds.hpp). A round that
// went on would make the other attempts right after its first.
TEST_F(Lifecycle, WhileTheStoreStaysDownARoundTriesOneFailedSaveAndStops) {
  Runtime rt(rig.registry, options_with(store));
  std::vector<Runtime::Minted> minted;
  for (int i = 0; i < 3; ++i) minted.push_back(rt.mint("demo/counter"));
  LogCapture logs;
  store->fail_saves(true);
  for (const Runtime::Minted& m : minted)
    ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  const auto failures = [&] {
    std::size_t n = 0;
    for (const Runtime::Minted& m : minted) {
      const std::vector<std::string> ops = store->ops(m.cid);
      n += static_cast<std::size_t>(std::count(ops.begin(), ops.end(), "failed save"));
    }
    return n;
  };
  ASSERT_EQ(failures(), 3u) << "an event's failed save went unrecorded";
  ASSERT_TRUE(store->wait_until([&] { return failures() > 3; }, 9s)) << "no retry round came";
  EXPECT_FALSE(store->wait_until([&] { return failures() > 4; }, 500ms))
      << "the round went on past a save that failed again";
  store->fail_saves(false);
}

// One conversation whose save fails every time (a record over the store's
// limit) must not keep the others from being saved again: rounds stop at a
// failure, and it came first in the map's order in every round, so the
// conversations after it were never saved again (a crash lost their steps).
// The store here poisons whichever conversation the first round tries.
TEST_F(Lifecycle, AConversationThatNeverSavesDoesNotHoldUpTheOthers) {
  Runtime rt(rig.registry, options_with(store));
  std::vector<Runtime::Minted> minted;
  for (int i = 0; i < 6; ++i) minted.push_back(rt.mint("demo/counter"));
  LogCapture logs;
  store->fail_saves(true);
  for (const Runtime::Minted& m : minted)
    ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  std::vector<Value> live;
  for (const Runtime::Minted& m : minted) live.push_back(*rt.conversation(m.cid));
  store->poison_next_save();
  store->fail_saves(false);
  const auto others_saved = [&] {
    const std::optional<std::string> poisoned = store->poisoned();
    if (!poisoned) return false;
    for (std::size_t i = 0; i < minted.size(); ++i) {
      if (minted[i].cid != *poisoned && store->last_saved(minted[i].cid) != live[i]) return false;
    }
    return true;
  };
  EXPECT_TRUE(store->wait_until(others_saved, 9s))
      << "the others were not saved again within 9 s of the store's return";
}

// end() while shutdown runs, on a conversation shutdown has stopped
// already, or after shutdown let go of them all, returned having done
// nothing: the record stayed, and the conversation the caller ended came
// back at the next start. Its record is removed (its stop hooks ran once).
TEST_F(Lifecycle, AnEndDuringOrAfterShutdownStillRemovesTheRecord) {
  auto reg = std::make_shared<Registry>();
  std::mutex mu;
  std::vector<std::string> stopped;  // labels, in order
  std::promise<std::string> first_stopped;
  std::promise<void> first_ended;
  std::shared_future<void> first_ended_seen = first_ended.get_future().share();
  reg->define("t/stopper").render([](const Self&) { return html::p("x"); }).stop([&](Self& s) {
    const std::string label(s[":label"].as_string());
    std::size_t n = 0;
    {
      std::lock_guard lock(mu);
      stopped.push_back(label);
      n = stopped.size();
    }
    if (n == 1) first_stopped.set_value(label);
    // The second waits until the test ended the first: shutdown is
    // still running then.
    if (n == 2) first_ended_seen.wait_for(kPatience);
  });
  Runtime rt(reg, options_with(store));
  std::map<std::string, std::string> cid_of;
  for (const char* label : {"a", "b"})
    cid_of[label] = rt.mint("t/stopper", edn::map({{kw("label"), label}})).cid;
  std::thread shutdown([&] { rt.shutdown(); });
  const std::string first = first_stopped.get_future().get();
  const std::string second = first == "a" ? "b" : "a";
  rt.end(cid_of[first]);
  first_ended.set_value();
  shutdown.join();
  EXPECT_EQ(store->removes(cid_of[first]), 1u) << "an end during shutdown removed nothing";
  EXPECT_EQ(store->removes(cid_of[second]), 0u);
  rt.end(cid_of[second]);
  EXPECT_EQ(store->removes(cid_of[second]), 1u) << "an end after shutdown removed nothing";
  EXPECT_EQ(stopped, (std::vector<std::string>{first, second})) << "stop hooks ran again";
  // Only those: a record this runtime never held (another server's, one
  // load_all skipped as unreadable) is not its to remove.
  rt.end("cv-never-held");
  EXPECT_EQ(store->removes("cv-never-held"), 0u) << "an end after shutdown removed a stranger";
}

// Without a TTL, and with one of "for ever" written as milliseconds::max()
// (more than any clock can subtract), nothing is reaped and nothing breaks.
TEST_F(Lifecycle, WithoutATtlOrWithAnEndlessOneTheReaperLeavesEverythingAlone) {
  for (const auto ttl : {std::optional<std::chrono::milliseconds>(),
                         std::optional(std::chrono::milliseconds::max())}) {
    RuntimeOptions o = options_with(store);
    o.conversation_ttl = ttl;
    o.reaper_interval = 5ms;
    Runtime rt(rig.registry, o);
    const Runtime::Minted m = rt.mint("demo/counter");
    wait_for_witness(rt, 100);
    EXPECT_TRUE(rt.conversation(m.cid).has_value());
    EXPECT_EQ(store->removes(m.cid), 0u);
  }
}

TEST_F(Lifecycle, ShutdownStopsChildrenBeforeParentsFlushesAndIsIdempotent) {
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = rt.mint("t/probe");
  ASSERT_EQ(send_top(rt, m, Event{"call", "child"}), Runtime::Result::Ok);
  ASSERT_EQ(send_top(rt, m, Event{"call", "grandchild"}), Runtime::Result::Ok);
  // A second conversation whose top frame's stop hook throws.
  const Runtime::Minted broken = rt.mint("t/probe", edn::map({{kw("label"), "other"}}));
  ASSERT_EQ(send_top(rt, broken, Event{"stop-break"}), Runtime::Result::Ok);
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  const Value final_value = *rt.conversation(m.cid);
  const std::size_t saves = store->saves(m.cid);
  rig.journal->clear();

  rt.shutdown();
  EXPECT_TRUE(rt.shutting_down());
  const std::vector<std::string> stops = rig.journal->entries();
  EXPECT_EQ(starting_with(stops, "stop r"), std::vector<std::string>{"stop root"});
  const auto at = [&](const std::string& e) { return std::find(stops.begin(), stops.end(), e); };
  ASSERT_NE(at("stop grandchild"), stops.end());
  EXPECT_LT(at("stop grandchild"), at("stop child"));
  EXPECT_LT(at("stop child"), at("stop root"));
  EXPECT_LT(at("stop broken"), at("stop other")) << "a failing stop hook does not stop the rest";
  EXPECT_TRUE(out->closed());
  EXPECT_EQ(store->saves(m.cid), saves + 1);
  EXPECT_EQ(store->last_saved(m.cid), final_value);
  EXPECT_EQ(store->saves(broken.cid), 3u);
  EXPECT_EQ(rt.size(), 0u);
  EXPECT_EQ(store->removes(m.cid), 0u) << "shutdown keeps conversations for the next start";

  rt.shutdown();  // idempotent: no more hooks, no more saves
  EXPECT_EQ(rig.journal->entries(), stops);
  EXPECT_EQ(store->saves(m.cid), saves + 1);
  EXPECT_THROW(rt.mint("demo/counter"), ShuttingDown);
  EXPECT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::NoConversation);
  EXPECT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::NoConversation);
}

TEST_F(Lifecycle, DestructionShutsDown) {
  std::string cid;
  auto out = std::make_shared<RecordingOutput>();
  {
    Runtime rt(rig.registry, options_with(store));
    const Runtime::Minted m = rt.mint("t/probe", edn::map({{kw("label"), "dying"}}));
    cid = m.cid;
    ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
    rig.journal->clear();
  }
  EXPECT_EQ(rig.journal->entries(), std::vector<std::string>{"stop dying"});
  EXPECT_TRUE(out->closed());
  EXPECT_EQ(store->saves(cid), 2u);
}

// Coroutine frames go away with their instance, whatever removes it.
class FlowFrames : public Lifecycle {
 protected:
  Runtime::Minted running_flow(Runtime& rt) {
    const Runtime::Minted m = rt.mint("demo/signup-page");
    EXPECT_EQ(send_top(rt, m, Event{"signup", "flow"}), Runtime::Result::Ok);
    const std::size_t before = live_flow_frames();
    EXPECT_EQ(send_top(rt, m, type_and_ok("Ada")), Runtime::Result::Ok);
    EXPECT_EQ(live_flow_frames(), before) << "the frame lives on while the flow waits";
    EXPECT_GT(live_flow_frames(), frames);
    return m;
  }
};

TEST_F(FlowFrames, AnswerDestroysTheFrame) {
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = running_flow(rt);
  ASSERT_EQ(send_top(rt, m, no()), Runtime::Result::Ok);
  ASSERT_EQ(send_top(rt, m, pick(0)), Runtime::Result::Ok);
  EXPECT_EQ(live_flow_frames(), frames);
  EXPECT_TRUE(rt.conversation(m.cid)->printable());
}

TEST_F(FlowFrames, EndDestroysTheFrame) {
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = running_flow(rt);
  rt.end(m.cid);
  EXPECT_EQ(live_flow_frames(), frames);
}

TEST_F(FlowFrames, TheReaperDestroysTheFrame) {
  RuntimeOptions o = options_with(store);
  o.conversation_ttl = 2s;  // long enough for running_flow's steps on a busy machine
  o.reaper_interval = 10ms;
  Runtime rt(rig.registry, o);
  const Runtime::Minted m = running_flow(rt);
  ASSERT_TRUE(store->wait_until([&] { return store->removes(m.cid) == 1u; }));
  EXPECT_EQ(live_flow_frames(), frames);
}

TEST_F(FlowFrames, ShutdownDestroysTheFrame) {
  Runtime rt(rig.registry, options_with(store));
  running_flow(rt);
  running_flow(rt);
  EXPECT_EQ(live_flow_frames(), frames + 2);
  rt.shutdown();
  EXPECT_EQ(live_flow_frames(), frames);
}

TEST_F(FlowFrames, RuntimeDestructionDestroysTheFrame) {
  {
    Runtime rt(rig.registry, options_with(store));
    running_flow(rt);
  }
  EXPECT_EQ(live_flow_frames(), frames);
}

TEST_F(FlowFrames, BackOutOfAFlowDestroysTheFrame) {
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = running_flow(rt);
  ASSERT_EQ(rt.back(m.cid, m.owner), Runtime::Result::Ok);
  EXPECT_EQ(top_type(*rt.conversation(m.cid)), "demo/signup-page");
  EXPECT_EQ(live_flow_frames(), frames);
}

}  // namespace
}  // namespace stube::test
