// The components kernel_bench and kernel_profile run: the docs' counter, a
// self-calling component that makes conversations of any size, and a table
// that renders as much HTML as asked for.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "stube/component.hpp"
#include "stube/html.hpp"
#include "stube/state.hpp"

namespace bench {

using stube::edn::kw;
using stube::edn::Value;

struct Counter {
  std::int64_t count = 0;
};
STUBE_STATE(Counter, count)

// :b/counter is the docs' counter. :b/nest with {:depth n :ballast k} calls
// itself until the stack is n frames deep; each frame carries a vector of k
// strings so the conversation can be made large. :b/table renders a table
// of :rows rows of text that needs escaping.
inline std::shared_ptr<const stube::Registry> registry() {
  auto reg = std::make_shared<stube::Registry>();
  using namespace stube::html;
  reg->define<Counter>("b/counter")
      .render([](const stube::Ctx<Counter>& c) {
        return div(h1("Count: ", c->count), button(c.on("click", "dec"), "-"),
                   button(c.on("click", "inc"), "+"));
      })
      .on("inc", [](stube::Ctx<Counter>& c) { ++c->count; })
      .on("dec", [](stube::Ctx<Counter>& c) { --c->count; });
  reg->define("b/nest")
      .init([](const Value& args) {
        std::vector<Value> ballast;
        for (std::int64_t i = 0; i < args[":ballast"].as_int(); ++i)
          ballast.emplace_back("ballast string number " + std::to_string(i));
        return stube::edn::map({{kw("depth"), args[":depth"]},
                                {kw("ballast"), stube::edn::vec(ballast)},
                                {kw("n"), 0}});
      })
      .start([](stube::Self& s) {
        const std::int64_t depth = s[":depth"].as_int();
        if (depth > 1)
          s.call(stube::embed("b/nest", stube::edn::map({{kw("depth"), depth - 1},
                                                         {kw("ballast"), s[":ballast"].size()}})),
                 "done");
      })
      .render([](const stube::Self& s) { return p("n = ", s[":n"]); })
      .on("inc", [](stube::Self& s) { s.set("n", s[":n"].as_int() + 1); })
      .resume("done", [](stube::Self&, const Value&) {});
  reg->define("b/table").render([](const stube::Self& s) {
    std::vector<Html> rows;
    const std::int64_t n = s[":rows"].as_int();
    rows.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
      rows.push_back(tr(td(i), td("Ada <Lovelace> & \"Babbage\""),
                        td(button(s.on("click", "pick", i), "Pick"))));
    return table(cls("people"), tbody(rows));
  });
  return reg;
}

}  // namespace bench
