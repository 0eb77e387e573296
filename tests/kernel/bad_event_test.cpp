// stube::BadEvent: a handler refusing an event as bad input. The step is
// BadEvent with a message naming the component, the event and the reason;
// the conversation is unchanged and nothing goes to the page. The marked
// code is docs/components.md's example (tests/kernel/docs_test.cpp).
#include <gtest/gtest.h>

#include <stdexcept>

#include "kernel/support.hpp"
#include "stube/kernel.hpp"

namespace stube::test {
namespace {

TEST(BadEvent, TheHandlerRefusesTheEventAndNothingChanges) {
  Registry registry;
  // clang-format off
// snippet: bad-event
registry.define("app/picker")
    .on("pick", [](stube::Self& s, const stube::Event& e) {
      if (!e.payload.is(stube::edn::Kind::Int))
        throw stube::BadEvent("pick: the payload must be an option's index");
      s.set("picked", e.payload);
    });
// end snippet
  // clang-format on
  const KernelOptions opts;
  const Value conv = start_conversation(registry, "app/picker", Value(), opts).conv;
  const std::string iid(top_instance(conv));
  const Step bad = dispatch(registry, conv, iid, Event{"pick", "one"}, opts);
  EXPECT_EQ(bad.status, Step::Status::BadEvent);
  EXPECT_EQ(bad.error,
            "component :app/picker refused event 'pick': pick: the payload must be an option's "
            "index");
  EXPECT_EQ(bad.conv, conv);
  EXPECT_TRUE(bad.fragments.empty()) << "nothing on the page";
  const Step good = dispatch(registry, conv, iid, Event{"pick", 1}, opts);
  ASSERT_EQ(good.status, Step::Status::Ok) << good.error;
  EXPECT_EQ(instance(good.conv, iid)[":picked"], Value(1));
}

// Only the event's own handler refuses: a BadEvent from further on (here a
// parent's resume, after the child answered and was removed) comes after
// the fold changed things, and is a HandlerError shown on the page.
TEST(BadEvent, OneThrownAfterTheHandlerIsAHandlerError) {
  Registry registry;
  registry.define("app/answerer").on("go", [](Self& s) { s.answer(1); });
  registry.define("app/asker")
      .start([](Self& s) { s.call(embed("app/answerer"), "got"); })
      .resume("got", [](Self&, const Value&) { throw BadEvent("not from here"); });
  const KernelOptions opts;
  const Value conv = start_conversation(registry, "app/asker", Value(), opts).conv;
  const Step s = dispatch(registry, conv, top_instance(conv), Event{"go"}, opts);
  EXPECT_EQ(s.status, Step::Status::HandlerError);
  EXPECT_EQ(s.conv, conv);
  EXPECT_FALSE(s.fragments.empty()) << "the error is shown on the page";
}

// A handler error's message says, for the log, which event to which
// instance it came from (a resume hook's message alone did not); the page
// shows the message only.
TEST(BadEvent, AHandlerErrorNamesTheEventAndTheInstanceForTheLog) {
  Registry registry;
  registry.define("app/failing").on("go", [](Self&) -> void { throw std::runtime_error("boom"); });
  const KernelOptions opts;
  const Value conv = start_conversation(registry, "app/failing", Value(), opts).conv;
  const std::string iid(top_instance(conv));
  const Step s = dispatch(registry, conv, iid, Event{"go"}, opts);
  ASSERT_EQ(s.status, Step::Status::HandlerError);
  EXPECT_EQ(s.error, "event 'go' to :app/failing (" + iid + "): boom");
  ASSERT_EQ(s.fragments.size(), 1u);
  EXPECT_NE(s.fragments[0].html.find("boom"), std::string::npos) << s.fragments[0].html;
  EXPECT_EQ(s.fragments[0].html.find("app/failing"), std::string::npos) << s.fragments[0].html;
}

}  // namespace
}  // namespace stube::test
