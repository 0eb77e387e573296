// The docs show only code that compiles and runs: every ```cpp block marked
// <!-- snippet: NAME --> in docs/components.md, docs/flows.md and
// docs/server.md must equal the code between "// snippet: NAME" and
// "// end snippet" in a file of tests/kernel/ or tests/fixtures/consumer/.
// The examples themselves are exercised here too.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "kernel/doc_examples.hpp"
#include "kernel/support.hpp"
#include "stube/flow.hpp"
#include "stube/kernel.hpp"

namespace stube::test {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// NAME -> code, from the marker lines of one source file: a line that is
// exactly "// snippet: NAME" opens one, a line "// end snippet" closes it.
void source_snippets(const std::string& text, std::map<std::string, std::string>& out) {
  std::istringstream in(text);
  std::string line, name, code;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line.rfind("// snippet: ", 0) == 0) {
      name = line.substr(12);
      code.clear();
      inside = true;
    } else if (inside && line == "// end snippet") {
      out[name] = code;
      inside = false;
    } else if (inside) {
      code += line + "\n";
    }
  }
  if (inside) throw std::runtime_error("unclosed snippet " + name);
}

// (NAME, code) pairs from the marked ```cpp blocks of a markdown file.
std::vector<std::pair<std::string, std::string>> doc_snippets(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string open = "<!-- snippet: ", fence = "```cpp\n", close = "```\n";
  for (std::size_t at = text.find(open); at != std::string::npos; at = text.find(open, at)) {
    const std::size_t name_end = text.find(" -->", at);
    const std::string name = text.substr(at + open.size(), name_end - at - open.size());
    const std::size_t code = text.find(fence, name_end);
    EXPECT_EQ(code, name_end + 5) << "snippet " << name
                                  << ": the ```cpp fence must follow the marker";
    const std::size_t end = text.find(close, code + fence.size());
    out.emplace_back(name, text.substr(code + fence.size(), end - code - fence.size()));
    at = end;
  }
  return out;
}

// The examples are in tests/kernel/ (run here) and tests/fixtures/consumer/
// (built against an installed stube by tests/install_consumer.sh).
std::map<std::string, std::string> all_source_snippets() {
  std::map<std::string, std::string> out;
  for (const char* dir : {"tests/kernel", "tests/fixtures/consumer"})
    for (const auto& entry : fs::directory_iterator(fs::path(STUBE_SOURCE_DIR) / dir))
      if (entry.path().extension() == ".cpp") source_snippets(slurp(entry.path()), out);
  return out;
}

std::size_t lines(const std::string& code) {
  return static_cast<std::size_t>(std::count(code.begin(), code.end(), '\n'));
}

TEST(Docs, EverySnippetInTheDocsIsCompiledCode) {
  const auto sources = all_source_snippets();
  for (const char* doc : {"docs/components.md", "docs/flows.md", "docs/server.md"}) {
    const auto snippets = doc_snippets(slurp(fs::path(STUBE_SOURCE_DIR) / doc));
    EXPECT_GE(snippets.size(), 1u) << doc;
    for (const auto& [name, code] : snippets) {
      auto it = sources.find(name);
      ASSERT_NE(it, sources.end()) << doc << ": no source for snippet " << name;
      EXPECT_EQ(code, it->second) << doc << ": snippet " << name << " differs from its source";
    }
  }
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
