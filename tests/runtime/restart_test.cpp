// Persistence across runtimes: a task wizard survives a restart; a running
// flow is skipped by the durable store with a warning.
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/rig.hpp"
#include "stube/conversation.hpp"

namespace stube::test {
namespace {

class Restart : public ::testing::Test {
 protected:
  std::shared_ptr<CountingStore> open_store() {
    return std::make_shared<CountingStore>(file_store(dir.path()));
  }
  // A conversation of `component` minted by a runtime that then went away
  // (a restart): the next runtime on the directory restores it.
  Runtime::Minted minted_before_a_restart(const char* component) {
    Runtime a(rig.registry, options_with(open_store()));
    return a.mint(component);
  }

  // A rt/wake-clock conversation that got `events` in a runtime that then
  // went away (a restart).
  Runtime::Minted clock_before_a_restart(std::initializer_list<const char*> events) {
    Runtime a(rig.registry, options_with(open_store()));
    const Runtime::Minted m = a.mint("rt/wake-clock");
    for (const char* event : events)
      EXPECT_EQ(send_top(a, m, Event{event}), Runtime::Result::Ok) << event;
    return m;
  }
  // Its page is back on the next runtime `b`: the wakeups run, and the
  // clock ticks (twice, seen through `store`, which each tick saves to).
  static void attach_until_ticking(Runtime& b, const Runtime::Minted& m, CountingStore& store);

  Rig rig;
  ScratchDir dir{"restart"};
};

TEST_F(Restart, ATaskWizardResumesAtTheSameStepAndFinishes) {
  Runtime::Minted m;
  std::string top_before;
  {
    Runtime a(rig.registry, options_with(open_store()));
    m = a.mint("demo/signup-page");
    ASSERT_EQ(send_top(a, m, Event{"signup", "task"}), Runtime::Result::Ok);
    ASSERT_EQ(send_top(a, m, type_and_ok("Ada")), Runtime::Result::Ok);
    ASSERT_EQ(send_top(a, m, yes()), Runtime::Result::Ok);
    top_before = runtime_top(a, m.cid);
    ASSERT_EQ(top_type(*a.conversation(m.cid)), "stube/choose");
  }  // runtime A goes away (a deploy, a crash after the last save)
  ASSERT_TRUE(dir.has_file(m.cid));

  auto store = open_store();
  Runtime b(rig.registry, options_with(store));
  EXPECT_EQ(b.restored_count(), 1u);
  ASSERT_TRUE(b.conversation(m.cid).has_value());
  EXPECT_EQ(runtime_top(b, m.cid), top_before);
  EXPECT_EQ(stack_types(*b.conversation(m.cid)),
            (std::vector<std::string>{"demo/signup-page", "demo/signup-task", "stube/choose"}));

  auto out = std::make_shared<RecordingOutput>();
  EXPECT_EQ(b.attach(m.cid, "ow-someone-else", out), Runtime::Result::Forbidden);
  ASSERT_EQ(b.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  EXPECT_TRUE(out->has_html("Your plan?"));
  ASSERT_EQ(send_top(b, m, pick(1)), Runtime::Result::Ok);
  const Value page = top_frame(*b.conversation(m.cid));
  EXPECT_EQ(page[":instance/type"], kw("demo/signup-page"));
  EXPECT_EQ(page[":result"], edn::read(R"({:name "Ada", :newsletter true, :plan "pro"})"));
  EXPECT_TRUE(out->has_html("Last sign-up: "));
  // The finished state is what the directory holds now.
  EXPECT_EQ(store->last_saved(m.cid), b.conversation(m.cid));
  EXPECT_EQ(file_store(dir.path())->load_all().at(m.cid), *b.conversation(m.cid));
}

// A shared store whose saves can be made to lose the version race while
// the newer version cannot be loaded (another server saved, then the
// database went away): the runtime's "try again later" (Unavailable).
class RacingSharedStore : public ConversationStore {
 public:
  ConversationMap load_all() override { return inner_->load_all(); }
  edn::Value save(const edn::Value& conv) override {
    if (saved_elsewhere.exchange(false)) {  // another server saves the record first
      const std::string cid(conv::id(conv));
      inner_->save(inner_->load_all().at(cid));
      throw StaleConversation("another server saved it first");
    }
    if (racing) {
      lost = true;
      throw StaleConversation("another server saved it first");
    }
    return inner_->save(conv);
  }
  void remove(std::string_view cid) override { inner_->remove(cid); }
  bool shared() const noexcept override { return true; }
  std::optional<edn::Value> load(std::string_view cid) override {
    if (racing && lost) throw StoreError("the database is down");
    ConversationMap all = inner_->load_all();  // the file store has no load of one
    const auto it = all.find(std::string(cid));
    return it == all.end() ? std::nullopt : std::optional<edn::Value>(it->second);
  }
  std::atomic<bool> racing{false}, lost{false};
  std::atomic<bool> saved_elsewhere{false};  // the next save loses to a loadable version

  explicit RacingSharedStore(const std::filesystem::path& dir) : inner_(file_store(dir)) {}

 private:
  std::shared_ptr<ConversationStore> inner_;
};

// A conversation of `component` that another server started (owner
// "ow-test"), saved to `store`; its cid.
std::string started_elsewhere(ConversationStore& store, const Registry& registry,
                              std::string_view component) {
  const edn::Value conv = start_conversation(registry, component, {}, KernelOptions{})
                              .conv.assoc(kw("stube/owner"), Value("ow-test"));
  store.save(conv);
  return std::string(conv::id(conv));
}

// A stream whose attach answered "try again later" is not served (503): it
// must not stay the conversation's stream either, taking the patches meant
// for the one the browser opens next.
TEST_F(Restart, AStreamRefusedAsUnavailableIsNotKept) {
  auto store = std::make_shared<RacingSharedStore>(dir.path());
  // A conversation another server started: this one loads it on the stream.
  const Runtime::Minted m{started_elsewhere(*store, *rig.registry, "demo/counter"), "ow-test", ""};
  Runtime b(rig.registry, options_with(store));
  auto refused = std::make_shared<RecordingOutput>();
  store->racing = true;  // the restored page's wakeup loses the race, unloadable
  ASSERT_EQ(b.attach(m.cid, m.owner, refused), Runtime::Result::Unavailable);
  ASSERT_TRUE(store->lost);
  store->racing = false;
  // An event before the browser's stream comes back (from another tab, or
  // a timer): its patch has no stream to go to.
  ASSERT_EQ(send_top(b, m, Event{"inc"}), Runtime::Result::Ok);
  EXPECT_EQ(refused->sends(), 0u) << "the refused stream was kept";
  auto next = std::make_shared<RecordingOutput>();
  ASSERT_EQ(b.attach(m.cid, m.owner, next), Runtime::Result::Ok);
  EXPECT_TRUE(next->has_html("Count: 1")) << "the next stream got no view, or not the event's";
  EXPECT_EQ(top_frame(*b.conversation(m.cid))[":count"], Value(1));
}

// The wakeup of a restored page whose step was dropped (Unavailable) did not
// happen as far as the conversation is concerned: the next stream runs it.
TEST_F(Restart, AWakeupDroppedAsUnavailableRunsOnTheNextStream) {
  auto store = std::make_shared<RacingSharedStore>(dir.path());
  const std::string cid = started_elsewhere(*store, *rig.registry, "rt/wakey");
  Runtime b(rig.registry, options_with(store));
  store->racing = true;
  ASSERT_EQ(b.attach(cid, "ow-test", std::make_shared<RecordingOutput>()),
            Runtime::Result::Unavailable);
  store->racing = false;
  auto next = std::make_shared<RecordingOutput>();
  ASSERT_EQ(b.attach(cid, "ow-test", next), Runtime::Result::Ok);
  EXPECT_EQ(top_frame(*b.conversation(cid))[":wakeups"], Value(1));
  EXPECT_TRUE(next->has_html("wakeups: 1"));
}

// A wakeup that lost the race to a version it can load was dropped with
// that step; the reloaded version is woken instead (its wakeup re-arms the
// timers, and the like), not left as if it had woken.
TEST_F(Restart, AWakeupThatLostTheRaceWakesTheReloadedVersion) {
  auto store = std::make_shared<RacingSharedStore>(dir.path());
  const std::string cid = started_elsewhere(*store, *rig.registry, "rt/wakey");
  Runtime b(rig.registry, options_with(store));
  store->saved_elsewhere = true;
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(b.attach(cid, "ow-test", out), Runtime::Result::Ok);
  EXPECT_FALSE(store->saved_elsewhere) << "the wakeup saved nothing";
  EXPECT_EQ(top_frame(*b.conversation(cid))[":wakeups"], Value(1));
  EXPECT_TRUE(out->wait_for_html("wakeups: 1"));
  // It has woken: a reconnect only redraws.
  ASSERT_EQ(b.attach(cid, "ow-test", std::make_shared<RecordingOutput>()), Runtime::Result::Ok);
  EXPECT_EQ(top_frame(*b.conversation(cid))[":wakeups"], Value(1));
}

TEST_F(Restart, StartupLoadsEveryConversationBeforeTheConstructorReturns) {
  std::vector<std::string> cids;
  {
    Runtime a(rig.registry, options_with(open_store()));
    for (int i = 0; i < 5; ++i) cids.push_back(a.mint("demo/counter").cid);
  }
  auto store = open_store();
  Runtime b(rig.registry, options_with(store));
  EXPECT_EQ(store->load_calls(), 1u);
  EXPECT_EQ(b.restored_count(), 5u);
  EXPECT_EQ(b.size(), 5u);
  for (const std::string& cid : cids) EXPECT_TRUE(b.conversation(cid).has_value()) << cid;
}

TEST_F(Restart, ARestoredConversationWakesOnceWhenTheBrowserAttaches) {
  const Runtime::Minted m = minted_before_a_restart("rt/wakey");
  EXPECT_EQ(rig.journal->entries(), std::vector<std::string>{});
  Runtime b(rig.registry, options_with(open_store()));
  EXPECT_TRUE(rig.journal->entries().empty()) << "nothing wakes before the browser is back";
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(b.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  EXPECT_EQ(rig.journal->entries(), std::vector<std::string>{"wakeup"});
  ASSERT_FALSE(out->fragments().empty());
  EXPECT_EQ(out->fragments()[0].target, kRootElementId);
  EXPECT_TRUE(out->has_html("wakeups: 1"));
  // A reconnect of the same browser is not a restore.
  ASSERT_EQ(b.attach(m.cid, m.owner, std::make_shared<RecordingOutput>()), Runtime::Result::Ok);
  EXPECT_EQ(rig.journal->entries().size(), 1u);
}

// A click in the moment before the page's stream is back (it reconnects
// with a backoff) reaches a woken frame: the wakeup runs first, once, and
// the stream that comes next only redraws.
TEST_F(Restart, AnEventBeforeTheFirstStreamRunsAfterTheWakeup) {
  const Runtime::Minted m = minted_before_a_restart("rt/wakey");
  Runtime b(rig.registry, options_with(open_store()));
  ASSERT_EQ(send_top(b, m, Event{"noop"}), Runtime::Result::Ok);
  EXPECT_EQ(rig.journal->entries(), std::vector<std::string>{"wakeup"});
  EXPECT_EQ(top_frame(*b.conversation(m.cid))[":wakeups"], Value(1));
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(b.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  EXPECT_EQ(rig.journal->entries().size(), 1u) << "woken twice";
  EXPECT_TRUE(out->has_html("wakeups: 1"));
}

// So does a back: the restored conversation wakes before it goes back.
TEST_F(Restart, ABackBeforeTheFirstStreamRunsAfterTheWakeup) {
  const Runtime::Minted m = minted_before_a_restart("rt/wakey");
  Runtime b(rig.registry, options_with(open_store()));
  ASSERT_EQ(b.back(m.cid, m.owner), Runtime::Result::Ok);  // no history: nothing to undo
  EXPECT_EQ(rig.journal->entries(), std::vector<std::string>{"wakeup"});
  ASSERT_EQ(b.attach(m.cid, m.owner, std::make_shared<RecordingOutput>()), Runtime::Result::Ok);
  EXPECT_EQ(rig.journal->entries().size(), 1u);
}

// A wakeup that throws on an event has no page to show its error on: the
// stream that attaches next runs it again and shows the error.
TEST_F(Restart, AWakeupThatFailedOnAnEventIsShownByTheNextStream) {
  const Runtime::Minted m = minted_before_a_restart("rt/sleepy");
  Runtime b(rig.registry, options_with(open_store()));
  EXPECT_EQ(send_top(b, m, Event{"noop"}), Runtime::Result::Ok);
  auto out = std::make_shared<RecordingOutput>();
  EXPECT_EQ(b.attach(m.cid, m.owner, out), Runtime::Result::HandlerError);
  EXPECT_TRUE(out->has_html("the sleepy one will not wake"));
  EXPECT_EQ(rig.journal->entries(), (std::vector<std::string>{"wakeup failed", "wakeup failed"}));
}

// The root's :ticks, wherever it is on the stack.
std::int64_t root_ticks(const Runtime& rt, const std::string& cid) {
  const auto c = rt.conversation(cid);
  return c ? conv::instance(*c, conv::stack(*c).at(0).as_string())[":ticks"].as_int() : -1;
}

void Restart::attach_until_ticking(Runtime& b, const Runtime::Minted& m, CountingStore& store) {
  ASSERT_EQ(b.attach(m.cid, m.owner, std::make_shared<RecordingOutput>()), Runtime::Result::Ok);
  ASSERT_TRUE(store.wait_until([&] { return root_ticks(b, m.cid) >= 2; }));
}

// After a restart every frame's wakeup re-arms its timers, and back keeps
// those of the frames it leaves under the top: a clock under a dialog goes
// on when back undoes what was done in the dialog (it stopped for good).
TEST_F(Restart, BackKeepsTheTimersAWakeupReArmedUnderTheTop) {
  // A dialog over the clock, and a moment in the dialog.
  const Runtime::Minted m = clock_before_a_restart({"open", "inc"});
  auto store = open_store();
  Runtime b(rig.registry, options_with(store));
  attach_until_ticking(b, m, *store);
  ASSERT_EQ(b.back(m.cid, m.owner), Runtime::Result::Ok);
  ASSERT_EQ(top_frame(*b.conversation(m.cid))[":incs"], Value(0));
  const std::int64_t at_back = root_ticks(b, m.cid);
  EXPECT_TRUE(store->wait_until([&] { return root_ticks(b, m.cid) >= at_back + 2; }))
      << "the clock stopped at " << root_ticks(b, m.cid);
  b.end(m.cid);
}

// What back's wakeup does to the stack does not count, only whose wakeup
// ran: a dialog that answers itself when back wakes it puts the clock's
// frame on top, and its clock, which no wakeup re-armed this time, goes on.
TEST_F(Restart, BackKeepsTheTimersOfAFrameAWakeupAnsweredBackTo) {
  const Runtime::Minted m = clock_before_a_restart({"open-expiring"});
  auto store = open_store();
  Runtime b(rig.registry, options_with(store));
  attach_until_ticking(b, m, *store);
  ASSERT_EQ(send_top(b, m, Event{"inc"}), Runtime::Result::Ok);  // a moment in the dialog
  ASSERT_EQ(b.back(m.cid, m.owner), Runtime::Result::Ok);
  ASSERT_EQ(top_frame(*b.conversation(m.cid))[":instance/type"], kw("rt/wake-clock"))
      << "the dialog did not answer when back woke it";
  const std::int64_t at_back = root_ticks(b, m.cid);
  EXPECT_TRUE(store->wait_until([&] { return root_ticks(b, m.cid) >= at_back + 2; }))
      << "the clock stopped at " << root_ticks(b, m.cid);
  b.end(m.cid);
}

// A frame back puts on top wakes again and re-arms its clock: the one its
// first wakeup set going stops, or it would tick twice as often.
TEST_F(Restart, BackToAWokenFrameLeavesItOneClock) {
  const Runtime::Minted m = clock_before_a_restart({"inc"});  // a moment back undoes
  auto store = open_store();
  Runtime b(rig.registry, options_with(store));
  attach_until_ticking(b, m, *store);  // clock 1
  // The first back undoes the clock the restart's wakeup set going, the
  // second the one the first back's wakeup did (it belongs to no moment
  // from before the restart: once it ran on beside clock 3).
  for (int round = 1; round <= 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    if (round > 1) {
      ASSERT_EQ(send_top(b, m, Event{"inc"}), Runtime::Result::Ok);
    }
    ASSERT_EQ(b.back(m.cid, m.owner), Runtime::Result::Ok);  // clock round + 1
    expect_only_the_newest_clock(*store, *rig.journal, rig.journal->entries().size(), "clock",
                                 round + 1);
  }
  b.end(m.cid);
}

TEST_F(Restart, FreshConversationsDoNotWakeOnAttach) {
  Runtime a(rig.registry, options_with(open_store()));
  const Runtime::Minted m = a.mint("rt/wakey");
  ASSERT_EQ(a.attach(m.cid, m.owner, std::make_shared<RecordingOutput>()), Runtime::Result::Ok);
  EXPECT_TRUE(rig.journal->entries().empty());
}

TEST_F(Restart, AFlowIsSkippedByTheFileStoreWithAWarningButRunsLive) {
  LogCapture logs;
  auto store = open_store();
  Runtime rt(rig.registry, options_with(store));
  const Runtime::Minted m = rt.mint("demo/signup-flow");
  EXPECT_FALSE(dir.has_file(m.cid));
  EXPECT_TRUE(logs.has(log::Level::warn, {m.cid, "task component"}));
  EXPECT_EQ(store->saves(m.cid), 1u) << "the runtime asks; the store declines";
  for (const Event& e : {type_and_ok("Ada"), yes()}) {
    ASSERT_EQ(send_top(rt, m, e), Runtime::Result::Ok);
    EXPECT_FALSE(dir.has_file(m.cid));
  }
  // The flow answers: the conversation ends, and there is nothing to remove.
  ASSERT_EQ(send_top(rt, m, pick(0)), Runtime::Result::Ok);
  EXPECT_FALSE(rt.conversation(m.cid).has_value());
  EXPECT_FALSE(dir.has_file(m.cid));
}

TEST_F(Restart, AConversationIsDurableAgainOnceItsFlowHasAnswered) {
  LogCapture logs;
  Runtime::Minted m;
  {
    Runtime a(rig.registry, options_with(open_store()));
    m = a.mint("demo/signup-page");
    ASSERT_TRUE(dir.has_file(m.cid));
    ASSERT_EQ(send_top(a, m, Event{"signup", "flow"}), Runtime::Result::Ok);
    for (const Event& e : {type_and_ok("Bo"), no()})
      ASSERT_EQ(send_top(a, m, e), Runtime::Result::Ok);
    // Mid-flow the file still holds the page from before the flow started.
    EXPECT_EQ(file_store(dir.path())->load_all().at(m.cid)[":conv/stack"].size(), 1u);
    ASSERT_EQ(send_top(a, m, pick(1)), Runtime::Result::Ok);
  }
  Runtime b(rig.registry, options_with(open_store()));
  ASSERT_TRUE(b.conversation(m.cid).has_value());
  EXPECT_EQ(top_frame(*b.conversation(m.cid))[":result"],
            edn::read(R"({:name "Bo", :newsletter false, :plan "pro"})"));
  EXPECT_TRUE(logs.has(log::Level::warn, {m.cid, "task component"}));
}

TEST_F(Restart, AnEndedConversationIsNotRestored) {
  {
    Runtime a(rig.registry, options_with(open_store()));
    const Runtime::Minted m = a.mint("demo/counter");
    a.end(m.cid);
    EXPECT_FALSE(dir.has_file(m.cid));
  }
  Runtime b(rig.registry, options_with(open_store()));
  EXPECT_EQ(b.restored_count(), 0u);
}

}  // namespace
}  // namespace stube::test
