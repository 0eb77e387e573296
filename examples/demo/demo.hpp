// stube-demo's components. Each file defines one part of the demo.
#pragma once

#include <string>

#include "stube/component.hpp"

namespace demo {

void define_counter(stube::Registry& reg);      // demo/counter
void define_board(stube::Registry& reg);        // demo/board, demo/summary (shared by both wizards)
void define_wizard(stube::Registry& reg);       // demo/wizard: a durable task component
void define_wizard_flow(stube::Registry& reg);  // demo/wizard-flow: the same as a coroutine flow
void define_todo(stube::Registry& reg);         // demo/todo

// The page at "/": links to every part.
std::string index_page();

}  // namespace demo
