// The onboarding wizard as a task component: the durable shape (SPEC §5).
// start calls the first dialog; each resume key stores what it learned in
// the instance's EDN state and calls the next one. Everything is data, so
// the conversation survives a restart at any step.
#include <string>
#include <utility>

#include "demo.hpp"

namespace demo {

namespace {

struct Wizard {
  std::string name;
};
STUBE_STATE(Wizard, name)

void ask_name(stube::Ctx<Wizard>& c, const std::string& rejected = {}) {
  c.call(stube::prompt(name_question(rejected), c->name), "on-name");
}

}  // namespace

void define_wizard(stube::Registry& reg) {
  using namespace stube::html;
  using stube::Ctx;
  reg.define<Wizard>("demo/wizard")
      .render([](const Ctx<Wizard>& c) { return div(cls("demo-wizard"), p("Welcome, ", c->name)); })
      .start([](Ctx<Wizard>& c) { ask_name(c); })
      .resume("on-name",
              [](Ctx<Wizard>& c, const stube::edn::Value& answer) {
                if (stube::cancelled(answer)) return ask_name(c);
                std::string name(answer.as_string());
                if (!acceptable_name(name)) return ask_name(c, name);
                c->name = std::move(name);
                c.call(stube::confirm("Continue as " + c->name + "?"), "on-confirm");
              })
      .resume(
          "on-confirm",
          [](Ctx<Wizard>& c, const stube::edn::Value& yes) {
            if (!yes.as_bool()) return ask_name(c);
            c.call(stube::embed("demo/board", stube::edn::map({{stube::edn::kw("name"), c->name}})),
                   "on-board");
          })
      .resume("on-board", [](Ctx<Wizard>& c, const stube::edn::Value& items) {
        // The summary takes the wizard's place: the conversation stays open.
        c.replace(
            stube::embed("demo/summary", stube::edn::map({{stube::edn::kw("name"), c->name},
                                                          {stube::edn::kw("items"), items},
                                                          {stube::edn::kw("again"), "wizard"}})));
      });
}

}  // namespace demo
