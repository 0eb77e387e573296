// stube-demo's components. Each file defines one part of the demo.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "stube/component.hpp"

namespace demo {

void define_counter(stube::Registry& reg);      // demo/counter
void define_board(stube::Registry& reg);        // demo/board, demo/summary (shared by both wizards)
void define_wizard(stube::Registry& reg);       // demo/wizard: a durable task component
void define_wizard_flow(stube::Registry& reg);  // demo/wizard-flow: the same as a coroutine flow
void define_todo(stube::Registry& reg);         // demo/todo
// demo/todo's arguments from its page's query: "/todo?new=<text>" starts
// with <text> in the new-item field (a link that suggests a first item).
stube::edn::Value todo_args(const std::map<std::string, std::string, std::less<>>& query);

// The page at "/": links to every part.
std::string index_page();

// What the demo's lists take from the browser. Every change is a history
// snapshot, so a public demo must not let one visitor grow a conversation
// without bound: past these, an add or edit is refused (stube::BadEvent, a
// 400 shown on the page) and changes nothing.
inline constexpr std::size_t kMaxListItems = 100;
// Characters (code points), as the text fields' maxlength counts them (a
// browser counts UTF-16 units: never more than this for the same text).
inline constexpr std::size_t kMaxItemText = 200;
// Throws BadEvent for a text over kMaxItemText, or a list already full.
void check_item_text(const std::string& text);
void check_new_item(const std::string& text, std::size_t items_so_far);
// Only white space: nothing to add.
bool blank(const std::string& text);
// Code points of UTF-8 text (the runtime checked it is valid UTF-8).
std::size_t characters(const std::string& text);

// The form that adds an item to a list: a text field bound to `signal`
// (classes `input_class`, `add_class` on its field and button), capped at
// kMaxItemText, posting "add" on submit.
stube::html::Html new_item_form(const stube::Self& c, std::string_view input_class,
                                std::string_view add_class, std::string_view signal,
                                const std::string& value, std::string_view placeholder);

// The wizards' name: not blank, at most kMaxItemText characters (it is copied
// into every later step and snapshot). The question to ask (again): plain,
// or saying why `rejected`, the last answer, was not taken.
bool acceptable_name(const std::string& text);
std::string name_question(const std::string& rejected);

}  // namespace demo
