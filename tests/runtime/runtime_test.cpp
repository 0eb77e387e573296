// The runtime on one thread: minting, events, ownership, saves, errors,
// ending, streams, back.
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/rig.hpp"
#include "stube/conversation.hpp"

namespace stube::test {
namespace {

class RuntimeBasics : public ::testing::Test {
 protected:
  Value conv(const Runtime::Minted& m) const {
    auto c = rt.conversation(m.cid);
    EXPECT_TRUE(c.has_value()) << m.cid;
    return c ? *c : Value();
  }
  Value top(const Runtime::Minted& m) const { return top_frame(conv(m)); }

  Rig rig;
  std::shared_ptr<CountingStore> store = std::make_shared<CountingStore>();
  Runtime rt{rig.registry, options_with(store)};
};

TEST_F(RuntimeBasics, MintStartsAConversationSavesItAndRendersIt) {
  EXPECT_EQ(store->load_calls(), 1u);
  EXPECT_EQ(rt.restored_count(), 0u);
  const Runtime::Minted m = rt.mint("demo/counter");
  EXPECT_TRUE(conv::valid_id(m.cid));
  EXPECT_FALSE(m.owner.empty());
  EXPECT_NE(m.owner, m.cid);
  EXPECT_TRUE(contains(m.html, "Count: 0"));
  EXPECT_TRUE(contains(m.html, "<div id=\"" + runtime_top(rt, m.cid) + "\""));
  EXPECT_EQ(rt.size(), 1u);
  EXPECT_EQ(store->saves(m.cid), 1u);
  EXPECT_EQ(store->last_saved(m.cid), conv(m));
  EXPECT_EQ(conv::id(conv(m)), m.cid);
  EXPECT_NE(rt.mint("demo/counter").cid, m.cid);
}

// A view that throws when a page connects again (its data source down) is
// shown on the page as an error, as a wakeup hook's would be; it does not
// escape attach, and the conversation is as it was.
TEST(RuntimeAttach, AViewThatThrowsOnReconnectIsAHandlerError) {
  auto broken = std::make_shared<std::atomic<bool>>(false);
  auto reg = std::make_shared<Registry>();
  reg->define("t/fragile").render([broken](const Self&) {
    if (*broken) throw std::runtime_error("the view's data source is down");
    return html::p("fine");
  });
  auto store = std::make_shared<CountingStore>();
  Runtime rt(reg, options_with(store));
  const Runtime::Minted m = rt.mint("t/fragile");
  const Value before = *rt.conversation(m.cid);
  *broken = true;
  auto out = std::make_shared<RecordingOutput>();
  LogCapture log;
  EXPECT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::HandlerError);
  EXPECT_TRUE(out->has_html("the view&#39;s data source is down") ||
              out->has_html("the view's data source is down"))
      << "the error is not on the page";
  EXPECT_EQ(*rt.conversation(m.cid), before);
  *broken = false;
  auto again = std::make_shared<RecordingOutput>();
  EXPECT_EQ(rt.attach(m.cid, m.owner, again), Runtime::Result::Ok);
  EXPECT_TRUE(again->has_html("fine"));
}

// A start hook that ends the conversation (here a child's, called from the
// root's start hook) ends it before it was ever kept: every instance that
// started still gets its stop hook, as an end from an event gives them.
TEST(RuntimeMint, AnEndAskedForByAStartHookRunsTheStopHooks) {
  auto stopped = std::make_shared<std::vector<std::string>>();
  auto reg = std::make_shared<Registry>();
  reg->define("t/quitter").start([](Self& s) { s.end(Value("bye")); }).stop([stopped](Self&) {
    stopped->push_back("quitter");
  });
  reg->define("t/host")
      .start([](Self& s) { s.call(embed("t/quitter"), "k"); })
      .stop([stopped](Self&) { stopped->push_back("host"); })
      .resume("k", [](Self&, const Value&) {});
  auto store = std::make_shared<CountingStore>();
  Runtime rt(reg, options_with(store));
  const Runtime::Minted m = rt.mint("t/host");
  EXPECT_EQ(*stopped, (std::vector<std::string>{"quitter", "host"}));  // top first
  EXPECT_EQ(rt.size(), 0u);
  EXPECT_TRUE(store->ops(m.cid).empty()) << "never kept, so never saved";
}

// The runtime's threads read the registry without a lock: a define() after
// it took the registry is refused, not a change under a running handler.
// Before that, defining an id again replaces its definition in place, so a
// Definition still held for it stays usable.
TEST(RuntimeRegistry, DefinitionsAreFixedOnceARuntimeUsesTheRegistry) {
  auto reg = std::make_shared<Registry>();
  Definition first = reg->define("t/x");
  reg->define("t/x").render([](const Self&) { return html::p("second"); });
  first.render([](const Self&) { return html::p("through the first handle"); });
  Runtime rt(reg, options_with(std::make_shared<CountingStore>()));
  const Runtime::Minted m = rt.mint("t/x");
  EXPECT_NE(m.html.find("through the first handle"), std::string::npos) << m.html;
  try {
    reg->define("t/y");
    ADD_FAILURE() << "define() after the runtime took the registry";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("define(\"t/y\")"), std::string::npos) << e.what();
  }
  EXPECT_THROW(reg->define("t/x"), std::logic_error);
  EXPECT_EQ(reg->find("t/y"), nullptr);
  EXPECT_THROW(Runtime(nullptr), std::invalid_argument);
  // Nor through a Definition kept from before (a data race with the
  // runtime's threads): refused, naming the component, nothing changed.
  try {
    first.on("late", [](Self&) {});
    ADD_FAILURE() << "a handler added after the runtime took the registry";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("component :t/x"), std::string::npos) << e.what();
  }
  EXPECT_EQ(reg->find("t/x")->handlers.count("late"), 0u);
  EXPECT_THROW(first.render([](const Self&) { return html::p("late"); }), std::logic_error);
  // def(), the way to what the setters do not cover, is refused as they are.
  EXPECT_THROW(first.def(), std::logic_error);
  EXPECT_EQ(std::as_const(first).def().id, reg->find("t/x")->id);
}

// A runtime that could not start (its store could not load) leaves the
// registry open for the next attempt.
TEST(RuntimeRegistry, ARuntimeThatFailedToStartLeavesTheRegistryOpen) {
  struct Unloadable final : ConversationStore {
    ConversationMap load_all() override { throw StoreError("unloadable: the disk is gone"); }
    edn::Value save(const edn::Value& conv) override { return conv; }
    void remove(std::string_view) override {}
  };
  auto reg = std::make_shared<Registry>();
  reg->define("t/x");
  EXPECT_THROW(Runtime(reg, options_with(std::make_shared<Unloadable>())), StoreError);
  EXPECT_NO_THROW(reg->define("t/y"));
}

// max_conversations bounds what minting (a credential-free GET) can pile
// up; an end makes room again.
TEST(RuntimeLimits, MintPastMaxConversationsIsRefusedAndAnEndMakesRoom) {
  Rig rig;
  auto store = std::make_shared<CountingStore>();
  RuntimeOptions options = options_with(store);
  options.max_conversations = 2;
  Runtime rt(rig.registry, options);
  const Runtime::Minted first = rt.mint("demo/counter");
  (void)rt.mint("demo/counter");
  try {
    (void)rt.mint("demo/counter");
    ADD_FAILURE() << "a third conversation was minted";
  } catch (const TooManyConversations& e) {
    EXPECT_NE(std::string(e.what()).find("max_conversations"), std::string::npos) << e.what();
  }
  EXPECT_EQ(rt.size(), 2u);
  EXPECT_EQ(store->saves(), 2u) << "the refused mint was saved";
  rt.end(first.cid);
  EXPECT_NO_THROW(rt.mint("demo/counter"));
  EXPECT_EQ(rt.size(), 2u);
}

TEST_F(RuntimeBasics, MintRefusesAnUnknownComponent) {
  EXPECT_THROW(rt.mint("demo/nope"), std::invalid_argument);
  EXPECT_EQ(rt.size(), 0u);
  EXPECT_EQ(store->saves(), 0u);
}

TEST_F(RuntimeBasics, EveryEventIsSavedExactlyOnceWithItsFinalValue) {
  const Runtime::Minted m = rt.mint("demo/counter");
  for (int i = 1; i <= 20; ++i) {
    ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
    ASSERT_EQ(store->saves(m.cid), 1u + i);
    ASSERT_EQ(store->last_saved(m.cid), conv(m));
    ASSERT_EQ(top(m)[":count"], Value(i));
  }
}

TEST_F(RuntimeBasics, AnEventWithManyEffectsIsStillOneSave) {
  const Runtime::Minted m = rt.mint("demo/signup-page");
  // One click: the page calls the wizard, whose start hook calls a prompt.
  ASSERT_EQ(send_top(rt, m, Event{"signup", "task"}), Runtime::Result::Ok);
  EXPECT_EQ(stack_types(conv(m)),
            (std::vector<std::string>{"demo/signup-page", "demo/signup-task", "stube/prompt"}));
  EXPECT_EQ(store->saves(m.cid), 2u);
  // One answer: the prompt answers, the wizard resumes and calls the confirm.
  ASSERT_EQ(send_top(rt, m, type_and_ok("Ada")), Runtime::Result::Ok);
  EXPECT_EQ(top_type(conv(m)), "stube/confirm");
  EXPECT_EQ(store->saves(m.cid), 3u);
  EXPECT_EQ(store->last_saved(m.cid), conv(m));
}

// The second click of a double click reaches a frame that has called a
// dialog meanwhile: its view is gone from the page, so the event is stale
// (NoInstance: HTTP 204) instead of calling a second dialog.
TEST_F(RuntimeBasics, AnEventForAFrameBelowTheTopIsStale) {
  const Runtime::Minted m = rt.mint("demo/signup-page");
  const std::string page(top_instance(conv(m)));
  ASSERT_EQ(rt.dispatch(m.cid, page, Event{"signup", "task"}, m.owner), Runtime::Result::Ok);
  const Value after_first = conv(m);
  EXPECT_EQ(rt.dispatch(m.cid, page, Event{"signup", "task"}, m.owner),
            Runtime::Result::NoInstance);
  EXPECT_EQ(stack_types(conv(m)),
            (std::vector<std::string>{"demo/signup-page", "demo/signup-task", "stube/prompt"}));
  EXPECT_EQ(conv(m), after_first);
  EXPECT_EQ(store->saves(m.cid), 2u) << "nothing changed, nothing saved";
}

TEST_F(RuntimeBasics, TheOwnerTokenGuardsEveryEntryPoint) {
  const Runtime::Minted m = rt.mint("demo/counter");
  const std::string iid = runtime_top(rt, m.cid);
  const Value before = conv(m);
  auto out = std::make_shared<RecordingOutput>();
  for (const std::string& wrong : {std::string(), std::string("ow-nope"), m.cid}) {
    EXPECT_EQ(rt.dispatch(m.cid, iid, Event{"inc"}, wrong), Runtime::Result::Forbidden);
    EXPECT_EQ(rt.back(m.cid, wrong), Runtime::Result::Forbidden);
    EXPECT_EQ(rt.attach(m.cid, wrong, out), Runtime::Result::Forbidden);
  }
  EXPECT_EQ(conv(m), before);
  EXPECT_EQ(store->saves(m.cid), 1u);
  EXPECT_EQ(out->sends(), 0u);
}

TEST_F(RuntimeBasics, UnknownConversationsAndInstances) {
  const Runtime::Minted m = rt.mint("demo/counter");
  auto out = std::make_shared<RecordingOutput>();
  EXPECT_EQ(rt.dispatch("cv-nope", "ix-1", Event{"inc"}, m.owner), Runtime::Result::NoConversation);
  EXPECT_EQ(rt.back("cv-nope", m.owner), Runtime::Result::NoConversation);
  EXPECT_EQ(rt.attach("cv-nope", m.owner, out), Runtime::Result::NoConversation);
  const Value before = conv(m);
  EXPECT_EQ(rt.dispatch(m.cid, "ix-gone", Event{"inc"}, m.owner), Runtime::Result::NoInstance);
  EXPECT_EQ(conv(m), before);
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  const std::size_t sends = out->sends();
  EXPECT_EQ(rt.dispatch(m.cid, std::string(top_instance(before)), Event{"no-such"}, m.owner),
            Runtime::Result::UnknownEvent);
  EXPECT_EQ(conv(m), before);
  EXPECT_EQ(out->sends(), sends) << "nothing is shown for a bad event";
  EXPECT_EQ(store->saves(m.cid), 1u);
  EXPECT_FALSE(rt.conversation("cv-nope").has_value());
  rt.end("cv-nope");  // ending an unknown conversation is harmless
}

// A kept signal that does not fit a typed component's state: refused as bad
// input (for a 400), with what was wrong; nothing shown, saved or changed.
TEST_F(RuntimeBasics, ASignalOfTheWrongTypeIsRefusedWithTheReason) {
  const Runtime::Minted m = rt.mint("demo/todos");
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  const Value before = conv(m);
  const std::string iid(top_instance(before));
  const std::size_t sends = out->sends();
  std::string why;
  EXPECT_EQ(rt.dispatch(m.cid, iid, Event{"add", {}, edn::map({{kw("draft"), 42}})}, m.owner, &why),
            Runtime::Result::BadSignals);
  EXPECT_NE(why.find("state field 'draft'"), std::string::npos) << why;
  EXPECT_EQ(conv(m), before);
  EXPECT_EQ(out->sends(), sends);
  EXPECT_EQ(store->saves(m.cid), 1u);
  EXPECT_EQ(
      rt.dispatch(m.cid, iid, Event{"add", {}, edn::map({{kw("draft"), "milk"}})}, m.owner, &why),
      Runtime::Result::Ok);
  EXPECT_EQ(top(m)[":items"], edn::vec({"milk"}));
}

TEST_F(RuntimeBasics, AHandlerErrorIsShownAndChangesNothing) {
  const Runtime::Minted m = rt.mint("t/probe");
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  const Value before = conv(m);
  EXPECT_EQ(send_top(rt, m, Event{"boom"}), Runtime::Result::HandlerError);
  EXPECT_EQ(conv(m), before);
  EXPECT_EQ(store->saves(m.cid), 1u);
  const std::vector<Fragment> sent = out->fragments();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().target, kErrorElementId);
  EXPECT_TRUE(contains(sent.back().html, "boom &lt;b&gt;"));
  // The conversation is consistent: the next event works normally.
  EXPECT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  EXPECT_EQ(top(m)[":n"], Value(1));
  EXPECT_EQ(store->saves(m.cid), 2u);
}

TEST_F(RuntimeBasics, AFailingStoreIsLoggedAndTheLiveConversationCarriesOn) {
  LogCapture logs;
  const Runtime::Minted m = rt.mint("demo/counter");
  store->fail_saves(true);
  EXPECT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  EXPECT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  EXPECT_EQ(top(m)[":count"], Value(2));
  EXPECT_TRUE(logs.has(log::Level::error, {m.cid, "injected failure"}));
  EXPECT_EQ(store->ops(m.cid), (std::vector<std::string>{"save", "failed save", "failed save"}));
  store->fail_saves(false);
  EXPECT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  EXPECT_EQ(store->last_saved(m.cid), conv(m));
  EXPECT_EQ(top(m)[":count"], Value(3));
  // A failing remove is logged too, and the conversation still ends.
  store->fail_removes(true);
  rt.end(m.cid);
  EXPECT_FALSE(rt.conversation(m.cid).has_value());
  EXPECT_TRUE(logs.has(log::Level::error, {m.cid}));
}

// An ended conversation whose remove failed is still in the store, where
// a restart would find it: the remove is retried until it works.
TEST_F(RuntimeBasics, AFailedRemoveIsRetriedUntilTheStoreTakesIt) {
  LogCapture logs;
  const Runtime::Minted m = rt.mint("demo/counter");
  store->fail_removes(true);
  rt.end(m.cid);
  EXPECT_FALSE(rt.conversation(m.cid).has_value());
  EXPECT_TRUE(logs.has(log::Level::error, {m.cid, "injected failure", "retrying later"}));
  ASSERT_TRUE(store->wait_until([&] { return store->ops(m.cid).size() >= 3; }))
      << "the failed remove was not retried";
  store->fail_removes(false);
  ASSERT_TRUE(store->wait_until([&] { return store->removes(m.cid) == 1; }));
  const std::vector<std::string> ops = store->ops(m.cid);
  EXPECT_GE(std::count(ops.begin(), ops.end(), "failed remove"), 2);
  EXPECT_EQ(ops.back(), "remove");
  EXPECT_TRUE(logs.wait_for(
      log::Level::info,
      [&](const std::vector<std::string>& infos) {
        return std::any_of(infos.begin(), infos.end(), [&](const std::string& i) {
          return contains(i, m.cid) && contains(i, "from the store on retry");
        });
      },
      kPatience));
}

// Shutdown tries once more, without waiting for the retry's timer.
TEST_F(RuntimeBasics, ShutdownRetriesAFailedRemove) {
  LogCapture logs;
  const Runtime::Minted m = rt.mint("demo/counter");
  store->fail_removes(true);
  rt.end(m.cid);
  store->fail_removes(false);
  rt.shutdown();
  EXPECT_EQ(store->removes(m.cid), 1u);
  EXPECT_EQ(store->saves(m.cid), 1u) << "an ended conversation gets no final save";
  EXPECT_TRUE(logs.has(log::Level::info, {m.cid, "from the store at shutdown"}));
}

// While the store is down, a round of retries (here: shutdown's) stops at
// the first remove that fails: each attempt may wait for the store's
// timeouts, on the timer thread or holding up the shutdown.
TEST_F(RuntimeBasics, ARetryRoundStopsAtTheFirstFailedRemove) {
  LogCapture logs;
  const Runtime::Minted a = rt.mint("demo/counter");
  const Runtime::Minted b = rt.mint("demo/counter");
  store->fail_removes(true);
  rt.end(a.cid);
  rt.end(b.cid);
  rt.shutdown();
  const auto failed = [&](const std::string& cid) {
    const std::vector<std::string> ops = store->ops(cid);
    return std::count(ops.begin(), ops.end(), "failed remove");
  };
  std::size_t rounds = 0;
  for (const std::string& e : logs.at(log::Level::error))
    rounds += contains(e, "store remove still failing");
  EXPECT_GE(rounds, 1u);
  EXPECT_EQ(failed(a.cid) + failed(b.cid), 2 + static_cast<std::ptrdiff_t>(rounds))
      << "one attempt per round";
  EXPECT_TRUE(logs.has(log::Level::error,
                       {"still failing at shutdown", "2 ended conversation(s) left in the store"}));
}

TEST_F(RuntimeBasics, EndClosesTheStreamRunsStopHooksAndRemoves) {
  const Runtime::Minted m = rt.mint("t/probe", edn::map({{kw("label"), "ending"}}));
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  rig.journal->clear();
  rt.end(m.cid);
  EXPECT_TRUE(out->closed());
  EXPECT_EQ(rig.journal->entries(), std::vector<std::string>{"stop ending"});
  EXPECT_EQ(rt.size(), 0u);
  EXPECT_FALSE(rt.conversation(m.cid).has_value());
  EXPECT_EQ(store->ops(m.cid), (std::vector<std::string>{"save", "remove"}));
  EXPECT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::NoConversation);
  EXPECT_EQ(rt.dispatch(m.cid, "ix-any", Event{"inc"}, m.owner), Runtime::Result::NoConversation);
  rt.end(m.cid);  // idempotent
  EXPECT_EQ(store->removes(m.cid), 1u);
  EXPECT_EQ(rig.journal->entries().size(), 1u);
}

TEST_F(RuntimeBasics, AnEndEffectEndsTheConversationWithoutAFinalSave) {
  const Runtime::Minted m = rt.mint("demo/reminder");
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  EXPECT_EQ(send_top(rt, m, Event{"quit"}), Runtime::Result::Ok);
  EXPECT_TRUE(out->closed());
  EXPECT_FALSE(rt.conversation(m.cid).has_value());
  EXPECT_EQ(store->ops(m.cid), (std::vector<std::string>{"save", "remove"}));
}

TEST_F(RuntimeBasics, TheRootAnsweringEndsTheConversation) {
  const Runtime::Minted m = rt.mint("demo/signup-task");
  for (const Event& e : {type_and_ok("Ada"), yes(), pick(0)})
    ASSERT_EQ(send_top(rt, m, e), Runtime::Result::Ok);
  EXPECT_FALSE(rt.conversation(m.cid).has_value());
  EXPECT_EQ(store->removes(m.cid), 1u);
  EXPECT_EQ(store->ops(m.cid).back(), "remove");
}

TEST_F(RuntimeBasics, AttachSendsTheWholeViewAndFollowingPatches) {
  const Runtime::Minted m = rt.mint("demo/counter");
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  std::vector<Fragment> sent = out->fragments();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].target, kRootElementId);
  EXPECT_EQ(sent[0].mode, Fragment::Mode::Inner);
  EXPECT_EQ(sent[0].html, m.html);
  // A changed state without a patch re-renders the instance by its id.
  ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  sent = out->fragments();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].target, runtime_top(rt, m.cid));
  EXPECT_EQ(sent[1].mode, Fragment::Mode::Morph);
  EXPECT_TRUE(contains(sent[1].html, "Count: 1"));
  EXPECT_EQ(store->saves(m.cid), 2u) << "attaching is not a change";
}

TEST_F(RuntimeBasics, AReconnectReplacesTheStream) {
  const Runtime::Minted m = rt.mint("demo/counter");
  auto first = std::make_shared<RecordingOutput>();
  auto second = std::make_shared<RecordingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, first), Runtime::Result::Ok);
  ASSERT_EQ(rt.attach(m.cid, m.owner, second), Runtime::Result::Ok);
  EXPECT_TRUE(first->closed());
  ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  EXPECT_EQ(first->sends(), 1u);
  EXPECT_EQ(second->sends(), 2u);
  // Detaching a stream that was already replaced leaves the current one.
  rt.detach(m.cid, first.get());
  ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  EXPECT_EQ(second->sends(), 3u);
  rt.detach(m.cid, second.get());
  ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  EXPECT_EQ(second->sends(), 3u);
  EXPECT_EQ(top(m)[":count"], Value(3));
}

// An Output is the embedder's code. One whose close() throws must not
// leave an ended conversation behind (held, stored, counted); one whose
// send() throws is dropped, and the step it shows stands.
class ThrowingOutput : public Output {
 public:
  bool throw_on_send = false;
  void send(const std::vector<Fragment>&) override {
    if (throw_on_send) throw std::runtime_error("the socket is gone");
  }
  void close() override {
    ++closes;
    throw std::runtime_error("the socket is gone");
  }
  int closes = 0;
};

TEST_F(RuntimeBasics, AStreamWhoseCloseThrowsStillLetsTheConversationEnd) {
  const Runtime::Minted m = rt.mint("t/probe", edn::map({{kw("label"), "ending"}}));
  auto out = std::make_shared<ThrowingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  LogCapture log;
  rig.journal->clear();
  rt.end(m.cid);
  EXPECT_EQ(out->closes, 1);
  EXPECT_EQ(rig.journal->entries(), std::vector<std::string>{"stop ending"});
  EXPECT_EQ(rt.size(), 0u);
  EXPECT_EQ(store->ops(m.cid), (std::vector<std::string>{"save", "remove"}));
  EXPECT_TRUE(log.has(log::Level::error, {"the socket is gone"}));
}

TEST_F(RuntimeBasics, AStreamWhoseCloseThrowsDoesNotStopAShutdownHalfWay) {
  const Runtime::Minted a = rt.mint("t/probe", edn::map({{kw("label"), "a"}}));
  const Runtime::Minted b = rt.mint("t/probe", edn::map({{kw("label"), "b"}}));
  auto out_a = std::make_shared<ThrowingOutput>();
  auto out_b = std::make_shared<ThrowingOutput>();
  ASSERT_EQ(rt.attach(a.cid, a.owner, out_a), Runtime::Result::Ok);
  ASSERT_EQ(rt.attach(b.cid, b.owner, out_b), Runtime::Result::Ok);
  LogCapture log;
  rig.journal->clear();
  rt.shutdown();
  EXPECT_EQ(out_a->closes + out_b->closes, 2);
  std::vector<std::string> stopped = rig.journal->entries();
  std::ranges::sort(stopped);
  EXPECT_EQ(stopped, (std::vector<std::string>{"stop a", "stop b"}));
  EXPECT_EQ(rt.size(), 0u);
  rt.shutdown();  // nothing stopped twice
  EXPECT_EQ(rig.journal->entries().size(), 2u);
}

TEST_F(RuntimeBasics, AStreamWhoseSendThrowsIsDroppedAndTheEventStands) {
  const Runtime::Minted m = rt.mint("demo/counter");
  auto out = std::make_shared<ThrowingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  out->throw_on_send = true;
  LogCapture log;
  EXPECT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  EXPECT_EQ(top(m)[":count"], Value(1));
  EXPECT_EQ(store->last_saved(m.cid), conv(m));
  EXPECT_EQ(out->closes, 1);
  EXPECT_TRUE(log.has(log::Level::error, {"failed to send; dropping it"}));
  EXPECT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);  // no stream now: not sent
  EXPECT_EQ(out->closes, 1);
  EXPECT_EQ(top(m)[":count"], Value(2));
}

TEST_F(RuntimeBasics, BackRestoresThePreviousStepAndSavesIt) {
  const Runtime::Minted m = rt.mint("demo/counter");
  auto out = std::make_shared<RecordingOutput>();
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  ASSERT_EQ(send_top(rt, m, Event{"inc"}), Runtime::Result::Ok);
  ASSERT_EQ(rt.back(m.cid, m.owner), Runtime::Result::Ok);
  EXPECT_EQ(top(m)[":count"], Value(1));
  EXPECT_EQ(store->saves(m.cid), 4u);
  EXPECT_EQ(store->last_saved(m.cid), conv(m));
  EXPECT_TRUE(contains(out->fragments().back().html, "Count: 1"));
}

TEST_F(RuntimeBasics, HistoryStaysBounded) {
  RuntimeOptions o = options_with(store);
  o.kernel.history_limit = 4;
  Runtime small(rig.registry, o);
  const Runtime::Minted m = small.mint("demo/counter");
  for (int i = 0; i < 30; ++i) ASSERT_EQ(send_top(small, m, Event{"inc"}), Runtime::Result::Ok);
  EXPECT_EQ(conv::history(*small.conversation(m.cid)).size(), 4u);
}

}  // namespace
}  // namespace stube::test
