// A todo list: add, edit in place, delete with a confirmation. The delete
// calls the stock confirm dialog and reads its answer: call/answer in a
// real UI.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "demo.hpp"

namespace demo {

namespace {

struct Item {
  std::int64_t id = 0;
  std::string text;
};
STUBE_STATE(Item, id, text)

struct Todo {
  std::vector<Item> items;
  std::int64_t next_id = 1;
  std::string new_text;                  // the "add" field (a kept signal)
  std::optional<std::int64_t> editing;   // the item being edited in place
  std::string edit_text;                 // the edit field (a kept signal)
  std::optional<std::int64_t> deleting;  // waiting for the confirm dialog
};
STUBE_STATE(Todo, items, next_id, new_text, editing, edit_text, deleting)

Item* find(Todo& t, std::int64_t id) {
  for (Item& it : t.items)
    if (it.id == id) return &it;
  return nullptr;
}

// The item an edit or delete button names: a payload of another shape is a
// forged request, refused as bad input (400), not a handler error (500).
std::int64_t item_id(const stube::Event& e) {
  if (!e.payload.is(stube::edn::Kind::Int))
    throw stube::BadEvent("expected an item id, not " + stube::edn::write(e.payload));
  return e.payload.as_int();
}

stube::html::Html row(const stube::Ctx<Todo>& c, const Item& it) {
  using namespace stube::html;
  if (c->editing == it.id)
    return li(cls("todo-item editing"),
              form(c.on("submit", "save"),
                   input(attr("type", "text"), cls("todo-edit-input"),
                         attr("aria-label", "Edit the item"), flag("autofocus"),
                         attr("value", c->edit_text),
                         attr("maxlength", std::to_string(kMaxItemText)), c.bind("edit_text")),
                   button(cls("todo-save"), attr("type", "submit"), "Save"),
                   button(cls("todo-cancel"), attr("type", "button"), c.on("click", "cancel-edit"),
                          "Cancel")));
  return li(cls("todo-item"), span(cls("todo-text"), it.text),
            button(cls("todo-edit"), c.on("click", "edit", it.id), "Edit"),
            button(cls("todo-delete"), c.on("click", "delete", it.id), "Delete"));
}

// Every event brings both fields as the page has them, and the history
// keeps each step: whatever the event, neither may grow the conversation
// past what its field holds (maxlength).
void check_fields(const Todo& t) {
  check_item_text(t.new_text);
  check_item_text(t.edit_text);
}

}  // namespace

stube::edn::Value todo_args(const std::map<std::string, std::string, std::less<>>& query) {
  using stube::edn::Value;
  const auto text = query.find("new");
  // A text the field could not hold (over its maxlength) is left out.
  if (text == query.end() || characters(text->second) > kMaxItemText) return stube::edn::map({});
  return stube::edn::map({{stube::edn::kw("new_text"), Value(text->second)}});
}

void define_todo(stube::Registry& reg) {
  using namespace stube::html;
  using stube::Ctx;
  reg.define<Todo>("demo/todo")
      .keep({"new_text", "edit_text"})
      .render([](const Ctx<Todo>& c) {
        std::vector<Html> rows;
        for (const Item& it : c->items) rows.push_back(row(c, it));
        return div(cls("demo-todo"), h1("Todo"),
                   new_item_form(c, "todo-new-input", "todo-add", "new_text", c->new_text,
                                 "What needs doing?"),
                   ul(cls("todo-items"), rows),
                   p(small(span(cls("todo-count"), c->items.size()), " item(s)")),
                   p(a(attr("href", "./"), "Back to the index")));
      })
      .on("add",
          [](Ctx<Todo>& c) {
            check_fields(*c);
            if (blank(c->new_text)) return;
            check_new_item(c->new_text, c->items.size());
            if (c->next_id == std::numeric_limits<decltype(c->next_id)>::max())
              throw stube::BadEvent("no item ids left");  // only a record written by hand
            c->items.push_back(Item{c->next_id++, c->new_text});
            c->new_text.clear();
          })
      .on("edit",
          [](Ctx<Todo>& c, const stube::Event& e) {
            check_fields(*c);
            if (Item* it = find(*c, item_id(e))) {
              c->editing = it->id;
              c->edit_text = it->text;
            }
          })
      .on("save",
          [](Ctx<Todo>& c) {
            check_fields(*c);
            if (!c->editing) return;
            if (Item* it = find(*c, *c->editing); it && !blank(c->edit_text))
              it->text = c->edit_text;
            c->editing.reset();
          })
      .on("cancel-edit",
          [](Ctx<Todo>& c) {
            check_fields(*c);
            c->editing.reset();
          })
      .on("delete",
          [](Ctx<Todo>& c, const stube::Event& e) {
            check_fields(*c);
            const Item* it = find(*c, item_id(e));
            if (!it) return;
            c->deleting = it->id;
            c.call(stube::confirm("Delete \"" + it->text + "\"?"), "on-delete");
          })
      .resume("on-delete", [](Ctx<Todo>& c, const stube::edn::Value& yes) {
        if (yes.as_bool() && c->deleting)
          std::erase_if(c->items, [&](const Item& it) { return it.id == *c->deleting; });
        c->deleting.reset();
      });
}

}  // namespace demo
