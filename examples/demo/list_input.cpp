// The checks on list text the demo takes from the browser (see demo.hpp).
#include <algorithm>
#include <string>

#include "demo.hpp"

namespace demo {

bool blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

std::size_t characters(const std::string& text) {
  return static_cast<std::size_t>(std::ranges::count_if(
      text, [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void check_item_text(const std::string& text) {
  if (characters(text) > kMaxItemText)
    throw stube::BadEvent("an item is at most " + std::to_string(kMaxItemText) +
                          " characters long");
}

void check_new_item(const std::string& text, std::size_t items_so_far) {
  check_item_text(text);
  if (items_so_far >= kMaxListItems)
    throw stube::BadEvent("the list is full: at most " + std::to_string(kMaxListItems) + " items");
}

stube::html::Html new_item_form(const stube::Self& c, std::string_view input_class,
                                std::string_view add_class, std::string_view signal,
                                const std::string& value, std::string_view placeholder) {
  using namespace stube::html;
  // The field's id, for its label: the instance's id makes it unique on the
  // page.
  const std::string field = std::string(c.id()) + "-new-item";
  return form(c.on("submit", "add"), label(attr("for", field), "New item"),
              input(attr("type", "text"), id(field), cls(input_class), attr("value", value),
                    attr("maxlength", std::to_string(kMaxItemText)), c.bind(signal),
                    attr("placeholder", placeholder)),
              button(cls(add_class), attr("type", "submit"), "Add"));
}

bool acceptable_name(const std::string& text) {
  return !blank(text) && characters(text) <= kMaxItemText;
}

std::string name_question(const std::string& rejected) {
  if (characters(rejected) > kMaxItemText)
    return "That is too long (at most " + std::to_string(kMaxItemText) +
           " characters). What is your name?";
  return "What is your name?";
}

}  // namespace demo
