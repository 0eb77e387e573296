// stube-edn — check, pretty-print or compact-print EDN files.
//
//   stube-edn check conv.edn more.edn   # "conv.edn: ok" or "conv.edn:3:14: reason"
//   stube-edn fmt conv.edn              # indented, for people
//   stube-edn print - < conv.edn        # compact, one value per line
//
// A file holds zero or more EDN values, as a stream read by clojure.edn would.
// Exit status: 0 on success, 1 if any file is unreadable or not valid EDN,
// 2 on a usage error.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli_usage.hpp"
#include "finish_output.hpp"
#include "stube/edn.hpp"

namespace edn = stube::edn;
using stube::tool::finish_output;
using stube::tool::with_output;
using stube::tool::write_output;

namespace {

// --- reading files ------------------------------------------------------------

// An input that could not be used; `where` is "FILE" or "FILE:LINE:COL".
struct InputError {
  std::string where;
  std::string reason;
};

std::string display_name(const std::string& path) {
  return path == "-" ? "<stdin>" : path;
}

// The whole of the file descriptor's input, through read(2): a stream
// would throw on some read errors (libstdc++'s filebuf on EIO) and fold
// others into an end of input ("<stdin>: ok" from a directory on stdin).
std::string read_all(int fd) {
  std::string text;
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n > 0) {
      text.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0) {
      return text;
    } else if (errno != EINTR) {
      throw InputError{{}, std::string("cannot read: ") + std::strerror(errno)};
    }
  }
}

std::string slurp(const std::string& path) {
  if (path == "-") return read_all(STDIN_FILENO);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError{{}, std::string("cannot open: ") + std::strerror(errno)};
  try {
    std::string text = read_all(fd);
    ::close(fd);
    return text;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

// Every value in the file, in order. Throws InputError.
std::vector<edn::Value> read_file(const std::string& path, const edn::ReadOptions& options) {
  std::string name = display_name(path);
  std::string text;
  try {
    text = slurp(path);
  } catch (InputError& e) {
    e.where = name;
    throw;
  }
  try {
    return edn::read_all(text, options);
  } catch (const edn::ParseError& e) {
    throw InputError{name + ":" + std::to_string(e.line()) + ":" + std::to_string(e.column()),
                     e.reason()};
  }
}

void report(const InputError& e) {
  std::cerr << e.where << ": " << e.reason << '\n';
}

// --- commands -------------------------------------------------------------------

int check(const std::vector<std::string>& paths, const edn::ReadOptions& options) {
  int status = 0;
  for (const auto& path : paths) {
    try {
      read_file(path, options);
      write_output(display_name(path) + ": ok\n");
    } catch (const InputError& e) {
      report(e);
      status = 1;
    }
  }
  return with_output("stube-edn", status);
}

template <class Render>
int render(const std::string& path, const edn::ReadOptions& options, Render render_one) {
  std::vector<edn::Value> values;
  try {
    values = read_file(path, options);
  } catch (const InputError& e) {
    report(e);
    return 1;
  }
  std::string out;
  try {
    for (const auto& v : values) {
      render_one(v, out);
      out += '\n';
    }
  } catch (const edn::Error& e) {  // read under a --max-depth the printer does not take
    report(InputError{display_name(path), std::string("cannot print: ") + e.what()});
    return 1;
  }
  write_output(out);
  return finish_output("stube-edn");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Check and print EDN (the data format of stube conversations)."};
  app.require_subcommand(1);
  edn::ReadOptions options;
  app.add_option("--max-depth", options.max_depth, "Deepest nesting accepted")
      ->capture_default_str()
      ->transform(stube::tool::whole_number(1, 1 << 20));

  std::vector<std::string> check_paths;
  auto* check_cmd = app.add_subcommand("check", "Parse each FILE; print 'FILE: ok' or the error");
  check_cmd->add_option("FILE", check_paths, "EDN files ('-' for stdin)")->required();

  std::string fmt_path = "-";
  std::size_t width = 80;
  auto* fmt_cmd = app.add_subcommand("fmt", "Pretty-print every value of FILE");
  fmt_cmd->add_option("FILE", fmt_path, "EDN file ('-' or nothing for stdin)");
  fmt_cmd->add_option("-w,--width", width, "Target line width")
      ->capture_default_str()
      ->transform(stube::tool::whole_number(1, 1 << 20));

  std::string print_path = "-";
  auto* print_cmd = app.add_subcommand("print", "Print every value of FILE compactly, one a line");
  print_cmd->add_option("FILE", print_path, "EDN file ('-' or nothing for stdin)");

  for (auto* sub : {check_cmd, fmt_cmd, print_cmd}) sub->fallthrough();  // --max-depth anywhere

  if (const std::string wrong = stube::tool::misplaced_word(app, argc, argv); !wrong.empty()) {
    std::cerr << "stube-edn: " << wrong << " (see stube-edn --help)\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help: unwritten, it is a failure too
    return stube::tool::with_output("stube-edn", app.exit(e));
  } catch (const CLI::ParseError& e) {
    std::cerr << "stube-edn: " << e.what() << stube::tool::help_hint(app, "stube-edn", e.what())
              << '\n';
    return 2;
  }

  if (check_cmd->parsed()) {
    // Standard input can be read once: a second '-' would check nothing.
    if (std::count(check_paths.begin(), check_paths.end(), "-") > 1) {
      std::cerr << "stube-edn: '-' (standard input) is given more than once (see stube-edn "
                   "--help)\n";
      return 2;
    }
    return check(check_paths, options);
  }
  if (fmt_cmd->parsed()) {
    return render(fmt_path, options,
                  [width](const edn::Value& v, std::string& out) { out += edn::pretty(v, width); });
  }
  return render(print_path, options,
                [](const edn::Value& v, std::string& out) { edn::write(v, out); });
}
