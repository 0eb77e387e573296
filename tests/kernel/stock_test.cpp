// The stock dialogs: confirm, prompt, choose, info — called from a host
// component whose resume key records the answer.
#include <gtest/gtest.h>

#include "kernel/support.hpp"
#include "stube/kernel.hpp"

namespace stube::test {
namespace {

class Stock : public ::testing::Test {
 protected:
  Stock() {
    // :t/host calls the embed it is started with and keeps the answer.
    reg.define("t/host")
        .init([](const Value& args) {
          return edn::map({{kw("child"), args}});
        })
        .on("open",
            [](Self& s) {
              const Value& c = s[":child"];
              s.call(Embed{c[":component"], c[":args"]}, "on-answer");
            })
        .resume("on-answer", [](Self& s, const Value& answer) { s.set("answer", answer); });
  }

  // Opens `dialog` from the host; returns the conversation with the dialog on top.
  Value open(const Embed& dialog) {
    const Value args = edn::map({{kw("component"), dialog.component}, {kw("args"), dialog.args}});
    Value conv = start_conversation(reg, "t/host", args, opts).conv;
    conv = send_top(reg, conv, Event{"open"}, opts).conv;
    EXPECT_EQ(top_type(conv), std::string(dialog.component.as_keyword()));
    return conv;
  }
  // Answers the dialog with `e`; returns what the host received.
  Value answer(const Embed& dialog, const Event& e) {
    const Step s = send_top(reg, open(dialog), e, opts);
    EXPECT_EQ(top_type(s.conv), "t/host");
    EXPECT_EQ(conv::stack(s.conv).size(), 1u);
    const Value* got = top_frame(s.conv).find(kw("answer"));
    return got ? *got : Value::symbol("no-answer");
  }
  std::string view(const Embed& dialog) { return render_top(reg, open(dialog), opts); }

  Registry reg;
  KernelOptions opts;
};

TEST_F(Stock, ConfirmAnswersTrueOrFalse) {
  EXPECT_EQ(answer(confirm("Sure?"), yes()), Value(true));
  EXPECT_EQ(answer(confirm("Sure?"), no()), Value(false));
  const std::string html = view(confirm("Delete <all>?"));
  EXPECT_TRUE(contains(html, "Delete &lt;all&gt;?"));
  EXPECT_TRUE(contains(html, "/yes&#39;"));
  EXPECT_TRUE(contains(html, "/no&#39;"));
}

TEST_F(Stock, PromptAnswersTheTypedString) {
  EXPECT_EQ(answer(prompt("Name?"), type_and_ok("Ada")), Value("Ada"));
  EXPECT_EQ(answer(prompt("Name?"), type_and_ok("")), Value(""));
  EXPECT_EQ(answer(prompt("Name?", "Bob"), type_and_ok("Ada \"Countess\" <L>")),
            Value("Ada \"Countess\" <L>"));
}

TEST_F(Stock, PromptAnswersItsDefaultWhenNothingWasTyped) {
  EXPECT_EQ(answer(prompt("Name?", "Bob"), Event{"ok"}), Value("Bob"));
  EXPECT_EQ(answer(prompt("Name?"), Event{"ok"}), Value(""));
}

TEST_F(Stock, PromptOnlyKeepsItsOwnSignal) {
  const Value signals = edn::map({{kw("answer"), "Ada"}, {kw("question"), "hijacked"}});
  const Value conv = open(prompt("Name?"));
  const Step s = send_top(reg, conv, Event{"ok", {}, signals}, opts);
  EXPECT_EQ(top_frame(s.conv)[":answer"], Value("Ada"));
}

// Its text field always sends a string: another kind of answer is forged.
TEST_F(Stock, PromptRefusesAnAnswerThatIsNotText) {
  const Value conv = open(prompt("Name?"));
  for (const auto& [forged, says] : std::vector<std::pair<Value, std::string>>{
           {Value(42), "42"}, {edn::map({{kw("a"), 1}}), "{:a 1}"}}) {
    const Step s = dispatch(reg, conv, top_instance(conv),
                            Event{"ok", {}, edn::map({{kw("answer"), forged}})}, opts);
    EXPECT_EQ(s.status, Step::Status::BadEvent);
    EXPECT_TRUE(contains(s.error, "prompt: the answer must be text, not " + says)) << s.error;
    EXPECT_EQ(s.conv, conv);
  }
  // Embedded without a default and sent without signals: the empty answer.
  const Value bare = open(Embed{kw("stube/prompt"), edn::map({{kw("question"), "Q?"}})});
  EXPECT_EQ(send_top(reg, bare, Event{"ok"}, opts).status, Step::Status::Ok);
}

TEST_F(Stock, PromptCancelAnswersTheSentinel) {
  const Value got = answer(prompt("Name?", "Bob"), cancel());
  EXPECT_EQ(got, cancel_value());
  EXPECT_TRUE(cancelled(got));
  EXPECT_EQ(cancel_value(), kw("stube/cancel"));
  EXPECT_FALSE(cancelled(Value("stube/cancel")));
}

TEST_F(Stock, PromptRendersItsQuestionDefaultAndBinding) {
  const std::string html = view(prompt("Your <name>?", "Bo\"b"));
  EXPECT_TRUE(contains(html, "Your &lt;name&gt;?"));
  EXPECT_TRUE(contains(html, "value=\"Bo&quot;b\""));
  EXPECT_TRUE(contains(html, "data-bind=\""));
  EXPECT_TRUE(contains(html, ".answer\""));
}

TEST_F(Stock, ChooseAnswersThePickedOption) {
  const std::vector<Value> options{Value("free"), kw("plan/pro"), edn::map({{kw("n"), 3}})};
  EXPECT_EQ(answer(choose("Plan?", options), pick(0)), Value("free"));
  EXPECT_EQ(answer(choose("Plan?", options), pick(1)), kw("plan/pro"));
  EXPECT_EQ(answer(choose("Plan?", options), pick(2)), edn::map({{kw("n"), 3}}));
  EXPECT_EQ(answer(choose("Plan?", options), cancel()), cancel_value());
  const std::string html = view(choose("Plan?", options));
  EXPECT_TRUE(contains(html, "free"));
  EXPECT_TRUE(contains(html, ":plan/pro"));
}

// Options given as a set or a list (embed("stube/choose", …) by hand) are
// picked as rendered; options that are no collection fail the call.
TEST_F(Stock, ChooseTakesASetOrAListOfOptionsAndRefusesOthers) {
  const Value set_options = edn::read("#{\"a\"}");
  const Embed from_set{kw("stube/choose"), edn::map({{kw("options"), set_options}})};
  EXPECT_EQ(answer(from_set, pick(0)), Value("a"));
  const Embed from_list{kw("stube/choose"),
                        edn::map({{kw("options"), edn::read("(\"x\" \"y\")")}})};
  EXPECT_EQ(answer(from_list, pick(1)), Value("y"));
  const Embed bad{kw("stube/choose"), edn::map({{kw("options"), Value("abc")}})};
  const Value args = edn::map({{kw("component"), bad.component}, {kw("args"), bad.args}});
  const Value conv = start_conversation(reg, "t/host", args, opts).conv;
  const Step s = dispatch(reg, conv, top_instance(conv), Event{"open"}, opts);
  EXPECT_EQ(s.status, Step::Status::HandlerError);
  EXPECT_TRUE(contains(s.error,
                       ":options must be a vector (or a list or a set) of options, not a "
                       "string"))
      << s.error;
  EXPECT_EQ(s.conv, conv);
}

// No options at all is the caller's mistake too, named when it calls.
TEST_F(Stock, ChooseWithoutOptionsFailsTheCall) {
  for (const Value& given : {edn::map({{kw("question"), Value("q")}}),
                             edn::map({{kw("options"), Value()}}), Value(), edn::read("[1 2]")}) {
    const Value args = edn::map({{kw("component"), kw("stube/choose")}, {kw("args"), given}});
    const Value conv = start_conversation(reg, "t/host", args, opts).conv;
    const Step s = dispatch(reg, conv, top_instance(conv), Event{"open"}, opts);
    EXPECT_EQ(s.status, Step::Status::HandlerError) << edn::write(given);
    EXPECT_TRUE(contains(s.error, "stube/choose: no :options to choose from")) << s.error;
    EXPECT_EQ(s.conv, conv);
  }
}

// A restored record may hold :options as a set (init, which makes it a
// vector, ran in another program or not at all): picked as rendered.
TEST_F(Stock, ChooseRestoredWithASetOfOptionsPicksAsRendered) {
  Value conv = open(choose("Plan?", {Value("a"), Value("b")}));
  const std::string iid(top_instance(conv));
  const Value options = edn::read("#{\"x\" \"y\"}");
  conv = conv::put_instance(conv, iid, conv::instance(conv, iid).assoc(kw("options"), options));
  const Step s = dispatch(reg, conv, iid, pick(1), opts);
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_EQ(top_frame(s.conv)[":answer"], options.items()[1]);
}

// A forged pick is bad input (HTTP 400), not a failing handler: refused,
// saying what was wrong, with nothing changed and nothing on the page.
TEST_F(Stock, ChooseRefusesAnOptionThatDoesNotExist) {
  const Value conv = open(choose("Plan?", {Value("a"), Value("b")}));
  for (const auto& [e, says] : std::vector<std::pair<Event, std::string>>{
           {pick(2), "no option 2 (there are 2)"},
           {pick(-1), "no option -1 (there are 2)"},
           {Event{"pick", "zero"}, "the payload must be an option's index, not \"zero\""},
           {Event{"pick"}, "the payload must be an option's index, not nil"}}) {
    const Step s = dispatch(reg, conv, top_instance(conv), e, opts);
    EXPECT_EQ(s.status, Step::Status::BadEvent) << edn::write(e.payload);
    EXPECT_TRUE(contains(s.error, "component :stube/choose refused event 'pick': choose: " + says))
        << s.error;
    EXPECT_EQ(s.conv, conv);
    EXPECT_TRUE(s.fragments.empty());
  }
}

TEST_F(Stock, InfoAnswersOk) {
  EXPECT_EQ(answer(info("Saved."), Event{"ok"}), kw("ok"));
  EXPECT_TRUE(contains(view(info("All <done>")), "All &lt;done&gt;"));
}

TEST_F(Stock, DialogsAreOrdinaryEmbeds) {
  EXPECT_EQ(confirm("q").component, kw("stube/confirm"));
  EXPECT_EQ(prompt("q").component, kw("stube/prompt"));
  EXPECT_EQ(choose("q", {}).component, kw("stube/choose"));
  EXPECT_EQ(info("m").component, kw("stube/info"));
  EXPECT_EQ(confirm("q").args[":question"], Value("q"));
}

}  // namespace
}  // namespace stube::test
