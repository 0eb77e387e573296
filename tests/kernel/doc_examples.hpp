// The examples of docs/components.md and docs/flows.md, compiled and run by
// the tests. doc_examples.cpp holds their code between "// snippet: NAME"
// and "// end snippet" markers; docs_test.cpp checks that every snippet of
// the docs appears verbatim here, so the docs can only show code that
// compiles and is exercised.
#pragma once

#include "stube/component.hpp"

// docs/components.md
void define_counter(stube::Registry& reg);      // :demo/counter
void define_todos(stube::Registry& reg);        // :demo/todos (bind, keep, call/resume)
void define_reminder(stube::Registry& reg);     // :demo/reminder (after, patch, end)
void define_signup_page(stube::Registry& reg);  // :demo/signup-page (calls a wizard)

// docs/flows.md: the same sign-up wizard written twice. Both answer
// {:name "…", :newsletter bool, :plan "free"|"pro"}, or :stube/cancel.
void define_signup_task(stube::Registry& reg);  // :demo/signup-task
void define_signup_flow(stube::Registry& reg);  // :demo/signup-flow

// A registry with every component above.
stube::Registry doc_registry();
