// The durable shape (task component) and the transient shape (coroutine
// flow) of the same wizard, side by side; coroutine frame lifetimes.
#include "stube/flow.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "kernel/doc_examples.hpp"
#include "kernel/support.hpp"
#include "stube/kernel.hpp"

namespace stube::test {
namespace {

const char* const kTask = "demo/signup-task";
const char* const kFlow = "demo/signup-flow";

struct Scenario {
  const char* label;
  std::vector<Event> script;  // answers to the dialogs, in order
  Value expected;             // what the wizard answers
};

Value signup(const char* name, bool newsletter, const char* plan) {
  return edn::map({{kw("name"), name}, {kw("newsletter"), newsletter}, {kw("plan"), plan}});
}

std::vector<Scenario> scenarios() {
  return {
      {"happy path", {type_and_ok("Ada"), yes(), pick(1)}, signup("Ada", true, "pro")},
      {"no newsletter", {type_and_ok("Bob"), no(), pick(0)}, signup("Bob", false, "free")},
      {"cancel at name", {cancel()}, cancel_value()},
      {"cancel at plan", {type_and_ok("Cy"), yes(), cancel()}, cancel_value()},
  };
}

// What the user saw and what came out of one run of a wizard.
struct WizardRun {
  std::vector<std::string> dialogs;  // "stube/prompt: Your name?" per step
  std::vector<std::size_t> depths;   // stack depth per step
  Value result;                      // the answer the wizard gave
  bool printable_throughout = true;  // every intermediate conversation
};

std::string dialog_of(const Value& conv) {
  return top_type(conv) + ": " + edn::write(top_frame(conv)[":question"]);
}

// Runs the wizard `id` as the root of a conversation: its answer ends it.
WizardRun run_as_root(const Registry& reg, const char* id, const std::vector<Event>& script) {
  WizardRun run;
  Step s = start_conversation(reg, id, {}, {});
  for (const Event& e : script) {
    EXPECT_FALSE(s.ended);
    run.dialogs.push_back(dialog_of(s.conv));
    run.depths.push_back(conv::stack(s.conv).size());
    run.printable_throughout = run.printable_throughout && s.conv.printable();
    s = send_top(reg, s.conv, e);
  }
  EXPECT_TRUE(s.ended);
  run.result = s.end_value;
  return run;
}

// Runs the wizard `id` called from :demo/signup-page: its answer is stored.
WizardRun run_from_page(const Registry& reg, const char* id, const std::vector<Event>& script) {
  WizardRun run;
  Step s = start_conversation(reg, "demo/signup-page", {}, {});
  s = send_top(reg, s.conv, Event{"signup", id == kTask ? "task" : "flow"});
  for (const Event& e : script) {
    run.dialogs.push_back(dialog_of(s.conv));
    run.depths.push_back(conv::stack(s.conv).size());
    run.printable_throughout = run.printable_throughout && s.conv.printable();
    s = send_top(reg, s.conv, e);
  }
  EXPECT_FALSE(s.ended);
  EXPECT_EQ(top_type(s.conv), "demo/signup-page");
  EXPECT_EQ(conv::stack(s.conv).size(), 1u);
  EXPECT_TRUE(s.conv.printable()) << "a finished flow leaves nothing live behind";
  EXPECT_TRUE(contains(render_top(reg, s.conv, {}), "Last sign-up: "));
  run.result = top_frame(s.conv)[":result"];
  return run;
}

class TaskVsFlow : public ::testing::Test {
 protected:
  void SetUp() override { baseline = live_flow_frames(); }
  void TearDown() override { EXPECT_EQ(live_flow_frames(), baseline) << "leaked coroutine frames"; }
  Registry reg = doc_registry();
  std::size_t baseline = 0;
};

TEST_F(TaskVsFlow, SameDialogsSameAnswersAsRoot) {
  for (const Scenario& sc : scenarios()) {
    SCOPED_TRACE(sc.label);
    const WizardRun task = run_as_root(reg, kTask, sc.script);
    const WizardRun flow = run_as_root(reg, kFlow, sc.script);
    EXPECT_EQ(task.result, sc.expected);
    EXPECT_EQ(flow.result, sc.expected);
    EXPECT_EQ(task.dialogs, flow.dialogs);
    EXPECT_EQ(task.depths, flow.depths);
  }
}

TEST_F(TaskVsFlow, SameDialogsSameAnswersWhenCalledFromAPage) {
  for (const Scenario& sc : scenarios()) {
    SCOPED_TRACE(sc.label);
    const WizardRun task = run_from_page(reg, kTask, sc.script);
    const WizardRun flow = run_from_page(reg, kFlow, sc.script);
    EXPECT_EQ(task.result, sc.expected);
    EXPECT_EQ(flow.result, sc.expected);
    EXPECT_EQ(task.dialogs, flow.dialogs);
  }
}

TEST_F(TaskVsFlow, TheDialogsAskWhatTheWizardSays) {
  const WizardRun run = run_as_root(reg, kFlow, scenarios()[0].script);
  EXPECT_EQ(run.dialogs, (std::vector<std::string>{"stube/prompt: \"Your name?\"",
                                                   "stube/confirm: \"Newsletter for Ada?\"",
                                                   "stube/choose: \"Your plan?\""}));
  EXPECT_EQ(run.depths, (std::vector<std::size_t>{2, 2, 2}));
}

TEST_F(TaskVsFlow, OnlyTheTaskIsPrintableWhileRunning) {
  const std::vector<Event> script = scenarios()[0].script;
  EXPECT_TRUE(run_as_root(reg, kTask, script).printable_throughout);
  EXPECT_FALSE(run_from_page(reg, kFlow, script).printable_throughout);
  const Step s = start_conversation(reg, kFlow, {}, {});
  EXPECT_FALSE(s.conv.printable());
  EXPECT_TRUE(contains(edn::write(s.conv), "#object["));
}

TEST_F(TaskVsFlow, ATaskSurvivesARoundTripThroughTextAtEveryStep) {
  for (const Scenario& sc : scenarios()) {
    SCOPED_TRACE(sc.label);
    Step s = start_conversation(reg, kTask, {}, {});
    for (const Event& e : sc.script) {
      const Value restored = edn::read(edn::write(s.conv));
      ASSERT_EQ(restored, s.conv);
      s = send_top(reg, restored, e);
    }
    EXPECT_TRUE(s.ended);
    EXPECT_EQ(s.end_value, sc.expected);
  }
}

// The page calls what it offers, not a component a forged payload names.
TEST_F(TaskVsFlow, ThePageRefusesAPayloadItDoesNotOffer) {
  const Step page = start_conversation(reg, "demo/signup-page", {}, {});
  for (const Value& forged : {Value("demo/signup-task"), Value(5), Value()}) {
    const Step s = dispatch(reg, page.conv, top_instance(page.conv), Event{"signup", forged}, {});
    EXPECT_EQ(s.status, Step::Status::BadEvent) << edn::write(forged);
    EXPECT_EQ(s.conv, page.conv);
  }
}

TEST_F(TaskVsFlow, FlowHistoryHoldsNoLiveFrames) {
  Step s = start_conversation(reg, "demo/signup-page", {}, {});
  s = send_top(reg, s.conv, Event{"signup", "flow"});
  s = send_top(reg, s.conv, type_and_ok("Ada"));
  for (const Value& snapshot : conv::history(s.conv)) EXPECT_TRUE(snapshot.printable());
  // Going back leaves the flow: the page is on top again.
  Step b = go_back(reg, s.conv, {});
  ASSERT_EQ(b.status, Step::Status::Ok);
  EXPECT_EQ(top_type(b.conv), "demo/signup-page");
  EXPECT_TRUE(b.conv.printable());
}

class FlowFrames : public ::testing::Test {
 protected:
  FlowFrames() {
    define_signup_page(reg);
    define_signup_flow(reg);
    define_flow(reg, "t/echo-flow", [](Value args) -> Flow {
      const Value ok = co_await await(confirm("Echo?"));
      co_return edn::vec({args, ok});
    });
    // Takes its arguments by reference and reads them after each await.
    define_flow(reg, "t/echo-by-ref", [](const Value& args) -> Flow {
      const Value first = co_await await(confirm("One?"));
      const Value second = co_await await(confirm("Two?"));
      co_return edn::vec({args, first, second});
    });
    define_flow(reg, "t/failing-flow", [](Value) -> Flow {
      (void)co_await await(confirm("Fail?"));
      throw std::runtime_error("flow body failed");
    });
    define_flow(reg, "t/failing-at-once", [](Value) -> Flow {
      throw std::runtime_error("failed before the first await");
      co_return Value();
    });
    define_flow(reg, "t/throws-an-int", [](Value) -> Flow {
      co_await await(confirm("Sure?"));
      throw 42;
      co_return Value();
    });
    define_flow(reg, "t/instant", [](Value args) -> Flow { co_return args; });
    reg.define("t/answers-at-once").start([](Self& s) { s.answer(s[":n"]); });
    define_flow(reg, "t/sum-flow", [](Value) -> Flow {
      // Braced lists stay outside co_await: GCC 12 miscompiles them there.
      const Embed two = embed("t/answers-at-once", edn::map({{kw("n"), 2}}));
      const Embed three = embed("t/answers-at-once", edn::map({{kw("n"), 3}}));
      const Value a = co_await await(two);
      const Value b = co_await await(three);
      co_return a.as_int() + b.as_int();
    });
    // Awaits `args` children that answer at once, one after the other.
    define_flow(reg, "t/loop-flow", [](Value args) -> Flow {
      std::int64_t sum = 0;
      for (std::int64_t i = 0; i < args.as_int(); ++i) {
        const Embed child = embed("t/answers-at-once", edn::map({{kw("n"), i}}));
        sum += (co_await await(child)).as_int();
      }
      co_return sum;
    });
    // :app/boom's start throws the first time only; later it answers at once.
    reg.define("app/boom").start([booms = std::make_shared<int>(0)](Self& s) {
      if ((*booms)++ == 0) throw std::runtime_error("boom starting");
      s.answer("boomed");
    });
    define_flow(reg, "t/confirm-then-boom", [](Value) -> Flow {
      const Value a = co_await await(confirm("Sure?"));
      const Value b = co_await await(embed("app/boom"));
      co_return edn::vec({a, b});
    });
    // A caller whose resume hook throws the first time it is resumed.
    reg.define("t/fragile-caller")
        .on("open",
            [](Self& s, const Event& e) {
              s.call(Embed{e.payload, {}}, "done");
            })
        .resume("done", [fails = std::make_shared<int>(0)](Self& s, const Value& v) {
          if ((*fails)++ == 0) throw std::runtime_error("resume failed");
          s.set("got", v);
        });
    reg.define("t/caller")
        .on("open",
            [](Self& s, const Event& e) {
              s.call(Embed{e.payload[":component"], e.payload[":args"]}, "done");
            })
        .resume("done", [](Self& s, const Value& v) { s.set("got", v); })
        .on("quit", [](Self& s) { s.end(); });
  }
  void SetUp() override { baseline = live_flow_frames(); }
  void TearDown() override { EXPECT_EQ(live_flow_frames(), baseline) << "leaked coroutine frames"; }

  // A :t/caller conversation that called flow `id` with `args`.
  Step open(const char* id, const Value& args = {}) {
    const Value conv = start_conversation(reg, "t/caller", {}, {}).conv;
    return dispatch(reg, conv, top_instance(conv),
                    Event{"open", edn::map({{kw("component"), kw(id)}, {kw("args"), args}})}, {});
  }
  std::size_t live() const { return live_flow_frames() - baseline; }
  // Dispatches `e` to the top frame, whatever comes of it.
  Step click(const Value& conv, const Event& e) const {
    return dispatch(reg, conv, top_instance(conv), e, {});
  }

  Registry reg;
  std::size_t baseline = 0;
};

TEST_F(FlowFrames, AFrameLivesWhileTheFlowRunsAndDiesWhenItAnswers) {
  Step s = open("t/echo-flow", edn::map({{kw("a"), 1}}));
  ASSERT_EQ(s.status, Step::Status::Ok);
  EXPECT_EQ(live(), 1u);
  const Value running = s.conv;  // still holds the flow's state
  s = send_top(reg, s.conv, yes());
  EXPECT_EQ(top_frame(s.conv)[":got"], edn::vec({edn::map({{kw("a"), 1}}), true}));
  EXPECT_EQ(live(), 0u) << "answer destroys the frame even while old values hold its state";
  EXPECT_FALSE(running.printable());
}

TEST_F(FlowFrames, TheFlowGetsItsEmbedArgs) {
  Step s = open("t/instant", edn::vec({1, 2}));
  ASSERT_EQ(s.status, Step::Status::Ok);
  EXPECT_EQ(top_frame(s.conv)[":got"], edn::vec({1, 2}));
  EXPECT_EQ(live(), 0u);
}

// The reference stays good across the awaits: the frame keeps the
// arguments (under ASan a dangling one is a heap-use-after-free).
TEST_F(FlowFrames, AFlowMayTakeItsArgumentsByReference) {
  const Value args = edn::map({{kw("name"), std::string(64, 'x')}});
  Step s = open("t/echo-by-ref", args);
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  s = send_top(reg, s.conv, yes());
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  s = send_top(reg, s.conv, yes());
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_EQ(top_frame(s.conv)[":got"], edn::vec({args, true, true}));
  EXPECT_EQ(live(), 0u);
}

TEST_F(FlowFrames, ChildrenThatAnswerAtOnceResumeTheFlowInTheSameStep) {
  Step s = open("t/sum-flow");
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_EQ(top_frame(s.conv)[":got"], Value(5));
  EXPECT_EQ(conv::stack(s.conv).size(), 1u);
  EXPECT_EQ(live(), 0u);
}

// Each child that answers at once resumes the flow inside its start hook:
// a long loop of them nests deeper and deeper. Past the bound it is a
// handler error, the conversation as it was, instead of a stack overflow
// that would take the whole server down.
TEST_F(FlowFrames, ALongLoopOfChildrenThatAnswerAtOnceIsAnErrorNotACrash) {
  Step s = open("t/loop-flow", Value(100));
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_EQ(top_frame(s.conv)[":got"], Value(4950));
  for (const std::int64_t n : {1000, 100000}) {
    Step deep = open("t/loop-flow", Value(n));
    EXPECT_EQ(deep.status, Step::Status::HandlerError) << n;
    EXPECT_NE(deep.error.find("hooks nested in one step"), std::string::npos) << deep.error;
    EXPECT_EQ(live(), 0u);
  }
}

TEST_F(FlowFrames, StopAllDestroysTheFrame) {
  Step s = open("demo/signup-flow");
  s = send_top(reg, s.conv, type_and_ok("Ada"));
  ASSERT_EQ(live(), 1u);
  Step stopped = stop_all(reg, s.conv, {});
  EXPECT_TRUE(stopped.ended);
  EXPECT_EQ(live(), 0u);
  EXPECT_FALSE(s.conv.printable());  // the holder is still there, empty
}

TEST_F(FlowFrames, AnEndedConversationReleasesItsFrameWithItsLastValue) {
  Step s = open("demo/signup-flow");
  ASSERT_EQ(live(), 1u);
  // The flow's dialog is on top; end the conversation from its caller.
  Step ended = dispatch(reg, s.conv, conv::stack(s.conv)[0].as_string(), Event{"quit"}, {});
  ASSERT_TRUE(ended.ended);
  s = Step{};
  ended = Step{};
  EXPECT_EQ(live(), 0u);
}

TEST_F(FlowFrames, AFlowThatThrowsIsAHandlerErrorAndLeaksNothing) {
  {
    Step s = open("t/failing-flow");
    ASSERT_EQ(s.status, Step::Status::Ok);
    const Step failed = dispatch(reg, s.conv, top_instance(s.conv), yes(), {});
    EXPECT_EQ(failed.status, Step::Status::HandlerError);
    // The message names the flow: the page and the log say which one failed.
    EXPECT_TRUE(contains(failed.error, "flow :t/failing-flow (ix-")) << failed.error;
    EXPECT_TRUE(contains(failed.error, ") threw: flow body failed")) << failed.error;
    EXPECT_EQ(failed.conv, s.conv);
    // The coroutine is finished: answering the dialog again is an error too.
    const Step again = dispatch(reg, s.conv, top_instance(s.conv), yes(), {});
    EXPECT_EQ(again.status, Step::Status::HandlerError);
    EXPECT_TRUE(contains(again.error, "flow :t/failing-flow (ix-")) << again.error;
    EXPECT_TRUE(contains(again.error, "already finished")) << again.error;
  }
  {
    Step s = open("t/failing-at-once");
    EXPECT_EQ(s.status, Step::Status::HandlerError);
    EXPECT_TRUE(contains(s.error, "flow :t/failing-at-once (ix-")) << s.error;
    EXPECT_TRUE(contains(s.error, "threw: failed before the first await")) << s.error;
    EXPECT_EQ(conv::stack(s.conv).size(), 1u);
  }
  {  // Not a std::exception: the flow is still named.
    Step s = open("t/throws-an-int");
    ASSERT_EQ(s.status, Step::Status::Ok);
    const Step failed = dispatch(reg, s.conv, top_instance(s.conv), yes(), {});
    EXPECT_EQ(failed.status, Step::Status::HandlerError);
    EXPECT_TRUE(contains(failed.error, "flow :t/throws-an-int (ix-")) << failed.error;
    EXPECT_TRUE(contains(failed.error, "threw something that is not a std::exception"))
        << failed.error;
  }
}

// An event that resumed the flow and then failed (here :app/boom's start)
// is discarded, but the coroutine had moved on to its next co_await. The
// retry used to feed the confirm's answer to that co_await: the caller got
// [true true]. Now the flow refuses to go on, and back leaves it.
TEST_F(FlowFrames, AFlowMovedOnByAFailedEventRefusesToResumeAtTheWrongAwait) {
  Step s = open("t/confirm-then-boom");
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  ASSERT_EQ(top_type(s.conv), "stube/confirm");
  const Step failed = click(s.conv, yes());
  ASSERT_EQ(failed.status, Step::Status::HandlerError);
  EXPECT_TRUE(contains(failed.error, "boom starting")) << failed.error;
  EXPECT_EQ(failed.conv, s.conv);
  const Step retry = click(s.conv, yes());
  EXPECT_EQ(retry.status, Step::Status::HandlerError)
      << "the caller got " << edn::write(top_frame(retry.conv)[":got"]);
  EXPECT_TRUE(contains(retry.error, "cannot go on")) << retry.error;
  EXPECT_EQ(retry.conv, s.conv);
  const Step b = go_back(reg, s.conv, {});
  ASSERT_EQ(b.status, Step::Status::Ok) << b.error;
  EXPECT_EQ(top_type(b.conv), "t/caller");
  s = Step{};
}

// The flow answered (and its frame was disposed) before its caller's resume
// hook threw: the discarded event leaves the flow's instance behind with no
// coroutine, and the retry says why it cannot go on.
TEST_F(FlowFrames, AFlowDisposedByAFailedEventSaysWhyItCannotGoOn) {
  const Value conv = start_conversation(reg, "t/fragile-caller", {}, {}).conv;
  Step s = dispatch(reg, conv, top_instance(conv), Event{"open", kw("t/echo-flow")}, {});
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  const Step failed = click(s.conv, yes());
  ASSERT_EQ(failed.status, Step::Status::HandlerError);
  EXPECT_TRUE(contains(failed.error, "resume failed")) << failed.error;
  EXPECT_EQ(live(), 0u) << "the failed event disposed the frame";
  const Step retry = click(s.conv, yes());
  EXPECT_EQ(retry.status, Step::Status::HandlerError);
  EXPECT_TRUE(contains(retry.error, "cannot go on")) << retry.error;
  EXPECT_TRUE(top_frame(retry.conv)[":got"].is_nil());
}

TEST_F(FlowFrames, GoingBackPastAFlowLeaksNothing) {
  Step s = open("demo/signup-flow");
  s = send_top(reg, s.conv, type_and_ok("Ada"));
  Step b = go_back(reg, s.conv, {});
  EXPECT_EQ(top_type(b.conv), "t/caller");
  s = Step{};
}

TEST_F(FlowFrames, ManyFlowsManyFrames) {
  std::vector<Value> convs;
  for (int i = 0; i < 50; ++i) convs.push_back(open("t/echo-flow").conv);
  EXPECT_EQ(live(), 50u);
  for (Value& c : convs) c = send_top(reg, c, no()).conv;
  EXPECT_EQ(live(), 0u);
}

}  // namespace
}  // namespace stube::test
