// The code shown in docs/components.md and docs/flows.md (see doc_examples.hpp).
// Edit a snippet here first, then copy it into the doc: docs_test.cpp fails
// until both agree.
#include "kernel/doc_examples.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "stube/flow.hpp"
#include "stube/html.hpp"
#include "stube/state.hpp"

// snippet: counter
struct Counter {
  std::int64_t count = 0;
};
STUBE_STATE(Counter, count)

void define_counter(stube::Registry& reg) {
  using namespace stube::html;
  reg.define<Counter>("demo/counter")
      .render([](const stube::Ctx<Counter>& c) {
        return div(h1("Count: ", c->count), button(c.on("click", "dec"), "-"),
                   button(c.on("click", "inc"), "+"));
      })
      .on("inc", [](stube::Ctx<Counter>& c) { ++c->count; })
      .on("dec", [](stube::Ctx<Counter>& c) { --c->count; });
}
// end snippet

// snippet: todos
struct Todos {
  std::vector<std::string> items;
  std::string draft;  // the text field, kept from the browser's signals
};
STUBE_STATE(Todos, items, draft)

void define_todos(stube::Registry& reg) {
  using namespace stube::html;
  reg.define<Todos>("demo/todos")
      .keep({"draft"})
      .render([](const stube::Ctx<Todos>& c) {
        std::vector<Html> rows;
        for (const std::string& item : c->items) rows.push_back(li(item));
        return div(ul(rows), input(attr("type", "text"), attr("value", c->draft), c.bind("draft")),
                   button(c.on("click", "add"), "Add"),
                   button(c.on("click", "clear"), "Clear all"));
      })
      .on("add",
          [](stube::Ctx<Todos>& c) {
            if (!c->draft.empty()) c->items.push_back(c->draft);
          })
      .on("clear",
          [](stube::Ctx<Todos>& c) {
            const auto n = std::to_string(c->items.size());
            c.call(stube::confirm("Delete all " + n + " items?"), "on-clear");
          })
      .resume("on-clear", [](stube::Ctx<Todos>& c, const stube::edn::Value& yes) {
        if (yes.as_bool()) c->items.clear();
      });
}
// end snippet

// snippet: reminder
void define_reminder(stube::Registry& reg) {
  using namespace stube::html;
  using stube::edn::kw;
  reg.define("demo/reminder")
      .init([](const stube::edn::Value&) {
        return stube::edn::map({{kw("beeps"), 0}});
      })
      .render([](const stube::Self& s) {
        return div(p("Beeps: ", s[":beeps"]), span(id("status")),
                   button(s.on("click", "arm"), "Remind me"),
                   button(s.on("click", "quit"), "Quit"));
      })
      .on("arm",
          [](stube::Self& s) {
            s.after(std::chrono::milliseconds(20), "beep");
            s.patch(span(id("status"), "armed"));
          })
      .on("beep", [](stube::Self& s) { s.set("beeps", s[":beeps"].as_int() + 1); })
      .on("quit", [](stube::Self& s) { s.end("bye"); });
}
// end snippet

// snippet: signup-page
void define_signup_page(stube::Registry& reg) {
  using namespace stube::html;
  reg.define("demo/signup-page")
      .render([](const stube::Self& s) {
        return div(p("Last sign-up: ", s[":result"]),
                   button(s.on("click", "signup", "task"), "Sign up (task)"),
                   button(s.on("click", "signup", "flow"), "Sign up (flow)"));
      })
      .on("signup",
          [](stube::Self& s, const stube::Event& e) {
            // The payload comes from the browser: pick from what the page
            // offers, never call whatever component it names.
            const std::string_view which =
                e.payload.is(stube::edn::Kind::String) ? e.payload.as_string() : "";
            if (which != "task" && which != "flow")
              throw stube::BadEvent("signup: expected \"task\" or \"flow\"");
            s.call(stube::embed(which == "task" ? "demo/signup-task" : "demo/signup-flow"),
                   "on-done");
          })
      .resume("on-done",
              [](stube::Self& s, const stube::edn::Value& result) { s.set("result", result); });
}
// end snippet

// snippet: signup-task
struct Signup {
  std::string name;
  bool newsletter = false;
  std::string plan;
};
STUBE_STATE(Signup, name, newsletter, plan)

void define_signup_task(stube::Registry& reg) {
  using namespace stube;
  reg.define<Signup>("demo/signup-task")
      .start([](Ctx<Signup>& c) { c.call(prompt("Your name?"), "on-name"); })
      .resume("on-name",
              [](Ctx<Signup>& c, const edn::Value& name) {
                if (cancelled(name)) return c.answer(cancel_value());
                c->name = name.as_string();
                c.call(confirm("Newsletter for " + c->name + "?"), "on-newsletter");
              })
      .resume("on-newsletter",
              [](Ctx<Signup>& c, const edn::Value& yes) {
                c->newsletter = yes.as_bool();
                c.call(choose("Your plan?", {"free", "pro"}), "on-plan");
              })
      .resume("on-plan", [](Ctx<Signup>& c, const edn::Value& plan) {
        if (cancelled(plan)) return c.answer(cancel_value());
        c->plan = plan.as_string();
        c.answer(to_edn(*c));
      });
}
// end snippet

// snippet: signup-flow
stube::Flow signup_flow(stube::edn::Value /*args*/) {
  using namespace stube;
  Signup s;
  const edn::Value name = co_await await(prompt("Your name?"));
  if (cancelled(name)) co_return cancel_value();
  s.name = name.as_string();
  s.newsletter = (co_await await(confirm("Newsletter for " + s.name + "?"))).as_bool();
  const std::vector<edn::Value> plans{"free", "pro"};  // see "GCC 12" in docs/flows.md
  const edn::Value plan = co_await await(choose("Your plan?", plans));
  if (cancelled(plan)) co_return cancel_value();
  s.plan = plan.as_string();
  co_return to_edn(s);
}

void define_signup_flow(stube::Registry& reg) {
  stube::define_flow(reg, "demo/signup-flow", signup_flow);
}
// end snippet

stube::Registry doc_registry() {
  stube::Registry reg;
  define_counter(reg);
  define_todos(reg);
  define_reminder(reg);
  define_signup_page(reg);
  define_signup_task(reg);
  define_signup_flow(reg);
  return reg;
}
