// The board both wizards end on: a small list the user keeps, then a summary.
#include <string>
#include <vector>

#include "demo.hpp"

namespace demo {

namespace {

struct Board {
  std::string name;
  std::vector<std::string> items;
  std::string item;  // the text field, kept from the browser's signal
};
STUBE_STATE(Board, name, items, item)

struct Summary {
  std::string name;
  std::vector<std::string> items;
  std::string again;  // where "start over" leads
};
STUBE_STATE(Summary, name, items, again)

}  // namespace

void define_board(stube::Registry& reg) {
  using namespace stube::html;
  using stube::Ctx;
  reg.define<Board>("demo/board")
      .init([](const stube::edn::Value& args) {
        Board b;
        b.name = std::string(args[":name"].as_string());
        return b;
      })
      .keep({"item"})
      .render([](const Ctx<Board>& c) {
        std::vector<Html> rows;
        for (const std::string& it : c->items) rows.push_back(li(cls("board-item"), it));
        return div(cls("demo-board"), h2("Hello, ", span(cls("board-name"), c->name), "!"),
                   p("Keep a list of things to do:"),
                   new_item_form(c, "board-input", "board-add", "item", c->item, "Something to do"),
                   ul(cls("board-items"), rows),
                   button(cls("board-finish"), c.on("click", "finish"), "Finish"));
      })
      .on("add",
          [](Ctx<Board>& c) {
            check_item_text(c->item);  // first: a long blank one is kept in the history too
            if (blank(c->item)) return;
            check_new_item(c->item, c->items.size());
            c->items.push_back(c->item);
            c->item.clear();
          })
      .on("finish", [](Ctx<Board>& c) {
        check_item_text(c->item);  // kept as sent, in the history too
        c.answer(stube::to_edn(c->items));
      });

  reg.define<Summary>("demo/summary")
      .init([](const stube::edn::Value& args) { return stube::from_edn<Summary>(args); })
      .render([](const Ctx<Summary>& c) {
        std::vector<Html> rows;
        for (const std::string& it : c->items) rows.push_back(li(it));
        return div(cls("demo-summary"), h2("All done, ", span(cls("summary-name"), c->name), "!"),
                   p(span(cls("summary-count"), c->items.size()), " item(s) on your board."),
                   ul(rows),
                   p(a(cls("again"), attr("href", c->again), "Start over"), " · ",
                     a(attr("href", "./"), "Index")));
      });
}

}  // namespace demo
