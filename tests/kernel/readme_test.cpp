// The README's example, compiled and run. The block shows a state struct
// (namespace scope) and the definition statement together, so the statement
// becomes, through the `registry` macro below, the initializer of a
// namespace-scope variable: it runs during static initialisation on
// readme_registry(), which the test then drives.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "stube/component.hpp"
#include "stube/html.hpp"
#include "stube/kernel.hpp"
#include "stube/state.hpp"

namespace readme {

stube::Registry& readme_registry() {
  static stube::Registry reg;
  return reg;
}

#define registry [[maybe_unused]] const auto readme_counter_definition = readme_registry()
// clang-format off
// snippet: readme-counter
struct Counter { std::int64_t count = 0; };
STUBE_STATE(Counter, count)

registry.define<Counter>("demo/counter")  // registry: a stube::Registry
    .render([](const stube::Ctx<Counter>& c) {
      using namespace stube::html;
      return div(h1("Count: ", c->count), button(c.on("click", "inc"), "+"));
    })
    .on("inc", [](stube::Ctx<Counter>& c) { ++c->count; });
// end snippet
// clang-format on
#undef registry

TEST(ReadmeExample, TheCounterCountsClicks) {
  const stube::Registry& reg = readme_registry();
  stube::Step s = stube::start_conversation(reg, "demo/counter", {}, {});
  const std::string iid(stube::top_instance(s.conv));
  s = stube::dispatch(reg, s.conv, iid, {"inc"}, {});
  s = stube::dispatch(reg, s.conv, iid, {"inc"}, {});
  EXPECT_EQ(stube::instance(s.conv, iid)[":count"], stube::edn::Value(2));
  ASSERT_EQ(s.fragments.size(), 1u);
  EXPECT_NE(s.fragments[0].html.find("<h1>Count: 2</h1>"), std::string::npos)
      << s.fragments[0].html;
  EXPECT_NE(s.fragments[0].html.find(">+</button>"), std::string::npos) << s.fragments[0].html;
}

}  // namespace readme
