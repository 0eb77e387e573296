// The counter: the smallest component with state and events.
#include <cstdint>
#include <limits>

#include "demo.hpp"

namespace demo {

struct Counter {
  std::int64_t count = 0;
};
STUBE_STATE(Counter, count)

void define_counter(stube::Registry& reg) {
  using namespace stube::html;
  reg.define<Counter>("demo/counter")
      .render([](const stube::Ctx<Counter>& c) {
        return div(cls("demo-counter"), h1("Counter"), p(span(cls("count"), c->count)),
                   button(cls("dec"), attr("aria-label", "Decrease"), c.on("click", "dec"), "−"),
                   button(cls("inc"), attr("aria-label", "Increase"), c.on("click", "inc"), "+"),
                   p(a(attr("href", "./"), "Back to the index")));
      })
      // A count restored from a record may be anything: the ends are checked
      // (a signed overflow would be undefined behaviour).
      .on("inc",
          [](stube::Ctx<Counter>& c) {
            if (c->count == std::numeric_limits<std::int64_t>::max())
              throw stube::BadEvent("the count cannot go higher");
            ++c->count;
          })
      .on("dec", [](stube::Ctx<Counter>& c) {
        if (c->count == std::numeric_limits<std::int64_t>::min())
          throw stube::BadEvent("the count cannot go lower");
        --c->count;
      });
}

}  // namespace demo
