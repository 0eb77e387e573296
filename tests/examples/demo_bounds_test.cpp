// The demo's counter and todo list taken from a record written by hand: a
// count or an id at the end of its range is refused with a message, not
// stepped past (a signed overflow: undefined behaviour, in release a
// negative number saved).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <tuple>

#include "demo/demo.hpp"
#include "kernel/support.hpp"

namespace stube::test {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

Registry demo_registry() {
  Registry reg;
  demo::define_counter(reg);
  demo::define_todo(reg);
  demo::define_board(reg);
  return reg;
}

// A conversation of `component` whose top frame has `key` set to `value`.
Value restored(const Registry& reg, const char* component, const char* key, const Value& value) {
  const Value conv = start_conversation(reg, component, {}, {}).conv;
  const std::string iid(top_instance(conv));
  return conv::put_instance(conv, iid, conv::instance(conv, iid).assoc(kw(key), value));
}

TEST(DemoBounds, TheCounterStopsAtTheEndsOfItsRange) {
  const Registry reg = demo_registry();
  for (const auto& [count, event, says] :
       {std::tuple{kMax, "inc", "cannot go higher"}, std::tuple{kMin, "dec", "cannot go lower"}}) {
    const Value conv = restored(reg, "demo/counter", "count", Value(count));
    const Step refused = dispatch(reg, conv, top_instance(conv), Event{event}, {});
    EXPECT_EQ(refused.status, Step::Status::BadEvent) << event;
    EXPECT_NE(refused.error.find(says), std::string::npos) << refused.error;
    EXPECT_EQ(refused.conv, conv);
    const Step back =
        dispatch(reg, conv, top_instance(conv), Event{count == kMax ? "dec" : "inc"}, {});
    ASSERT_EQ(back.status, Step::Status::Ok) << back.error;
    EXPECT_EQ(top_frame(back.conv)[":count"], Value(count == kMax ? kMax - 1 : kMin + 1));
  }
}

TEST(DemoBounds, TheTodoListRefusesAnItemWhenNoIdIsLeft) {
  const Registry reg = demo_registry();
  const Value conv = restored(reg, "demo/todo", "next_id", Value(kMax));
  const std::string iid(top_instance(conv));
  const Value typed =
      conv::put_instance(conv, iid, conv::instance(conv, iid).assoc(kw("new_text"), "tea"));
  const Step s = dispatch(reg, typed, iid, Event{"add"}, {});
  EXPECT_EQ(s.status, Step::Status::BadEvent);
  EXPECT_NE(s.error.find("no item ids left"), std::string::npos) << s.error;
  EXPECT_EQ(s.conv, typed);
}

// The fields come with every event as the page has them, and each step's
// history keeps them: an event that does not read a field (cancel-edit,
// edit, delete, the board's finish) still refuses one longer than it holds,
// or 25 of them grew a todo's record to 1.3 MB.
TEST(DemoBounds, EveryEventRefusesAFieldLongerThanItHolds) {
  const Registry reg = demo_registry();
  const Value conv = start_conversation(reg, "demo/todo", {}, {}).conv;
  const std::string iid(top_instance(conv));
  const Value long_text(std::string(demo::kMaxItemText + 1, 'x'));
  for (const char* field : {"new_text", "edit_text"})
    for (const Event& event : {Event{"cancel-edit"}, Event{"edit", Value(1)},
                               Event{"delete", Value(1)}, Event{"add"}, Event{"save"}}) {
      const Value signals = edn::map({{kw(field), long_text}});
      const Step s = dispatch(reg, conv, iid, Event{event.name, event.payload, signals}, {});
      EXPECT_EQ(s.status, Step::Status::BadEvent) << field << " " << event.name;
      EXPECT_NE(s.error.find("at most 200 characters"), std::string::npos) << s.error;
      EXPECT_EQ(s.conv, conv) << field << " " << event.name;
    }
  // The board (the wizard's last step), adding or finishing with a long
  // field, blank too.
  const Value board =
      start_conversation(reg, "demo/board", edn::map({{kw("name"), "Ann"}}), {}).conv;
  for (const Value& text : {long_text, Value(std::string(demo::kMaxItemText + 1, ' '))})
    for (const char* event : {"add", "finish"}) {
      const Step s = dispatch(reg, board, top_instance(board),
                              Event{event, {}, edn::map({{kw("item"), text}})}, {});
      EXPECT_EQ(s.status, Step::Status::BadEvent) << event << ": " << s.error;
    }
}

}  // namespace
}  // namespace stube::test
