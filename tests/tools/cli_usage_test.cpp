// The command-line helpers the tools share (tools/cli_usage.hpp), on a
// CLI11 app of the tools' shape: an option of the tool's own, a command
// with one of its own.
#include "tools/cli_usage.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace stube::tool {
namespace {

struct Parsed {
  std::string error;  // the usage error with its hint, empty when parsed
  long long depth = 0;
  std::size_t width = 0;
};

Parsed parse(std::vector<std::string> args) {
  CLI::App app{"test"};
  app.require_subcommand(1);
  Parsed out;
  app.add_option("--max-depth", out.depth)->transform(whole_number(1, 1 << 20));
  auto* fmt = app.add_subcommand("fmt", "");
  fmt->add_option("-w,--width", out.width)->transform(whole_number(1, 1 << 20));
  fmt->fallthrough();
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    out.error = e.what() + help_hint(app, "t", e.what());
  }
  return out;
}

TEST(WholeNumber, ReadsDecimalWhereCLI11WouldReadOctal) {
  EXPECT_EQ(parse({"fmt", "-w", "010"}).width, 10u);
  EXPECT_EQ(parse({"--max-depth", "020000", "fmt"}).depth, 20000);
  EXPECT_EQ(parse({"fmt", "-w", "+7"}).width, 7u);
}

TEST(WholeNumber, SaysWhatIsWrongWithTheWord) {
  EXPECT_EQ(parse({"fmt", "-w", "abc"}).error,
            "--width: 'abc' is not a whole number (see t fmt --help)");
  EXPECT_EQ(parse({"fmt", "-w", "0x10"}).error,
            "--width: '0x10' is not a whole number (see t fmt --help)");
  EXPECT_EQ(parse({"fmt", "-w", "0"}).error,
            "--width: 0 is out of range (1 to 1048576) (see t fmt --help)");
  EXPECT_EQ(parse({"fmt", "-w", "99999999999999999999"}).error,
            "--width: 99999999999999999999 is out of range (1 to 1048576) (see t fmt --help)");
}

// The tool's own option is listed by the tool's help, not the command's.
TEST(HelpHint, PointsToTheHelpThatListsTheOption) {
  EXPECT_EQ(parse({"--max-depth", "x", "fmt"}).error,
            "--max-depth: 'x' is not a whole number (see t --help)");
  EXPECT_EQ(parse({"fmt", "--max-depth", "-1"}).error,
            "--max-depth: -1 is out of range (1 to 1048576) (see t --help)");
  EXPECT_EQ(parse({}).error.ends_with("(see t --help)"), true);
}

}  // namespace
}  // namespace stube::tool
