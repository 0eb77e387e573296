// The same wizard as a coroutine flow: the transient shape (SPEC §6).
// Straight-line code, but the coroutine frame is a live C++ object, so the
// conversation is not printable: it works live, a durable store skips it
// with a warning, and a restart loses it.
#include <string>
#include <utility>

#include "demo.hpp"
#include "stube/flow.hpp"

namespace demo {

namespace {

using stube::edn::kw;
using stube::edn::Value;

// GCC 12 rejects a braced initializer list inside a co_await expression
// ("array used as initializer", see docs/flows.md): the dialogs are built
// outside them.
stube::Embed ask_name(const std::string& previous, const std::string& rejected) {
  return stube::prompt(name_question(rejected), previous);
}
stube::Embed board(const std::string& name) {
  return stube::embed("demo/board", stube::edn::map({{kw("name"), name}}));
}
stube::Embed summary(const std::string& name, const Value& items) {
  return stube::embed(
      "demo/summary",
      stube::edn::map({{kw("name"), name}, {kw("items"), items}, {kw("again"), "wizard-flow"}}));
}

stube::Flow onboarding(Value) {  // by value or const&: the flow's frame keeps its own copy
  std::string name, rejected;
  for (;;) {
    const Value answer = co_await stube::await(ask_name(name, rejected));
    rejected.clear();
    if (stube::cancelled(answer)) continue;
    if (std::string text(answer.as_string()); !acceptable_name(text)) {
      rejected = std::move(text);
      continue;
    }
    name = std::string(answer.as_string());
    const stube::Embed confirm = stube::confirm("Continue as " + name + "?");
    if ((co_await stube::await(confirm)).as_bool()) break;
  }
  const Value items = co_await stube::await(board(name));
  // The summary never answers: the conversation stays on it.
  co_await stube::await(summary(name, items));
  co_return Value();
}

}  // namespace

void define_wizard_flow(stube::Registry& reg) {
  stube::define_flow(reg, "demo/wizard-flow", onboarding);
}

}  // namespace demo
