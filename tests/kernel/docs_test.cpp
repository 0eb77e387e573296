// The docs show only code that compiles and runs: every ```cpp block of
// README.md and docs/*.md must be marked <!-- snippet: NAME --> and equal the
// code between "// snippet: NAME" and "// end snippet" in a test source (the
// rules and the checker: tests/common/doc_snippets.hpp). The examples of
// components.md and flows.md are exercised here too; those of the other docs
// by their areas' tests (tests/edn, tests/store, tests/server, ...).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "common/doc_snippets.hpp"
#include "kernel/doc_examples.hpp"
#include "kernel/support.hpp"
#include "stube/flow.hpp"
#include "stube/kernel.hpp"

namespace stube::test {
namespace {

namespace fs = std::filesystem;

std::size_t lines(const std::string& code) {
  return static_cast<std::size_t>(std::count(code.begin(), code.end(), '\n'));
}

std::map<std::string, std::string> all_source_snippets() {
  return docs::all_source_snippets(STUBE_SOURCE_DIR);
}

TEST(Docs, EverySnippetInTheDocsIsCompiledCode) {
  const auto sources = all_source_snippets();
  const auto checked = docs::checked_docs(STUBE_SOURCE_DIR);
  for (const char* doc : {"README.md", "docs/components.md", "docs/flows.md", "docs/server.md",
                          "docs/edn.md", "docs/store.md", "docs/runtime.md"})
    EXPECT_NE(std::find(checked.begin(), checked.end(), doc), checked.end()) << doc;
  std::vector<std::string> used;
  for (const std::string& doc : checked) {
    const std::string text = docs::slurp(fs::path(STUBE_SOURCE_DIR) / doc);
    for (const std::string& problem : docs::doc_problems(doc, text, sources, &used))
      ADD_FAILURE() << problem;
  }
  // A snippet that no doc shows any more is stale: drop its markers.
  for (const auto& [name, code] : sources)
    EXPECT_NE(std::find(used.begin(), used.end(), name), used.end())
        << "snippet " << name << " is in no doc";
}

// The checker itself: unmarked blocks fail, exemptions need a reason,
// indented fences are compared without their indentation.
TEST(Docs, TheCheckerRejectsUnmarkedBlocks) {
  const std::map<std::string, std::string> sources{{"a", "int a = 1;\n"}};
  EXPECT_TRUE(docs::doc_problems("d.md", "<!-- snippet: a -->\n```cpp\nint a = 1;\n```\n", sources)
                  .empty());
  const auto unmarked = docs::doc_problems("d.md", "text\n\n```cpp\nint b;\n```\n", sources);
  ASSERT_EQ(unmarked.size(), 1u);
  EXPECT_NE(unmarked[0].find("d.md:3: a ```cpp block without"), std::string::npos) << unmarked[0];
  const auto differs =
      docs::doc_problems("d.md", "<!-- snippet: a -->\n```cpp\nint a = 2;\n```\n", sources);
  ASSERT_EQ(differs.size(), 1u);
  EXPECT_NE(differs[0].find("differs from its source"), std::string::npos);
  EXPECT_EQ(docs::doc_problems("d.md", "<!-- snippet: b -->\n```cpp\n```\n", sources).size(), 1u);
  // An indented block (in a list item) needs a marker indented alike.
  EXPECT_TRUE(
      docs::doc_problems(
          "d.md", "1. x\n\n   <!-- snippet: a -->\n   ```cpp\n   int a = 1;\n   ```\n", sources)
          .empty());
  EXPECT_EQ(
      docs::doc_problems("d.md", "1. x\n\n   ```cpp\n   int a = 1;\n   ```\n", sources).size(), 1u);
  EXPECT_TRUE(
      docs::doc_problems("d.md", "<!-- snippet: none (a fragment) -->\n```cpp\nx\n```\n", sources)
          .empty());
  EXPECT_EQ(docs::doc_problems("d.md", "<!-- snippet: none -->\n```cpp\nx\n```\n", sources).size(),
            1u);
  EXPECT_EQ(docs::doc_problems("d.md", "<!-- snippet: a -->\n```cpp\nint a = 1;\n", sources).size(),
            1u);
}

TEST(Docs, TheExamplesAreShort) {
  const auto sources = all_source_snippets();
  ASSERT_TRUE(sources.count("counter") && sources.count("signup-task") &&
              sources.count("signup-flow"));
  EXPECT_LE(lines(sources.at("counter")), 25u);
  // The wizard's state struct is shared by both shapes and counted with the task.
  EXPECT_LE(lines(sources.at("signup-task")), 50u);
  EXPECT_LE(lines(sources.at("signup-flow")), 50u);
}

// snippet: counter-test
TEST(CounterExample, CountsClicks) {
  stube::Registry reg;
  define_counter(reg);
  stube::Step s = stube::start_conversation(reg, "demo/counter", {}, {});
  const std::string iid(stube::top_instance(s.conv));
  s = stube::dispatch(reg, s.conv, iid, {"inc"}, {});
  s = stube::dispatch(reg, s.conv, iid, {"inc"}, {});
  s = stube::dispatch(reg, s.conv, iid, {"dec"}, {});
  EXPECT_EQ(stube::instance(s.conv, iid)[":count"], stube::edn::Value(1));
  ASSERT_EQ(s.fragments.size(), 1u);  // the counter re-rendered itself
  EXPECT_NE(s.fragments[0].html.find("Count: 1"), std::string::npos);
}
// end snippet

TEST(TodosExample, AddsTheDraftAndClearsAfterConfirming) {
  const Registry reg = doc_registry();
  Value conv = start_conversation(reg, "demo/todos", {}, {}).conv;
  for (const char* item : {"milk", "eggs"})
    conv = send_top(reg, conv, Event{"add", {}, edn::map({{kw("draft"), item}})}).conv;
  EXPECT_EQ(top_frame(conv)[":items"], edn::vec({"milk", "eggs"}));
  const std::string html = render_top(reg, conv, {});
  EXPECT_TRUE(contains(html, "<li>milk</li><li>eggs</li>"));
  EXPECT_TRUE(contains(html, ".draft\""));
  conv = send_top(reg, conv, Event{"clear"}).conv;
  EXPECT_EQ(top_frame(conv)[":question"], Value("Delete all 2 items?"));
  const Value declined = send_top(reg, conv, no()).conv;
  EXPECT_EQ(top_frame(declined)[":items"].size(), 2u);
  const Value confirmed = send_top(reg, conv, yes()).conv;
  EXPECT_EQ(top_frame(confirmed)[":items"].size(), 0u);
}

TEST(ReminderExample, ArmsATimerPatchesAndEnds) {
  const Registry reg = doc_registry();
  const Value conv = start_conversation(reg, "demo/reminder", {}, {}).conv;
  const Step armed = send_top(reg, conv, Event{"arm"});
  ASSERT_EQ(armed.timers.size(), 1u);
  EXPECT_EQ(armed.timers[0].event.name, "beep");
  ASSERT_EQ(armed.fragments.size(), 1u);
  EXPECT_EQ(armed.fragments[0].html, "<span id=\"status\">armed</span>");
  // The runtime delivers the timer's event like any other.
  const Step beeped = send_top(reg, armed.conv, armed.timers[0].event);
  EXPECT_EQ(top_frame(beeped.conv)[":beeps"], Value(1));
  const Step quit = send_top(reg, beeped.conv, Event{"quit"});
  EXPECT_TRUE(quit.ended);
  EXPECT_EQ(quit.end_value, Value("bye"));
}

}  // namespace
}  // namespace stube::test
