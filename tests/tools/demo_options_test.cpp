// stube-demo's command line, run as a separate process: usage errors and help.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tools/run_tool.hpp"

namespace stube::test {
namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

ToolRun stube_demo(const std::vector<std::string>& args) {
  return run_tool(STUBE_DEMO_TOOL, args);
}

// CLI11 quotes the words as typed: a mistyped --store must not print the
// URL's password (docs/store.md: stube-store hides it the same way).
TEST(DemoOptions, UsageErrorsHideTheStoreURLsPassword) {
  const std::string url = "postgresql://u:s3cret@h/db";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--port", "0", "--stor", url},           // a mistyped option, its value apart
           {"--port", "0", "--stor=" + url},         // and joined
           {"--port", "0", "--store", url, url}}) {  // one word too many
    const ToolRun r = stube_demo(args);
    EXPECT_EQ(r.status, 2) << args[2] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "stube-demo: ")) << r.err;
    EXPECT_FALSE(contains(r.err, "s3cret")) << r.err;
    EXPECT_TRUE(contains(r.err, "u:***@h/db")) << r.err;
  }
}

// A number out of range, a word that is no number, and a store URL that
// names no store are usage errors (2) that say which.
TEST(DemoOptions, BadValuesAreUsageErrorsThatSayWhy) {
  const ToolRun port = stube_demo({"--port", "70000"});
  EXPECT_EQ(port.status, 2) << port.err;
  EXPECT_TRUE(contains(port.err, "--port: 70000 is out of range (0 to 65535)")) << port.err;
  const ToolRun threads = stube_demo({"--threads", "two"});
  EXPECT_EQ(threads.status, 2) << threads.err;
  EXPECT_TRUE(contains(threads.err, "'two' is not a whole number")) << threads.err;
  const ToolRun store = stube_demo({"--port", "0", "--store", "bogus"});
  EXPECT_EQ(store.status, 2) << store.err;
  EXPECT_TRUE(contains(store.err, "no scheme in store URL \"bogus\"")) << store.err;
  EXPECT_TRUE(contains(store.err, "(see stube-demo --help)")) << store.err;
}

TEST(DemoOptions, HelpIsPrinted) {
  const ToolRun r = stube_demo({"--help"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "--store")) << r.out;
}

}  // namespace
}  // namespace stube::test
