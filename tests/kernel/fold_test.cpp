// The pure fold: every effect and every lifecycle hook, driven without a
// runtime or a server.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "common/log_capture.hpp"
#include "kernel/probe.hpp"
#include "kernel/support.hpp"
#include "stube/conversation.hpp"
#include "stube/kernel.hpp"

namespace stube::test {
namespace {

class Fold : public ::testing::Test {
 protected:
  Fold() { define_probe(reg, journal); }

  Step start(const Value& args = {}) {
    Step s = start_conversation(reg, "t/probe", args, opts);
    EXPECT_EQ(s.status, Step::Status::Ok);
    return s;
  }
  Step send(const Value& conv, Event e) { return dispatch(reg, conv, top_instance(conv), e, opts); }
  // A conversation with root -> child on the stack.
  Value with_child() {
    Step s = send(start().conv, Event{"call"});
    EXPECT_EQ(stack_types(s.conv), (std::vector<std::string>{"t/probe", "t/probe"}));
    return s.conv;
  }

  std::shared_ptr<Journal> journal = std::make_shared<Journal>();
  Registry reg;
  KernelOptions opts;
};

using Entries = std::vector<std::string>;

TEST_F(Fold, StartInstantiatesTheRootWithFrameKeysAndRendersIt) {
  Step s = start(edn::map({{kw("label"), "hello"}}));
  const Value& conv = s.conv;
  ASSERT_EQ(conv::stack(conv).size(), 1u);
  const std::string iid = top_iid(conv);
  EXPECT_TRUE(conv::valid_id(iid));
  EXPECT_TRUE(conv::valid_id(conv::id(conv)));
  const Value& inst = instance(conv, iid);
  EXPECT_EQ(inst[":instance/id"], Value(iid));
  EXPECT_EQ(inst[":instance/type"], kw("t/probe"));
  EXPECT_TRUE(inst.contains(kw("instance/parent")));
  EXPECT_TRUE(inst[":instance/parent"].is_nil());
  EXPECT_EQ(inst[":n"], Value(0));
  EXPECT_EQ(inst[":label"], Value("hello"));
  EXPECT_TRUE(conv::history(conv).empty());
  EXPECT_LE(conv::created(conv), conv::touched(conv));
  EXPECT_TRUE(conv.printable());
  EXPECT_EQ(edn::read(edn::write(conv)), conv);
  EXPECT_EQ(journal->entries(), Entries{"start hello"});
  ASSERT_EQ(s.fragments.size(), 1u);
  EXPECT_EQ(s.fragments[0].target, kRootElementId);
  EXPECT_EQ(s.fragments[0].mode, Fragment::Mode::Inner);
  EXPECT_TRUE(contains(s.fragments[0].html, "<div id=\"" + iid + "\" data-component=\"t/probe\">"));
  EXPECT_TRUE(contains(s.fragments[0].html, "hello"));
}

TEST_F(Fold, StartWithAGivenCidAndUnknownRootsAreRefused) {
  EXPECT_EQ(conv::id(start_conversation(reg, "t/probe", {}, opts, "cv-given").conv), "cv-given");
  EXPECT_THROW(start_conversation(reg, "t/nope", {}, opts), std::invalid_argument);
}

TEST_F(Fold, UntypedComponentWithoutInitTakesItsArgsAsState) {
  reg.define("t/plain").render([](const Self& s) { return html::p(s[":x"]); });
  Step s = start_conversation(reg, "t/plain", edn::map({{kw("x"), 5}}), opts);
  EXPECT_EQ(top_frame(s.conv)[":x"], Value(5));
}

// set("n") writes the keyword :n; s["n"] reads it back as s[":n"] does.
TEST_F(Fold, AStateKeyIsAKeywordWithOrWithoutItsColon) {
  reg.define("t/keys").on("go", [](Self& s) {
    s.set("n", 1);
    EXPECT_EQ(s["n"], Value(1));
    EXPECT_EQ(s[":n"], Value(1));
    EXPECT_TRUE(s["a b"].is_nil());
  });
  const Step s = send_top(reg, start_conversation(reg, "t/keys", {}, opts).conv, Event{"go"}, opts);
  EXPECT_EQ(top_frame(s.conv)[":n"], Value(1));
}

TEST_F(Fold, HandlerChangingStateIsReRenderedAutomaticallyAndSnapshotted) {
  const Value before = start().conv;
  const std::string iid = top_iid(before);
  Step s = send(before, Event{"inc"});
  ASSERT_EQ(s.status, Step::Status::Ok);
  EXPECT_TRUE(s.changed);
  EXPECT_EQ(instance(s.conv, iid)[":n"], Value(1));
  ASSERT_EQ(s.fragments.size(), 1u);
  EXPECT_EQ(s.fragments[0].target, iid);
  EXPECT_EQ(s.fragments[0].mode, Fragment::Mode::Morph);
  EXPECT_TRUE(contains(s.fragments[0].html, "n=1"));
  // The snapshot is the conversation as it was before the handler ran.
  ASSERT_EQ(conv::history(s.conv).size(), 1u);
  EXPECT_EQ(conv::history(s.conv)[0], before.dissoc(conv::keys::history()));
  EXPECT_GE(conv::touched(s.conv), conv::touched(before));
}

TEST_F(Fold, HandlerThatChangesNothingSendsNothingAndRecordsNoHistory) {
  const Value before = start().conv;
  Step s = send(before, Event{"noop"});
  ASSERT_EQ(s.status, Step::Status::Ok);
  EXPECT_TRUE(s.fragments.empty());
  EXPECT_TRUE(conv::history(s.conv).empty());
  EXPECT_EQ(s.conv.dissoc(conv::keys::touched()), before.dissoc(conv::keys::touched()));
}

// The TTL counts from :conv/touched, the browser's last doing: a timer's
// event leaves it (or a self-re-arming clock would never let its
// conversation go idle), and one that changes nothing is no change at all.
TEST_F(Fold, ATimersEventLeavesTouchedAndIsAChangeOnlyIfTheStateMoved) {
  const Value before = start().conv.assoc(conv::keys::touched(), Value(edn::Instant{1000, 0}));
  const std::string iid = top_iid(before);
  Step ticked = dispatch_timer(reg, before, iid, Event{"inc"}, opts);
  ASSERT_EQ(ticked.status, Step::Status::Ok);
  EXPECT_TRUE(ticked.changed);
  EXPECT_EQ(instance(ticked.conv, iid)[":n"], Value(1));
  EXPECT_EQ(conv::touched(ticked.conv), conv::touched(before));
  Step idle = dispatch_timer(reg, before, iid, Event{"noop"}, opts);
  ASSERT_EQ(idle.status, Step::Status::Ok);
  EXPECT_FALSE(idle.changed);
  EXPECT_EQ(idle.conv, before);
  // The same event from the browser does bump it.
  EXPECT_GT(conv::touched(send(before, Event{"noop"}).conv), conv::touched(before));
}

TEST_F(Fold, PatchEffectIsSentInsteadOfTheAutomaticReRender) {
  Step s = send(start().conv, Event{"patch"});
  ASSERT_EQ(s.status, Step::Status::Ok);
  EXPECT_EQ(top_frame(s.conv)[":n"], Value(1));
  ASSERT_EQ(s.fragments.size(), 1u);
  EXPECT_EQ(s.fragments[0].html, "<div id=\"side\">patched</div>");
  EXPECT_EQ(s.fragments[0].mode, Fragment::Mode::Morph);
}

TEST_F(Fold, CallPushesAChildStampedWithParentAndResumeKey) {
  const Value before = start().conv;
  const std::string root = top_iid(before);
  journal->clear();
  Step s = send(before, Event{"call", "kid"});
  ASSERT_EQ(s.status, Step::Status::Ok);
  ASSERT_EQ(conv::stack(s.conv).size(), 2u);
  const std::string child = top_iid(s.conv);
  EXPECT_NE(child, root);
  const Value& inst = instance(s.conv, child);
  EXPECT_EQ(inst[":instance/parent"], Value(root));
  EXPECT_EQ(inst[":instance/resume"], Value("on-child"));
  EXPECT_EQ(inst[":label"], Value("kid"));
  EXPECT_EQ(journal->entries(), Entries{"start kid"});
  // The top frame changed: the whole root element is replaced.
  ASSERT_EQ(s.fragments.size(), 1u);
  EXPECT_EQ(s.fragments[0].target, kRootElementId);
  EXPECT_EQ(s.fragments[0].mode, Fragment::Mode::Inner);
  EXPECT_TRUE(contains(s.fragments[0].html, "id=\"" + child + "\""));
  EXPECT_FALSE(contains(s.fragments[0].html, "id=\"" + root + "\""));
}

// Back undoes the call: the child is gone from the page (no stop hook runs:
// back restores a moment, it does not end the instances of the later one).
TEST_F(Fold, BackListsTheInstancesItUndidAsRemoved) {
  const Value conv = with_child();
  const std::string child = top_iid(conv);
  const Step s = go_back(reg, conv, opts);
  ASSERT_EQ(s.status, Step::Status::Ok);
  EXPECT_TRUE(instance(s.conv, child).is_nil());
  EXPECT_EQ(s.removed_instances, Entries{child});
  const Step again = go_back(reg, s.conv, opts);  // nothing left to undo: nothing removed
  EXPECT_TRUE(again.removed_instances.empty());
}

TEST_F(Fold, AnswerPopsTheChildStopsItAndResumesTheParent) {
  const Value conv = with_child();
  const std::string root(conv::stack(conv)[0].as_string());
  const std::string child = top_iid(conv);
  journal->clear();
  Step s = send(conv, Event{"answer", kw("done")});
  ASSERT_EQ(s.status, Step::Status::Ok);
  EXPECT_EQ(top_iid(s.conv), root);
  EXPECT_TRUE(instance(s.conv, child).is_nil());
  EXPECT_EQ(s.removed_instances, Entries{child});
  EXPECT_EQ(journal->entries(), (Entries{"stop child", "resume root :done"}));
  EXPECT_EQ(instance(s.conv, root)[":got"], kw("done"));
  ASSERT_EQ(s.fragments.size(), 1u);
  EXPECT_EQ(s.fragments[0].target, kRootElementId);
  EXPECT_TRUE(contains(s.fragments[0].html, "id=\"" + root + "\""));
  EXPECT_FALSE(s.ended);
}

// The original Clojure library writes resume keys as keywords: a record of
// its directory resumes the caller by the keyword's name. A key the caller
// does not have is named as it is stored.
TEST_F(Fold, AKeywordResumeKeyResumesByItsName) {
  const Value conv = with_child();
  const std::string child = top_iid(conv);
  const auto with_resume = [&](const Value& key) {
    return conv::put_instance(conv, child, instance(conv, child).assoc(kw("instance/resume"), key));
  };
  Step s = send(with_resume(kw("on-child")), Event{"answer", kw("done")});
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_EQ(instance(s.conv, top_iid(s.conv))[":got"], kw("done"));
  s = send(with_resume(kw("on-other")), Event{"answer", kw("done")});
  EXPECT_EQ(s.status, Step::Status::HandlerError);
  EXPECT_TRUE(contains(s.error, "has no resume key :on-other")) << s.error;
}

TEST_F(Fold, AnswerFromTheRootEndsTheConversation) {
  const Value conv = start().conv;
  journal->clear();
  Step s = send(conv, Event{"answer", 42});
  ASSERT_EQ(s.status, Step::Status::Ok);
  EXPECT_TRUE(s.ended);
  EXPECT_EQ(s.end_value, Value(42));
  EXPECT_EQ(journal->entries(), Entries{"stop root"});
  EXPECT_TRUE(s.fragments.empty());
}

TEST_F(Fold, ReplaceSwapsTheFrameKeepingParentAndResumeKey) {
  const Value conv = with_child();
  const std::string root(conv::stack(conv)[0].as_string());
  const std::string child = top_iid(conv);
  journal->clear();
  Step s = send(conv, Event{"replace"});
  ASSERT_EQ(s.status, Step::Status::Ok);
  ASSERT_EQ(conv::stack(s.conv).size(), 2u);
  const std::string repl = top_iid(s.conv);
  EXPECT_NE(repl, child);
  EXPECT_TRUE(instance(s.conv, child).is_nil());
  EXPECT_EQ(top_frame(s.conv)[":instance/parent"], Value(root));
  EXPECT_EQ(top_frame(s.conv)[":instance/resume"], Value("on-child"));
  EXPECT_EQ(journal->entries(), (Entries{"stop child", "start replacement"}));
  // The replacement answers where the replaced frame would have.
  Step a = send(s.conv, Event{"answer", "from replacement"});
  EXPECT_EQ(instance(a.conv, root)[":got"], Value("from replacement"));
}

TEST_F(Fold, EndStopsTheFoldAndSkipsLaterEffects) {
  const Value conv = start().conv;
  journal->clear();
  Step s = send(conv, Event{"end-then-call", kw("bye")});
  ASSERT_EQ(s.status, Step::Status::Ok);
  EXPECT_TRUE(s.ended);
  EXPECT_EQ(s.end_value, kw("bye"));
  EXPECT_TRUE(journal->entries().empty()) << "the call after end must not run";
  EXPECT_EQ(conv::stack(s.conv).size(), 1u);
  EXPECT_TRUE(s.fragments.empty());
}

// A record written without :conv/history (by hand, or by another program)
// has nothing to go back to, and its events start one: every event used to
// fail (":conv/history is missing"), leaving the page stuck.
TEST_F(Fold, ARecordWithoutAHistoryTakesEventsAndBack) {
  const Value bare = start().conv.dissoc(conv::keys::history());
  EXPECT_EQ(conv::history(bare), edn::vec({}));
  const Step b = go_back(reg, bare, opts);
  ASSERT_EQ(b.status, Step::Status::Ok) << b.error;
  Step s = send(bare, Event{"inc"});
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_EQ(top_frame(s.conv)[":n"], Value(1));
  ASSERT_EQ(conv::history(s.conv).size(), 1u);
  s = go_back(reg, s.conv, opts);
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_EQ(top_frame(s.conv)[":n"], Value(0));
  // Not a vector is still an error, named.
  EXPECT_THROW(conv::history(bare.assoc(conv::keys::history(), Value(1))), edn::TypeError);
}

TEST_F(Fold, BackRestoresThePreviousSnapshotAndWakesItsTop) {
  Step one = send(start().conv, Event{"inc"});
  Step two = send(one.conv, Event{"inc"});
  ASSERT_EQ(conv::history(two.conv).size(), 2u);
  journal->clear();
  Step b = send(two.conv, Event{"back"});
  ASSERT_EQ(b.status, Step::Status::Ok);
  EXPECT_EQ(top_frame(b.conv)[":n"], Value(1));
  EXPECT_EQ(top_frame(b.conv)[":woken"], Value(1));
  EXPECT_EQ(conv::history(b.conv).size(), 1u);
  EXPECT_EQ(journal->entries(), Entries{"wakeup root"});
  ASSERT_FALSE(b.fragments.empty());
  EXPECT_EQ(b.fragments[0].target, kRootElementId);
  EXPECT_TRUE(contains(b.fragments[0].html, "n=1"));
}

// A wakeup that finds its restored moment stale and goes back again
// reaches the moment before it, and so on until history runs out: each
// nested back takes one more step (it restored the same snapshot for ever,
// until the stack overflowed).
TEST(FoldBack, AWakeupThatGoesBackAgainGoesOneStepFurtherEachTime) {
  Registry reg;
  bool all_stale = false;
  reg.define("t/stale")
      .init([](const Value&) {
        return edn::map({{kw("n"), 0}});
      })
      .render([](const Self& s) { return html::p("n=", s[":n"]); })
      .on("inc", [](Self& s) { s.set("n", s[":n"].as_int() + 1); })
      .wakeup([&all_stale](Self& s) {
        if (all_stale || s[":n"].as_int() >= 2) s.back();  // 2 and up are stale moments
      });
  const KernelOptions opts;
  Value conv = start_conversation(reg, "t/stale", Value(), opts).conv;
  for (int i = 0; i < 4; ++i)
    conv = dispatch(reg, conv, top_instance(conv), Event{"inc"}, opts).conv;
  ASSERT_EQ(conv::history(conv).size(), 4u);  // n = 0, 1, 2, 3
  const Step b = go_back(reg, conv, opts);
  ASSERT_EQ(b.status, Step::Status::Ok) << b.error;
  EXPECT_EQ(top_frame(b.conv)[":n"], Value(1)) << "3 and 2 were stale, 1 is not";
  EXPECT_EQ(conv::history(b.conv).size(), 1u);

  // Every moment stale: back runs out of history and stops there.
  Value all = start_conversation(reg, "t/stale", Value(), opts).conv;
  for (int i = 0; i < 5; ++i) all = dispatch(reg, all, top_instance(all), Event{"inc"}, opts).conv;
  all_stale = true;
  const Step out = go_back(reg, all, opts);
  ASSERT_EQ(out.status, Step::Status::Ok) << out.error;
  EXPECT_EQ(top_frame(out.conv)[":n"], Value(0));
  EXPECT_TRUE(conv::history(out.conv).empty());
}

// Step::woken_by_back names the frame whose wakeup back ran, and only the
// last one's when a wakeup went back again: what an earlier one re-armed was
// undone with it (the runtime keeps that frame's older timers if it stays).
TEST(FoldBack, WokenByBackNamesOnlyTheWakeupOfTheMomentRestored) {
  Registry reg;
  reg.define("t/page")
      .init([](const Value&) {
        return edn::map({{kw("goback"), false}});
      })
      .render([](const Self&) { return html::p("page"); })
      .wakeup([](Self& s) {
        if (s[":goback"].as_bool()) s.back();  // a stale moment
      })
      .on("open", [](Self& s) { s.call(embed("t/dialog"), "closed"); })
      .on("reset", [](Self& s) { s.set("goback", false); })
      .resume("closed", [](Self& s, const Value&) { s.set("goback", true); });
  reg.define("t/dialog")
      .init([](const Value&) {
        return edn::map({{kw("n"), 0}});
      })
      .render([](const Self&) { return html::p("dialog"); })
      .on("inc", [](Self& s) { s.set("n", s[":n"].as_int() + 1); })
      .on("close", [](Self& s) { s.answer(Value()); });
  const KernelOptions opts;
  Value conv = start_conversation(reg, "t/page", Value(), opts).conv;
  for (const char* event : {"open", "inc", "close", "reset"})
    conv = dispatch(reg, conv, top_instance(conv), Event{event}, opts).conv;
  const Step simple = go_back(reg, conv, opts);  // to the page with goback set: it goes back on
  ASSERT_EQ(simple.status, Step::Status::Ok) << simple.error;
  EXPECT_EQ(top_type(simple.conv), "t/dialog");  // the dialog, which has no wakeup
  EXPECT_EQ(simple.undone, 2u);
  EXPECT_TRUE(simple.woken_by_back.empty()) << simple.woken_by_back.front();

  Value once = start_conversation(reg, "t/page", Value(), opts).conv;
  once = dispatch(reg, once, top_instance(once), Event{"open"}, opts).conv;
  const Step b = go_back(reg, once, opts);  // to the page, whose wakeup stays
  ASSERT_EQ(top_type(b.conv), "t/page");
  EXPECT_EQ(b.woken_by_back, std::vector<std::string>{std::string(top_instance(b.conv))});
}

// A new conversation's page does not exist yet: its first view is all the
// start sends, whatever patches the root's start (or the start of a dialog
// it calls at once) asked for.
TEST(FoldPatch, PatchesAskedForWhileAConversationStartsAreDropped) {
  Registry reg;
  reg.define("t/opening")
      .render([](const Self&) { return html::p(html::span(html::id("hint"), "")); })
      .start([](Self& s) { s.patch(html::span(html::id("hint"), "opened")); });
  reg.define("t/calls-at-once")
      .resume("done", [](Self&, const Value&) {})
      .render([](const Self&) { return html::p("page"); })
      .start([](Self& s) {
        s.patch(html::span(html::id("status"), "starting"));
        s.call(embed("t/opening"), "done");
      });
  for (const char* root : {"t/opening", "t/calls-at-once"}) {
    SCOPED_TRACE(root);
    const Step s = start_conversation(reg, root, Value(), KernelOptions{});
    ASSERT_EQ(s.fragments.size(), 1u) << s.fragments.back().html;
    EXPECT_EQ(s.fragments[0].target, kRootElementId);
    EXPECT_FALSE(contains(s.fragments[0].html, "opened"));
  }
}

// A patch is meant for the view it was requested on: one requested before
// the whole view is replaced (a call, back) is dropped, one after applies
// to the new view (when the frame shown requested it).
TEST(FoldPatch, APatchBeforeTheViewIsReplacedIsDroppedOneAfterIsSent) {
  Registry reg;
  reg.define("t/dialog").render([](const Self&) { return html::p("dialog"); });
  reg.define("t/opening")
      .render([](const Self&) { return html::p(html::span(html::id("hint"), "")); })
      .start([](Self& s) { s.patch(html::span(html::id("hint"), "opened")); });
  reg.define("t/patcher")
      .init([](const Value&) {
        return edn::map({{kw("n"), 0}});
      })
      .resume("done", [](Self&, const Value&) {})
      .render([](const Self& s) { return html::p("n=", s[":n"]); })
      .on("inc", [](Self& s) { s.set("n", s[":n"].as_int() + 1); })
      .on("patch-then-back",
          [](Self& s) {
            s.patch(html::span(html::id("status"), "undone"));
            s.back();
          })
      .on("patch-then-call",
          [](Self& s) {
            s.patch(html::span(html::id("status"), "before"));
            s.call(embed("t/dialog"), "done");
          })
      .on("call-then-patch",
          [](Self& s) {
            s.call(embed("t/dialog"), "done");
            s.patch(html::span(html::id("status"), "after"));
          })
      .on("call-one-that-patches", [](Self& s) { s.call(embed("t/opening"), "done"); });
  const KernelOptions opts;
  Value conv = start_conversation(reg, "t/patcher", Value(), opts).conv;
  conv = dispatch(reg, conv, top_instance(conv), Event{"inc"}, opts).conv;
  const auto sent = [&](const char* event) {
    const Step s = dispatch(reg, conv, top_instance(conv), Event{event}, opts);
    EXPECT_EQ(s.status, Step::Status::Ok) << event << ": " << s.error;
    std::vector<std::string> targets;
    for (const Fragment& f : s.fragments)
      targets.push_back(f.target.empty() ? f.html : std::string(f.target));
    return targets;
  };
  EXPECT_EQ(sent("patch-then-back"), std::vector<std::string>{std::string(kRootElementId)});
  EXPECT_EQ(sent("patch-then-call"), std::vector<std::string>{std::string(kRootElementId)});
  // After the call the caller's view is not shown: its patch is not sent
  // (see FoldPatches.APatchFromAFrameUnderTheTopIsNotSent).
  EXPECT_EQ(sent("call-then-patch"), std::vector<std::string>{std::string(kRootElementId)});
  EXPECT_EQ(
      sent("call-one-that-patches"),
      (std::vector<std::string>{std::string(kRootElementId), "<span id=\"hint\">opened</span>"}));
}

// A restored conversation's wakeup may patch its new page, as after back:
// the whole view first, then the patches (they were dropped on a wake).
TEST(FoldPatch, AWakeupsPatchFollowsTheWholeView) {
  Registry reg;
  reg.define("t/restored")
      .render([](const Self& s) { return html::p("n=", s[":n"]); })
      .wakeup([](Self& s) {
        s.set("n", 1);
        s.patch(html::span(html::id("status"), "restored"));
      });
  const KernelOptions opts;
  const Value conv = start_conversation(reg, "t/restored", edn::map({{kw("n"), 0}}), opts).conv;
  const Step s = wake(reg, conv, opts);
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  ASSERT_EQ(s.fragments.size(), 2u);
  EXPECT_EQ(s.fragments[0].target, kRootElementId);
  EXPECT_EQ(s.fragments[0].html, render_top(reg, s.conv, opts));
  EXPECT_TRUE(contains(s.fragments[0].html, "n=1"));
  EXPECT_EQ(s.fragments[1].html, "<span id=\"status\">restored</span>");
}

// The step that goes back undoes its own moment: a timer it requested
// before the back goes with it; one the restored top's wakeup requests
// is kept.
TEST(FoldBack, ATimerRequestedBeforeABackInTheSameStepIsDropped) {
  Registry reg;
  reg.define("t/timed")
      .init([](const Value&) {
        return edn::map({{kw("n"), 0}});
      })
      .on("inc", [](Self& s) { s.set("n", s[":n"].as_int() + 1); })
      .on("arm-then-back",
          [](Self& s) {
            s.after(std::chrono::milliseconds(10), "undone");
            s.back();
          })
      .wakeup([](Self& s) { s.after(std::chrono::milliseconds(20), "woken"); });
  const KernelOptions opts;
  Value conv = start_conversation(reg, "t/timed", Value(), opts).conv;
  conv = dispatch(reg, conv, top_instance(conv), Event{"inc"}, opts).conv;
  const Step s = dispatch(reg, conv, top_instance(conv), Event{"arm-then-back"}, opts);
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_EQ(top_frame(s.conv)[":n"], Value(0)) << "it went back";
  ASSERT_EQ(s.timers.size(), 1u);
  EXPECT_EQ(s.timers[0].event.name, "woken");
}

TEST_F(Fold, BackUndoesACallAndGoBackWorksFromOutside) {
  const Value conv = with_child();
  Step b = go_back(reg, conv, opts);
  ASSERT_EQ(b.status, Step::Status::Ok);
  EXPECT_EQ(conv::stack(b.conv).size(), 1u);
  EXPECT_TRUE(conv::history(b.conv).empty());
  // Nothing to go back to: the conversation stays where it is.
  Step again = go_back(reg, b.conv, opts);
  ASSERT_EQ(again.status, Step::Status::Ok);
  EXPECT_EQ(conv::stack(again.conv), conv::stack(b.conv));
  EXPECT_EQ(top_frame(again.conv)[":n"], top_frame(b.conv)[":n"]);
}

TEST_F(Fold, AfterRequestsATimerForThisInstance) {
  const Value conv = start().conv;
  Step s = send(conv, Event{"after", "later"});
  ASSERT_EQ(s.status, Step::Status::Ok);
  ASSERT_EQ(s.timers.size(), 1u);
  EXPECT_EQ(s.timers[0].iid, top_iid(conv));
  EXPECT_EQ(s.timers[0].delay, std::chrono::milliseconds(25));
  EXPECT_EQ(s.timers[0].event.name, "tick");
  EXPECT_EQ(s.timers[0].event.payload, Value("later"));
}

TEST_F(Fold, WakeRunsEveryFramesWakeupTopFirstAndRendersTheWholeView) {
  const Value conv = with_child();
  journal->clear();
  Step s = wake(reg, conv, opts);
  ASSERT_EQ(s.status, Step::Status::Ok);
  EXPECT_EQ(journal->entries(), (Entries{"wakeup child", "wakeup root"}));
  EXPECT_EQ(top_frame(s.conv)[":woken"], Value(1));
  ASSERT_EQ(s.fragments.size(), 1u);
  EXPECT_EQ(s.fragments[0].target, kRootElementId);
  EXPECT_EQ(s.fragments[0].mode, Fragment::Mode::Inner);
  EXPECT_EQ(s.fragments[0].html, render_top(reg, s.conv, opts));
}

// A frame calls a component that answers at once, which resumes it inside
// the call, and it answers from there: the end it requested after the
// call, before that answer, still applies.
TEST(FoldEffects, AnEndRequestedBeforeANestedAnswerStillApplies) {
  Registry reg;
  reg.define("t/root")
      .render([](const Self&) { return html::p("root"); })
      .start([](Self& s) { s.call(embed("t/x"), "got"); })
      .resume("got", [](Self& s, const Value& v) { s.set("got", v); });
  reg.define("t/x")
      .render([](const Self&) { return html::p("x"); })
      .on("go",
          [](Self& s) {
            s.call(embed("t/at-once"), "k");
            s.end(Value("bye"));
          })
      .resume("k", [](Self& s, const Value&) { s.answer(Value(2)); });
  reg.define("t/at-once")
      .render([](const Self&) { return html::p("never shown"); })
      .start([](Self& s) { s.answer(Value(1)); });
  const KernelOptions opts;
  const Value conv = start_conversation(reg, "t/root", Value(), opts).conv;
  const Step s = dispatch(reg, conv, top_instance(conv), Event{"go"}, opts);
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_TRUE(s.ended) << "the end was dropped";
  EXPECT_EQ(s.end_value, Value("bye"));
}

// A frame waits for one answer at a time: a second call in one event while
// the first callee is still up fails the event (a handler error naming
// both), the conversation as it was. After a callee that answered at once,
// the frame may call again.
TEST(FoldEffects, ASecondCallWhileTheFirstIsUpIsAHandlerError) {
  Registry reg;
  reg.define("t/page")
      .render([](const Self&) { return html::p("page"); })
      .on("two",
          [](Self& s) {
            s.set("n", 1);
            s.call(embed("t/dialog"), "got");
            s.call(embed("t/other"), "got");
          })
      .on("after-at-once",
          [](Self& s) {
            s.call(embed("t/at-once"), "got");
            s.call(embed("t/dialog"), "got");
          })
      .resume("got", [](Self& s, const Value& v) { s.set("got", v); });
  reg.define("t/dialog").render([](const Self&) { return html::p("dialog"); });
  reg.define("t/other").render([](const Self&) { return html::p("other"); });
  reg.define("t/at-once")
      .render([](const Self&) { return html::p("never shown"); })
      .start([](Self& s) { s.answer(Value(1)); });
  const KernelOptions opts;
  const Value conv = start_conversation(reg, "t/page", Value(), opts).conv;
  const std::string page(top_instance(conv));

  const Step two = dispatch(reg, conv, page, Event{"two"}, opts);
  ASSERT_EQ(two.status, Step::Status::HandlerError);
  EXPECT_NE(two.error.find("component :t/page calls :t/other while :t/dialog is above it on the "
                           "stack, not yet answered: a frame waits for one answer at a time"),
            std::string::npos)
      << two.error;
  EXPECT_EQ(two.conv, conv) << "the conversation stays as it was";

  const Step again = dispatch(reg, conv, page, Event{"after-at-once"}, opts);
  ASSERT_EQ(again.status, Step::Status::Ok) << again.error;
  EXPECT_EQ(stack_types(again.conv), (std::vector<std::string>{"t/page", "t/dialog"}));
  EXPECT_EQ(instance(again.conv, page)[":got"], Value(1));
}

// A timer (or a wakeup) reaches a frame under its dialog; a call from there
// would stack a second child over the dialog, as the frame's own, and
// resume the frame twice: refused as well.
TEST(FoldEffects, ACallFromAFrameUnderItsDialogIsAHandlerError) {
  Registry reg;
  reg.define("t/page")
      .render([](const Self&) { return html::p("page"); })
      .on("ask", [](Self& s) { s.call(embed("t/dialog"), "got"); })
      .on("remind", [](Self& s) { s.call(embed("t/other"), "got"); })
      .resume("got", [](Self&, const Value&) {});
  reg.define("t/dialog").render([](const Self&) { return html::p("dialog"); });
  reg.define("t/other").render([](const Self&) { return html::p("other"); });
  const KernelOptions opts;
  Value conv = start_conversation(reg, "t/page", Value(), opts).conv;
  const std::string page(top_instance(conv));
  conv = dispatch(reg, conv, page, Event{"ask"}, opts).conv;

  const Step timer = dispatch_timer(reg, conv, page, Event{"remind"}, opts);
  ASSERT_EQ(timer.status, Step::Status::HandlerError);
  EXPECT_NE(timer.error.find("component :t/page calls :t/other while :t/dialog is above it"),
            std::string::npos)
      << timer.error;
  EXPECT_EQ(timer.conv, conv);
}

// A frame that answered (from the resume hook a callee's answer at once
// ran) has no frame left for its later effects: a call it asked for after
// that is dropped with them, and the event succeeds.
TEST(FoldEffects, ACallAfterTheFrameHasLeftIsDropped) {
  Registry reg;
  reg.define("t/page")
      .render([](const Self&) { return html::p("page"); })
      .start([](Self& s) { s.call(embed("t/mid"), "got"); })
      .resume("got", [](Self& s, const Value& v) { s.set("got", v); });
  reg.define("t/mid")
      .render([](const Self&) { return html::p("mid"); })
      .on("two",
          [](Self& s) {
            s.call(embed("t/at-once"), "k");
            s.call(embed("t/other"), "k");
          })
      .resume("k", [](Self& s, const Value&) { s.answer(Value(7)); });
  reg.define("t/at-once")
      .render([](const Self&) { return html::p("never shown"); })
      .start([](Self& s) { s.answer(Value(1)); });
  reg.define("t/other").render([](const Self&) { return html::p("other"); });
  const KernelOptions opts;
  const Value conv = start_conversation(reg, "t/page", Value(), opts).conv;
  const Step s = dispatch(reg, conv, top_instance(conv), Event{"two"}, opts);
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_EQ(stack_types(s.conv), std::vector<std::string>{"t/page"});
  EXPECT_EQ(instance(s.conv, top_iid(s.conv))[":got"], Value(7));
}

// Only the top frame's view is on the page. A frame under a dialog whose
// timer or wakeup asks for a patch would have it land on the dialog's
// element of the same id (or on none): it is not sent. The top's own
// patches are.
TEST(FoldPatches, APatchFromAFrameUnderTheTopIsNotSent) {
  Registry reg;
  reg.define("t/page")
      .render([](const Self&) { return html::span(html::id("status"), "page"); })
      .on("ask", [](Self& s) { s.call(embed("t/dialog"), "answered"); })
      .on("autosave", [](Self& s) { s.patch(html::span(html::id("status"), "Saved just now")); })
      .resume("answered", [](Self&, const Value&) {})
      .wakeup([](Self& s) { s.patch(html::span(html::id("status"), "Restored")); });
  reg.define("t/dialog")
      .render([](const Self&) { return html::span(html::id("status"), "dialog"); })
      .on("tick", [](Self& s) { s.patch(html::span(html::id("status"), "dialog ticked")); });
  const KernelOptions opts;
  Value conv = start_conversation(reg, "t/page", Value(), opts).conv;
  const std::string page(top_instance(conv));
  conv = dispatch(reg, conv, page, Event{"ask"}, opts).conv;
  const std::string dialog(top_instance(conv));

  const Step timer = dispatch_timer(reg, conv, page, Event{"autosave"}, opts);
  ASSERT_EQ(timer.status, Step::Status::Ok) << timer.error;
  EXPECT_TRUE(timer.fragments.empty()) << timer.fragments.at(0).html;

  const Step woken = wake(reg, conv, opts);
  ASSERT_EQ(woken.status, Step::Status::Ok) << woken.error;
  ASSERT_EQ(woken.fragments.size(), 1u) << woken.fragments.at(1).html;
  EXPECT_EQ(woken.fragments[0].target, kRootElementId);
  EXPECT_TRUE(contains(woken.fragments[0].html, "dialog"));

  const Step top = dispatch_timer(reg, conv, dialog, Event{"tick"}, opts);
  ASSERT_EQ(top.status, Step::Status::Ok) << top.error;
  ASSERT_EQ(top.fragments.size(), 1u);
  EXPECT_TRUE(contains(top.fragments[0].html, "dialog ticked"));
}

// A restart drops every timer, also those of a frame under a dialog (a
// page's autosave): the page re-arms its own from its wakeup, which runs
// although the dialog is on top.
TEST(FoldWake, AFrameUnderADialogWakesAndReArmsItsTimer) {
  Registry reg;
  std::vector<std::string> woken;
  reg.define("t/page")
      .render([](const Self&) { return html::p("page"); })
      .on("ask", [](Self& s) { s.call(embed("t/dialog"), "answered"); })
      .resume("answered", [](Self&, const Value&) {})
      .wakeup([&woken](Self& s) {
        woken.push_back("page");
        s.after(std::chrono::seconds(30), "autosave");
      });
  reg.define("t/dialog")
      .render([](const Self&) { return html::p("dialog"); })
      .on("leave", [](Self& s) { s.answer(Value()); })
      .wakeup([&woken](Self& s) {
        woken.push_back("dialog");
        if (s[":leave"] == Value(true)) s.answer(Value());
      });
  const KernelOptions opts;
  Value conv = start_conversation(reg, "t/page", Value(), opts).conv;
  conv = dispatch(reg, conv, top_instance(conv), Event{"ask"}, opts).conv;
  ASSERT_EQ(conv::stack(conv).size(), 2u);
  const Value restored = edn::read(edn::write(conv));

  const Step s = wake(reg, restored, opts);
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_EQ(woken, (std::vector<std::string>{"dialog", "page"}));
  ASSERT_EQ(s.timers.size(), 1u);
  EXPECT_EQ(s.timers[0].event.name, "autosave");
  EXPECT_EQ(s.timers[0].iid, std::string(conv::stack(conv).at(0).as_string()));
  EXPECT_EQ(conv::stack(s.conv).size(), 2u) << "the dialog is still open";

  // The dialog's wakeup answers: the page resumes, and wakes after it.
  woken.clear();
  const std::string dialog(top_instance(restored));
  const Value leaving = conv::put_instance(
      restored, dialog, conv::instance(restored, dialog).assoc(kw("leave"), true));
  const Step left = wake(reg, leaving, opts);
  ASSERT_EQ(left.status, Step::Status::Ok) << left.error;
  EXPECT_EQ(woken, (std::vector<std::string>{"dialog", "page"}));
  EXPECT_EQ(conv::stack(left.conv).size(), 1u);
  EXPECT_EQ(left.timers.size(), 1u);

  // A frame below the top whose component this program no longer has (a
  // renamed page) does not keep the dialog from waking and showing.
  woken.clear();
  const std::string page(conv::stack(restored).at(0).as_string());
  const Value renamed = conv::put_instance(
      restored, page, conv::instance(restored, page).assoc(kw("instance/type"), kw("t/gone")));
  const Step shown = wake(reg, renamed, opts);
  ASSERT_EQ(shown.status, Step::Status::Ok) << shown.error;
  EXPECT_EQ(woken, std::vector<std::string>{"dialog"});
  EXPECT_TRUE(contains(shown.fragments.at(0).html, "dialog"));
}

TEST_F(Fold, WakeRendersEvenWithoutAWakeupHook) {
  Step s = start_conversation(reg, "stube/info", edn::map({{kw("message"), "hi"}}), opts);
  Step w = wake(reg, s.conv, opts);
  ASSERT_EQ(w.status, Step::Status::Ok);
  ASSERT_EQ(w.fragments.size(), 1u);
  EXPECT_TRUE(contains(w.fragments[0].html, "hi"));
}

// A restored record with an empty stack has no view: the page says so
// (and what to do) instead of staying blank.
TEST_F(Fold, WakeAndRedrawOfAnEmptyStackSayWhyThereIsNothingToShow) {
  const Value conv = conv::with_stack(with_child(), edn::vec({}));
  for (const Step& s : {wake(reg, conv, opts), redraw(reg, conv, opts)}) {
    ASSERT_EQ(s.status, Step::Status::HandlerError);
    EXPECT_TRUE(contains(s.error, "its :conv/stack is empty")) << s.error;
    EXPECT_TRUE(contains(s.error, std::string(conv::id(conv)))) << s.error;
    ASSERT_EQ(s.fragments.size(), 1u);
    EXPECT_EQ(s.fragments[0].target, kErrorElementId);
    EXPECT_TRUE(contains(s.fragments[0].html, "Reload the page")) << s.fragments[0].html;
    EXPECT_EQ(s.conv, conv);
  }
}

TEST_F(Fold, StopAllRunsStopHooksTopFirstAndSwallowsTheirErrors) {
  Value conv = send(with_child(), Event{"call", "grandchild"}).conv;
  conv = send(conv, Event{"stop-break"}).conv;
  ASSERT_EQ(conv::stack(conv).size(), 4u);
  journal->clear();
  Step s = stop_all(reg, conv, opts);
  EXPECT_TRUE(s.ended);
  EXPECT_EQ(journal->entries(),
            (Entries{"stop broken", "stop grandchild", "stop child", "stop root"}));
}

// A restored record may name one frame many times on its stack: each frame
// stops once, and the stack is not rebuilt per entry (100,000 entries took
// minutes when every entry copied the stack).
TEST_F(Fold, StopAllStopsAFrameTheStackNamesManyTimesOnce) {
  const Value conv = with_child();
  const Value top = conv::stack(conv).at(conv::stack(conv).size() - 1);
  std::vector<Value> stack(conv::stack(conv).items().begin(), conv::stack(conv).items().end());
  stack.insert(stack.end(), 100'000, top);
  journal->clear();
  Step s = stop_all(reg, conv::with_stack(conv, edn::vec(std::span<const Value>(stack))), opts);
  EXPECT_TRUE(s.ended);
  EXPECT_EQ(journal->entries(), (Entries{"stop child", "stop root"}));
}

TEST_F(Fold, AFailingStopHookDuringAnEventFailsTheEvent) {
  const Value conv = send(start().conv, Event{"stop-break"}).conv;
  Step s = send(conv, Event{"answer"});
  EXPECT_EQ(s.status, Step::Status::HandlerError);
  EXPECT_TRUE(contains(s.error, "stop failed"));
  EXPECT_EQ(s.conv, conv);
}

// The root answering ends the conversation: as with `end`, a failing stop
// hook is logged, the others still run, and the conversation ends.
TEST_F(Fold, AFailingStopHookWhenTheRootAnswersIsLoggedAndTheConversationEnds) {
  LogCapture logs;
  reg.define("t/broken-root").on("done", [](Self& s) { s.answer(kw("bye")); }).stop([](Self&) {
    throw std::runtime_error("root stop failed");
  });
  const Value conv = start_conversation(reg, "t/broken-root", {}, opts).conv;
  const Step s = dispatch(reg, conv, top_instance(conv), Event{"done"}, opts);
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_TRUE(s.ended);
  EXPECT_EQ(s.end_value, kw("bye"));
  EXPECT_TRUE(logs.has(log::Level::warn, {"stop hook of", "root stop failed"}));
}

TEST_F(Fold, KeptSignalsAreCopiedOntoStateBeforeTheHandler) {
  Journal seen;
  reg.define("t/form").keep({"name"}).on("save",
                                         [&seen](Self& s) { seen.add(edn::write(s.state())); });
  const Value conv = start_conversation(reg, "t/form", {}, opts).conv;
  const Value signals = edn::map({{kw("name"), "Ada"}, {kw("secret"), "x"}});
  Step s = dispatch(reg, conv, top_instance(conv), Event{"save", {}, signals}, opts);
  ASSERT_EQ(s.status, Step::Status::Ok);
  EXPECT_EQ(seen.entries(), Entries{"{:name \"Ada\"}"});
  EXPECT_EQ(top_frame(s.conv)[":name"], Value("Ada"));
  EXPECT_FALSE(top_frame(s.conv).contains(kw("secret")));
}

// Signal keys are keywords, as the server builds them; an embedding that
// builds an event by hand with a string key for a kept signal gets the
// event refused, naming it, instead of a handler run on the old value.
TEST_F(Fold, AKeptSignalKeyedByAStringIsRefused) {
  Journal ran;
  reg.define("t/form").keep({"name"}).on("save", [&ran](Self&) { ran.add("ran"); });
  const Value conv = start_conversation(reg, "t/form", {}, opts).conv;
  const Value signals = edn::map({{Value("name"), "Ada"}});
  Step s = dispatch(reg, conv, top_instance(conv), Event{"save", {}, signals}, opts);
  ASSERT_EQ(s.status, Step::Status::BadSignals);
  EXPECT_NE(s.error.find("a signal of :t/form is keyed by the string \"name\": signal keys are "
                         "keywords (:name)"),
            std::string::npos)
      << s.error;
  EXPECT_TRUE(ran.entries().empty());
}

struct Form {
  std::string name;
  std::uint32_t age = 0;
};
STUBE_STATE(Form, name, age)

// Fields declared in two places: keep() called twice keeps both lists (it
// used to keep only the last, and "name" silently never arrived).
TEST_F(Fold, KeepCalledTwiceKeepsBothLists) {
  reg.define("t/two-keeps").keep({"name"}).keep({"city", "name"}).on("save", [](Self&) {});
  EXPECT_EQ(reg.find(kw("t/two-keeps"))->kept_signals, (std::vector<std::string>{"name", "city"}));
  const Value conv = start_conversation(reg, "t/two-keeps", {}, opts).conv;
  const Value signals = edn::map({{kw("name"), "Ada"}, {kw("city"), "Turin"}});
  Step s = dispatch(reg, conv, top_instance(conv), Event{"save", {}, signals}, opts);
  ASSERT_EQ(s.status, Step::Status::Ok);
  EXPECT_EQ(top_frame(s.conv)[":name"], Value("Ada"));
  EXPECT_EQ(top_frame(s.conv)[":city"], Value("Turin"));
}

// A hook that took its context by value would write to a copy and lose it
// all; the context cannot be copied, so such a hook does not compile.
static_assert(!std::is_copy_constructible_v<Self> && !std::is_copy_assignable_v<Self>);
static_assert(!std::is_invocable_v<HookFn, Self> &&
              !std::is_constructible_v<HookFn, void (*)(Self)>);

// A typed init returns the state struct. An EDN map, an untyped init's,
// does not compile: it would have become the first field of a struct whose
// first field is an edn::Value.
struct ValueFirst {
  Value meta;
  std::int64_t n = 0;
};
static_assert(detail::TypedInit<ValueFirst (*)(const Value&), ValueFirst>);
static_assert(!detail::TypedInit<Value (*)(const Value&), ValueFirst>);
static_assert(!detail::TypedInit<ValueFirst (*)(), ValueFirst>);

// A typed component's kept signals must fit its state type: a number sent
// for a text field (a forged request, a stale page) is bad input, refused
// before any handler runs, naming the field.
TEST_F(Fold, AKeptSignalOfTheWrongTypeIsRefusedBeforeTheHandler) {
  Journal ran;
  reg.define<Form>("t/typed-form").keep({"name", "age"}).on("save", [&ran](Ctx<Form>& c) {
    ran.add(c->name);
  });
  const Value conv = start_conversation(reg, "t/typed-form", {}, opts).conv;
  const Value bad = edn::map({{kw("name"), "Ada"}, {kw("age"), "old"}});
  Step s = dispatch(reg, conv, top_instance(conv), Event{"save", {}, bad}, opts);
  EXPECT_EQ(s.status, Step::Status::BadSignals);
  EXPECT_EQ(s.conv, conv);
  EXPECT_TRUE(s.fragments.empty()) << "bad input puts no error on the page";
  EXPECT_TRUE(ran.entries().empty()) << "no handler ran";
  EXPECT_TRUE(contains(s.error, "t/typed-form")) << s.error;
  EXPECT_TRUE(contains(s.error, "state field 'age'")) << s.error;

  const Value negative = edn::map({{kw("age"), -1}});
  s = dispatch(reg, conv, top_instance(conv), Event{"save", {}, negative}, opts);
  EXPECT_EQ(s.status, Step::Status::BadSignals) << "a number that does not fit is refused too";
  EXPECT_TRUE(contains(s.error, "out of range 0..4294967295")) << s.error;

  const Value good = edn::map({{kw("name"), "Ada"}, {kw("age"), 36}});
  s = dispatch(reg, conv, top_instance(conv), Event{"save", {}, good}, opts);
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_EQ(ran.entries(), Entries{"Ada"});
  EXPECT_EQ(top_frame(s.conv)[":age"], Value(36));
}

// keep() of a name that is no field of a typed state is refused where the
// component is defined: the signal would be stored beside the struct, and
// the field the author meant would never change.
TEST_F(Fold, KeepingANameThatIsNoFieldOfTheTypedStateIsRefused) {
  auto def = reg.define<Form>("t/typo-form");
  try {
    def.keep({"name", "nmae"});
    ADD_FAILURE() << "keep() took a name that is no field";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "keep: \"nmae\" is not a field of the state of :t/typo-form "
                 "(its fields: name, age)");
  }
  EXPECT_TRUE(reg.find(kw("t/typo-form"))->kept_signals.empty()) << "nothing of it was kept";
  def.keep({"age"});
  EXPECT_EQ(reg.find(kw("t/typo-form"))->kept_signals, std::vector<std::string>{"age"});
}

struct Place {
  std::string city;
};
STUBE_STATE(Place, city)
struct Trip {
  Place to;
};
STUBE_STATE(Trip, to)

// A kept signal holding a struct is kept as the struct writes it: keys the
// page made up are not stored (the typed step keeps the nested keys the
// stored map has, so these would stay for good).
TEST_F(Fold, AKeptNestedStructTakesOnlyTheKeysItDeclares) {
  reg.define<Trip>("t/trip").keep({"to"}).on("go", [](Ctx<Trip>&) {});
  const Value conv = start_conversation(reg, "t/trip", {}, opts).conv;
  const Value signals = edn::read(R"({:to {:city "Oslo", :injected "x", :a__b 1}})");
  const Step s = dispatch(reg, conv, top_instance(conv), Event{"go", {}, signals}, opts);
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_EQ(top_frame(s.conv)[":to"], edn::read(R"({:city "Oslo"})"));
}

// Only the signals are checked: a stored field that no longer fits (a record
// of an older version) is the handler's business, as before.
TEST_F(Fold, OnlyTheKeptSignalsAreCheckedNotTheRestOfTheState) {
  reg.define<Form>("t/typed-form").keep({"name"}).on("save", [](Ctx<Form>&) {});
  Value conv = start_conversation(reg, "t/typed-form", {}, opts).conv;
  const std::string iid(top_instance(conv));
  conv = conv::put_instance(conv, iid, conv::instance(conv, iid).assoc(kw("age"), "old"));
  Step s = dispatch(reg, conv, iid, Event{"save", {}, edn::map({{kw("name"), "Ada"}})}, opts);
  EXPECT_EQ(s.status, Step::Status::HandlerError);
  EXPECT_TRUE(contains(s.error, "state field 'age'")) << s.error;
}

TEST_F(Fold, PayloadAndSignalsReachTheHandler) {
  const Value signals = edn::map({{kw("x"), 1}});
  const Value conv = start().conv;
  Step s =
      dispatch(reg, conv, top_instance(conv), Event{"echo", edn::vec({1, "two"}), signals}, opts);
  EXPECT_EQ(top_frame(s.conv)[":payload"], edn::vec({1, "two"}));
  EXPECT_EQ(top_frame(s.conv)[":signals"], signals);
}

TEST_F(Fold, CatchAllHandleRunsWhenNoNamedHandlerMatches) {
  reg.define("t/any").handle([](Self& s, const Event& e) { s.set("last", e.name); });
  const Value conv = start_conversation(reg, "t/any", {}, opts).conv;
  Step s = dispatch(reg, conv, top_instance(conv), Event{"whatever"}, opts);
  EXPECT_EQ(top_frame(s.conv)[":last"], Value("whatever"));
}

TEST_F(Fold, HandlersCannotClobberInstanceKeys) {
  const Value conv = with_child();
  const Value frame = top_frame(conv);
  for (const char* event : {"clobber", "replace-state"}) {
    Step s = send(conv, Event{event});
    ASSERT_EQ(s.status, Step::Status::Ok) << event;
    const Value& after = top_frame(s.conv);
    for (const char* key :
         {":instance/id", ":instance/type", ":instance/parent", ":instance/resume"})
      EXPECT_EQ(after[key], frame[key]) << event << " " << key;
    EXPECT_EQ(top_iid(s.conv), top_iid(conv));
  }
  EXPECT_EQ(top_frame(send(conv, Event{"clobber"}).conv)[":n"], Value(7));
  EXPECT_EQ(top_frame(send(conv, Event{"replace-state"}).conv)[":n"], Value(42));
}

TEST_F(Fold, HooksDoNotSeeInstanceKeysInTheirState) {
  Journal seen;
  reg.define("t/peek").on("look", [&seen](Self& s) { seen.add(edn::write(s.state())); });
  const Value conv = start_conversation(reg, "t/peek", edn::map({{kw("a"), 1}}), opts).conv;
  (void)dispatch(reg, conv, top_instance(conv), Event{"look"}, opts);
  EXPECT_EQ(seen.entries(), Entries{"{:a 1}"});
}

TEST_F(Fold, AThrowingHandlerLeavesTheConversationUntouchedAndShowsAnError) {
  const Value conv = with_child();
  journal->clear();
  Step s = send(conv, Event{"boom"});
  EXPECT_EQ(s.status, Step::Status::HandlerError);
  EXPECT_EQ(s.conv, conv);  // no half-applied state, call or history
  EXPECT_TRUE(contains(s.error, "boom <b>&</b>"));
  ASSERT_EQ(s.fragments.size(), 1u);
  EXPECT_EQ(s.fragments[0].target, kErrorElementId);
  EXPECT_EQ(s.fragments[0].mode, Fragment::Mode::Inner);
  EXPECT_TRUE(contains(s.fragments[0].html, "boom &lt;b&gt;&amp;&lt;/b&gt;"));
  EXPECT_FALSE(contains(s.fragments[0].html, "<b>"));
  EXPECT_TRUE(s.timers.empty());
  EXPECT_FALSE(s.ended);
}

// A handler may throw anything (an int, a string, a type of its own): it is
// the handler's failure all the same, never the caller's (on the timer
// thread it would end the process).
TEST_F(Fold, AHandlerThatThrowsANonStandardExceptionFailsLikeAnyOther) {
  const Value conv = start().conv;
  Step s = send(conv, Event{"boom-int"});
  EXPECT_EQ(s.status, Step::Status::HandlerError);
  EXPECT_EQ(s.conv, conv);
  EXPECT_TRUE(contains(s.error, "not a std::exception")) << s.error;
  ASSERT_EQ(s.fragments.size(), 1u);
  EXPECT_EQ(s.fragments[0].target, kErrorElementId);
}

// Back restores the view (instances and stack), not what the runtime and
// the store keep beside it: a shared store's :conv/version (which a
// compare-and-set checks) and the owner stay the live conversation's.
TEST_F(Fold, BackKeepsTheLiveConversationsOtherKeys) {
  const Value versioned = start().conv.assoc(kw("conv/version"), 3);
  Step one = send(versioned, Event{"inc"});
  const Value later = one.conv.assoc(kw("conv/version"), 4).assoc(kw("stube/owner"), "ow-x");
  Step b = send(later, Event{"back"});
  ASSERT_EQ(b.status, Step::Status::Ok);
  EXPECT_EQ(top_frame(b.conv)[":n"], Value(0));
  EXPECT_EQ(b.conv.get(kw("conv/version")), Value(4));
  EXPECT_EQ(b.conv.get(kw("stube/owner")), Value("ow-x"));
  EXPECT_TRUE(conv::history(b.conv).empty());
}

TEST_F(Fold, FailuresInsideEffectsLeaveTheConversationUntouched) {
  const Value conv = start().conv;
  for (const char* event : {"call-broken", "call-unknown", "call-no-resume"}) {
    Step s = send(conv, Event{event});
    EXPECT_EQ(s.status, Step::Status::HandlerError) << event;
    EXPECT_EQ(s.conv, conv) << event;
    EXPECT_FALSE(s.error.empty());
    ASSERT_NE(fragment_for(s, kErrorElementId), nullptr);
  }
  // A resume key the caller has no hook for fails the call itself, before
  // any child exists, not the child's answer, when the dialog has been
  // gone through and could not be answered again.
  const Step s = send(conv, Event{"call-no-resume"});
  EXPECT_TRUE(contains(s.error, "with resume key '")) << s.error;
  EXPECT_TRUE(contains(s.error, "which it has no resume hook for")) << s.error;
}

TEST_F(Fold, ARenderThatThrowsIsAHandlerError) {
  const Value conv = start().conv;
  Step s = send(conv, Event{"render-fails"});
  EXPECT_EQ(s.status, Step::Status::HandlerError);
  EXPECT_TRUE(contains(s.error, "render failed"));
  EXPECT_EQ(s.conv, conv);
}

// Once a frame has answered it is gone: effects it requested after its
// answer must not act on the frames that are left.
TEST_F(Fold, EffectsAfterAnAnswerDoNotTouchTheRemainingFrames) {
  const Value conv = with_child();
  const std::string root(conv::stack(conv)[0].as_string());
  for (const char* event : {"answer-twice", "answer-then-call"}) {
    SCOPED_TRACE(event);
    Step s = send(conv, Event{event});
    if (s.status == Step::Status::HandlerError) continue;  // refusing is fine too
    EXPECT_FALSE(s.ended) << "a second answer must not end the whole conversation";
    EXPECT_EQ(conv::stack(s.conv), edn::vec({root}));
    EXPECT_EQ(instance(s.conv, root)[":got"], Value(1));
    EXPECT_EQ(conv::instances(s.conv).size(), 1u) << "no orphan frame";
  }
}

TEST_F(Fold, ErrorMessagesNameTheCulprit) {
  const Value conv = start().conv;
  EXPECT_TRUE(contains(send(conv, Event{"no-such-event"}).error, "no-such-event"));
  EXPECT_TRUE(contains(send(conv, Event{"call-unknown"}).error, "t/nope"));
  EXPECT_TRUE(contains(send(conv, Event{"call-broken"}).error, "start failed"));
}

TEST_F(Fold, AnEventForAMissingInstanceChangesNothing) {
  const Value conv = start().conv;
  Step s = dispatch(reg, conv, "ix-gone", Event{"inc"}, opts);
  EXPECT_EQ(s.status, Step::Status::NoInstance);
  EXPECT_EQ(s.conv, conv);
  EXPECT_TRUE(s.fragments.empty());
}

// A conversation a store handed back malformed is a step with its error,
// never an exception out of dispatch (the runtime answers with the step).
TEST_F(Fold, AMalformedConversationIsAnErrorStepNotAnException) {
  for (const char* text :
       {R"({:conv/id "cv-a", :conv/instances [], :conv/stack ["ix-1"], :conv/history []})",
        R"({:conv/id "cv-a", :conv/instances {"ix-1" [1 2]}, :conv/stack ["ix-1"]})"}) {
    const Value conv = edn::read(text);
    Step s;
    ASSERT_NO_THROW(s = dispatch(reg, conv, "ix-1", Event{"inc"}, opts)) << text;
    EXPECT_EQ(s.status, Step::Status::HandlerError) << text;
    EXPECT_FALSE(s.error.empty()) << text;
    EXPECT_EQ(s.conv, conv) << text;
  }
}

// An event the component has no handler for (a forged URL, a page from an
// older version) is bad input, not a failing handler: nothing runs and no
// error is put on the page.
TEST_F(Fold, AnUnknownEventChangesNothingAndShowsNoError) {
  const Value conv = start().conv;
  Step s = send(conv, Event{"no-such-event"});
  EXPECT_EQ(s.status, Step::Status::UnknownEvent);
  EXPECT_EQ(s.conv, conv);
  EXPECT_TRUE(s.fragments.empty());
  EXPECT_TRUE(contains(s.error, "has no handler for event 'no-such-event'")) << s.error;
}

TEST_F(Fold, HistoryIsBoundedAndSnapshotsHoldNoHistory) {
  opts.history_limit = 3;
  Value conv = start().conv;
  for (int i = 0; i < 10; ++i) conv = send(conv, Event{"inc"}).conv;
  const Value& history = conv::history(conv);
  ASSERT_EQ(history.size(), 3u);
  for (std::size_t i = 0; i < history.size(); ++i) {
    EXPECT_FALSE(history[i].contains(conv::keys::history()));
    EXPECT_EQ(top_frame(history[i])[":n"], Value(static_cast<int>(7 + i)));
  }
  // Going back three times reaches n=7; a fourth back has nothing left.
  for (int i = 0; i < 4; ++i) conv = send(conv, Event{"back"}).conv;
  EXPECT_EQ(top_frame(conv)[":n"], Value(7));
}

TEST_F(Fold, AHistoryLimitOfZeroDisablesBack) {
  opts.history_limit = 0;
  Value conv = send(start().conv, Event{"inc"}).conv;
  EXPECT_TRUE(conv::history(conv).empty());
  conv = send(conv, Event{"back"}).conv;
  EXPECT_EQ(top_frame(conv)[":n"], Value(1));
}

// A conversation recorded under a larger limit (e.g. restored from a store
// after the setting changed) used to go back over its stored history.
TEST_F(Fold, AHistoryLimitOfZeroDisablesBackOverAStoredHistoryToo) {
  Value conv = start().conv;
  for (int i = 0; i < 2; ++i) conv = send(conv, Event{"inc"}).conv;
  ASSERT_EQ(conv::history(conv).size(), 2u);
  opts.history_limit = 0;
  Step b = go_back(reg, conv, opts);
  ASSERT_EQ(b.status, Step::Status::Ok);
  EXPECT_EQ(top_frame(b.conv)[":n"], Value(2));
  Step effect = send(conv, Event{"back"});
  ASSERT_EQ(effect.status, Step::Status::Ok);
  EXPECT_EQ(top_frame(effect.conv)[":n"], Value(2));
}

// And such a history is cut to the limit at the next step, not only at one
// that records a moment: a limit of 0 kept every stored snapshot for good,
// written again by every save.
TEST_F(Fold, AHistoryRecordedUnderALargerLimitIsCutAtTheNextStep) {
  Value conv = start().conv;
  for (int i = 0; i < 5; ++i) conv = send(conv, Event{"inc"}).conv;
  ASSERT_EQ(conv::history(conv).size(), 5u);
  opts.history_limit = 2;
  const Step b = go_back(reg, conv, opts);  // records nothing
  ASSERT_EQ(b.status, Step::Status::Ok);
  EXPECT_EQ(top_frame(b.conv)[":n"], Value(4));
  ASSERT_EQ(conv::history(b.conv).size(), 2u);
  EXPECT_EQ(top_frame(conv::history(b.conv)[1])[":n"], Value(3)) << "the newest are kept";
  opts.history_limit = 0;
  const Step e = send(conv, Event{"inc"});
  ASSERT_EQ(e.status, Step::Status::Ok);
  EXPECT_TRUE(conv::history(e.conv).empty());
}

TEST_F(Fold, RenderedAttributesPostToTheConversationUnderTheBasePath) {
  opts.base_path = "/app";
  const Value conv = start().conv;
  const std::string html = render_top(reg, conv, opts);
  const std::string url =
      "/app/event/" + std::string(conv::id(conv)) + "/" + top_iid(conv) + "/inc";
  EXPECT_TRUE(contains(html, url)) << html;
}

TEST_F(Fold, RenderedStateIsEscaped) {
  const Value conv = start(edn::map({{kw("label"), "<script>alert('x')</script>"}})).conv;
  const std::string html = render_top(reg, conv, opts);
  EXPECT_FALSE(contains(html, "<script>"));
  EXPECT_TRUE(contains(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
}

TEST_F(Fold, EveryStepKeepsTheConversationPrintableAndReadable) {
  Value conv = start().conv;
  for (const char* e : {"inc", "call", "inc", "answer", "patch", "back", "inc"}) {
    conv = send(conv, Event{e}).conv;
    ASSERT_TRUE(conv.printable()) << e;
    ASSERT_EQ(edn::read(edn::write(conv)), conv) << e;
  }
}

}  // namespace
}  // namespace stube::test
