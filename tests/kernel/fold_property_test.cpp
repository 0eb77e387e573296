// Random event sequences through the fold keep the conversation well formed.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <memory>
#include <set>

#include "kernel/probe.hpp"
#include "kernel/support.hpp"
#include "stube/conversation.hpp"

namespace stube::test {
namespace {

// Every instance is on the stack exactly once, each frame's parent is the
// frame below it, the history is bounded and holds no nested history, and
// the whole value prints and reads back.
void check_well_formed(const Value& conv, std::size_t history_limit) {
  const Value& stack = conv::stack(conv);
  RC_ASSERT(!stack.empty());
  RC_ASSERT(stack.size() == conv::instances(conv).size());
  std::set<std::string> seen;
  for (std::size_t i = 0; i < stack.size(); ++i) {
    const std::string iid(stack[i].as_string());
    RC_ASSERT(seen.insert(iid).second);
    const Value& inst = instance(conv, iid);
    RC_ASSERT(inst[":instance/id"] == Value(iid));
    RC_ASSERT(inst[":instance/parent"] == (i == 0 ? Value() : stack[i - 1]));
  }
  RC_ASSERT(conv::history(conv).size() <= history_limit);
  for (const Value& snapshot : conv::history(conv))
    RC_ASSERT(!snapshot.contains(conv::keys::history()));
  RC_ASSERT(edn::read(edn::write(conv)) == conv);
}

RC_GTEST_PROP(FoldProperty, RandomEventsKeepTheConversationWellFormed, ()) {
  auto journal = std::make_shared<Journal>();
  Registry reg;
  define_probe(reg, journal);
  KernelOptions opts;
  opts.history_limit = *rc::gen::inRange<std::size_t>(0, 6);
  Value conv = start_conversation(reg, "t/probe", {}, opts).conv;
  // `neutral`: leaves the stack alone, so it may also reach a frame below
  // the top (a stale event from an earlier view).
  struct Kind {
    const char* name;
    bool neutral;
  };
  const std::vector<Kind> kinds{
      {"inc", true},   {"noop", true},        {"patch", true},         {"clobber", true},
      {"boom", true},  {"call-broken", true}, {"call", false},         {"answer", false},
      {"back", false}, {"replace", false},    {"answer-twice", false}, {"answer-then-call", false}};
  const auto picks = *rc::gen::container<std::vector<std::pair<std::size_t, bool>>>(
      rc::gen::pair(rc::gen::inRange<std::size_t>(0, kinds.size()), rc::gen::arbitrary<bool>()));
  for (const auto& [pick, stale] : picks) {
    const Kind& kind = kinds[pick];
    const Value before = conv;
    const Value& stack = conv::stack(conv);
    const bool below = stale && kind.neutral && stack.size() > 1;
    const std::string iid(stack[stack.size() - (below ? 2 : 1)].as_string());
    const Step s = dispatch(reg, conv, iid, Event{kind.name}, opts);
    if (s.status == Step::Status::HandlerError) {
      RC_ASSERT(s.conv == before);
      continue;
    }
    RC_ASSERT(s.status == Step::Status::Ok);
    if (s.ended) {  // only the root answering ends a probe conversation
      RC_ASSERT(std::string_view(kind.name).rfind("answer", 0) == 0);
      RC_ASSERT(conv::stack(before).size() == 1u);
      conv = start_conversation(reg, "t/probe", {}, opts).conv;
      continue;
    }
    conv = s.conv;
    check_well_formed(conv, opts.history_limit);
  }
}

}  // namespace
}  // namespace stube::test
