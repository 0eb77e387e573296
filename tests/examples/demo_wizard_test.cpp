// The demo's wizards (examples/demo): the rules on the name they take, for
// both shapes, driven through the kernel as the browser tests drive the page.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "demo/demo.hpp"
#include "kernel/support.hpp"

namespace stube::test {
namespace {

Registry demo_registry() {
  Registry reg;
  demo::define_board(reg);
  demo::define_wizard(reg);
  demo::define_wizard_flow(reg);
  return reg;
}

std::string question(const Value& conv) {
  return std::string(top_frame(conv)[":question"].as_string());
}

class DemoWizard : public ::testing::TestWithParam<const char*> {
 protected:
  Registry reg = demo_registry();
  Step s = start_conversation(reg, GetParam(), {}, {});
};

TEST_P(DemoWizard, ABlankNameIsAskedForAgain) {
  ASSERT_EQ(top_type(s.conv), "stube/prompt");
  s = send_top(reg, s.conv, type_and_ok("  \t "));
  EXPECT_EQ(top_type(s.conv), "stube/prompt");
  EXPECT_EQ(question(s.conv), "What is your name?");
  s = send_top(reg, s.conv, type_and_ok("Ada"));
  EXPECT_EQ(top_type(s.conv), "stube/confirm");
  EXPECT_EQ(question(s.conv), "Continue as Ada?");
}

// The name is copied into every later step and snapshot: a visitor must not
// grow the conversation with a 60 KB name.
TEST_P(DemoWizard, ATooLongNameIsAskedForAgainSayingWhy) {
  s = send_top(reg, s.conv, type_and_ok(std::string(demo::kMaxItemText + 1, 'x')));
  EXPECT_EQ(top_type(s.conv), "stube/prompt");
  EXPECT_EQ(question(s.conv), "That is too long (at most 200 characters). What is your name?");
  // Characters, as the text field's maxlength counts them, not bytes: 200
  // accented letters (400 bytes) are a name.
  std::string accented;
  for (std::size_t i = 0; i < demo::kMaxItemText; ++i) accented += "\u00e9";
  s = send_top(reg, s.conv, type_and_ok(accented));
  EXPECT_EQ(top_type(s.conv), "stube/confirm");
}

TEST(DemoLists, ItemTextIsCountedInCharacters) {
  std::string text;
  for (std::size_t i = 0; i < demo::kMaxItemText; ++i) text += "\u00e9";
  EXPECT_NO_THROW(demo::check_item_text(text));
  EXPECT_THROW(demo::check_item_text(text + "x"), BadEvent);
  EXPECT_EQ(demo::characters("a\u00e9\u20ac\U0001F600"), 4u);
}

INSTANTIATE_TEST_SUITE_P(BothShapes, DemoWizard,
                         ::testing::Values("demo/wizard", "demo/wizard-flow"),
                         [](const testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param) == "demo/wizard" ? "Task" : "Flow";
                         });

// examples/conversation.edn is a record of this wizard as the file store
// wrote it: it still reads as one, and the wizard goes on from it.
TEST(DemoConversationExample, IsALiveRecordOfTheWizard) {
  std::ifstream in(std::string(STUBE_SOURCE_DIR) + "/examples/conversation.edn");
  ASSERT_TRUE(in) << "examples/conversation.edn";
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Value conv = edn::read(text);
  const Registry reg = demo_registry();
  EXPECT_EQ(top_type(conv), "stube/confirm");
  EXPECT_EQ(question(conv), "Continue as Ada?");
  const Step woken = wake(reg, conv, {});
  ASSERT_EQ(woken.status, Step::Status::Ok) << woken.error;
  const Step s = dispatch(reg, woken.conv, top_instance(woken.conv), Event{"yes"}, {});
  ASSERT_EQ(s.status, Step::Status::Ok) << s.error;
  EXPECT_EQ(top_type(s.conv), "demo/board");
}

}  // namespace
}  // namespace stube::test
