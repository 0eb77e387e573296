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
#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli_usage.hpp"
#include "stube/edn.hpp"

namespace edn = stube::edn;

namespace {

// --- splitting a stream into top-level forms --------------------------------
//
// edn::read takes exactly one value, so the stream is cut into top-level forms
// first and each form is handed to the real reader. The cutter only has to
// find where a form ends; every judgement about validity is the reader's. It
// is iterative (a depth counter, no recursion) so hostile nesting cannot
// overflow the stack before the reader's depth limit rejects it.

bool is_space(char c) {
  return c == ' ' || c == ',' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

// Characters that end a symbol, number or other token (as in the reader).
bool ends_token(char c) {
  return is_space(c) || std::string_view("()[]{}\";\\^@`~").find(c) != std::string_view::npos;
}

class FormCutter {
 public:
  explicit FormCutter(std::string_view text) : text_(text) {}

  // Skips whitespace, comments and top-level #_ discards. False at the end.
  bool next_form_start() {
    for (;;) {
      skip_space_and_comments();
      if (pos_ + 1 < text_.size() && text_[pos_] == '#' && text_[pos_ + 1] == '_') {
        const std::size_t discard = pos_;
        pos_ += 2;
        skip_space_and_comments();
        bool complete = false;
        if (pos_ < text_.size()) pos_ = form_end(pos_, &complete);
        if (complete) continue;
        // "#_" with no whole form after it (none, or one the text cuts
        // short): an error to Clojure's reader too; the reader says where.
        pos_ = discard;
        dangling_discard_ = true;
        return true;
      }
      return pos_ < text_.size();
    }
  }

  // The form starting at the current position; advances past it. A
  // dangling "#_" is the rest of the text (which the reader refuses).
  std::string_view take_form() {
    std::size_t begin = pos_;
    if (dangling_discard_) {
      pos_ = text_.size();
      return text_.substr(begin);
    }
    bool complete = false;
    pos_ = form_end(pos_, &complete);
    return text_.substr(begin, pos_ - begin);
  }

  std::size_t position() const { return pos_; }

 private:
  void skip_space_and_comments() { pos_ = skip_space_and_comments(pos_); }

  std::size_t skip_space_and_comments(std::size_t p) const {
    while (p < text_.size()) {
      if (is_space(text_[p])) {
        ++p;
      } else if (text_[p] == ';') {
        // A comment ends at a line feed or a carriage return (as in the reader).
        while (p < text_.size() && text_[p] != '\n' && text_[p] != '\r') ++p;
      } else {
        break;
      }
    }
    return p;
  }

  std::size_t token_end(std::size_t p) const {
    while (p < text_.size() && !ends_token(text_[p])) ++p;
    return p;
  }

  // Just past the closing quote; npos when the text ends first.
  std::size_t string_end(std::size_t p) const {  // p is just past the opening quote
    while (p < text_.size() && text_[p] != '"') p += text_[p] == '\\' ? 2 : 1;
    return p < text_.size() ? p + 1 : std::string_view::npos;
  }

  // A character literal: the backslash, one UTF-8 sequence (which may be a
  // delimiter, as in \( or \,), then any name characters (\newline, \u00e9).
  std::size_t char_end(std::size_t p) const {  // p is at the backslash
    if (++p >= text_.size()) return p;
    auto lead = static_cast<unsigned char>(text_[p]);
    std::size_t len = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    return token_end(std::min(p + len, text_.size()));
  }

  // End of the form starting at p (a non-space byte). Tags and #: prefixes
  // belong to the form that follows them; a #_ at the top owes one more form.
  // Unterminated forms run to the end of the text and the reader reports
  // them; *complete says whether the form ended before the text did.
  std::size_t form_end(std::size_t p, bool* complete) const {
    *complete = false;
    std::size_t depth = 0;
    std::size_t needed = 1;  // complete top-level forms still to consume
    for (;;) {
      p = skip_space_and_comments(p);
      if (p >= text_.size()) return text_.size();
      char c = text_[p];
      char n = p + 1 < text_.size() ? text_[p + 1] : '\0';
      if (c == '(' || c == '[' || c == '{' || (c == '#' && n == '{')) {
        p += c == '#' ? 2 : 1;
        ++depth;
        continue;
      }
      if (c == '#' && n == '_') {
        p += 2;
        if (depth == 0) ++needed;
        continue;
      }
      if (c == '#' && n != '#') {  // a tag or a #:ns map prefix
        p = token_end(p + 1);
        continue;
      }
      if (c == ')' || c == ']' || c == '}') {
        ++p;
        if (depth == 0) return p;  // a stray closer: the reader rejects it
        --depth;
      } else if (c == '"') {
        p = string_end(p + 1);
        if (p == std::string_view::npos) return text_.size();
      } else if (c == '\\') {
        if (p + 1 >= text_.size()) return text_.size();  // a backslash and nothing
        p = char_end(p);
      } else {
        p = std::max(token_end(p), p + 1);
      }
      if (depth == 0 && --needed == 0) {
        *complete = p <= text_.size();
        return std::min(p, text_.size());
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  bool dangling_discard_ = false;  // the text ends in a "#_" with no form
};

// --- positions ----------------------------------------------------------------

struct Position {
  std::size_t line = 1, column = 1;
};

// Position of byte `offset`, counting columns in code points like the reader.
Position position_of(std::string_view text, std::size_t offset) {
  Position at;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    // "\n", "\r\n" and a lone "\r" each end a line, as the reader counts them.
    if (c == '\n' || (c == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) {
      ++at.line;
      at.column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++at.column;
    }
  }
  return at;
}

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
  std::vector<edn::Value> values;
  FormCutter cutter(text);
  while (cutter.next_form_start()) {
    std::size_t begin = cutter.position();
    std::string_view form = cutter.take_form();
    try {
      values.push_back(edn::read(form, options));
    } catch (const edn::ParseError& e) {
      Position start = position_of(text, begin);
      std::size_t line = start.line + e.line() - 1;
      std::size_t column = e.line() == 1 ? start.column + e.column() - 1 : e.column();
      throw InputError{name + ":" + std::to_string(line) + ":" + std::to_string(column),
                       e.reason()};
    }
  }
  return values;
}

void report(const InputError& e) {
  std::cerr << e.where << ": " << e.reason << '\n';
}

// 0 when standard output took everything; else 1, said on stderr (a full
// disk, a closed pipe with SIGPIPE ignored). `err` is the errno of a write
// that already failed (a large output is written before the flush).
int finish_output(int err = 0) {
  if (std::cout) {
    errno = 0;
    std::cout.flush();
    if (std::cout) return 0;
    err = errno;
  }
  std::cerr << "stube-edn: cannot write the output: "
            << (err != 0 ? std::strerror(err) : "write failed") << '\n';
  return 1;
}

// --- commands -------------------------------------------------------------------

int check(const std::vector<std::string>& paths, const edn::ReadOptions& options) {
  int status = 0;
  for (const auto& path : paths) {
    try {
      read_file(path, options);
      std::cout << display_name(path) << ": ok\n";
    } catch (const InputError& e) {
      report(e);
      status = 1;
    }
  }
  return finish_output() != 0 ? 1 : status;
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
  errno = 0;
  std::cout << out;
  return finish_output(std::cout ? 0 : errno);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Check and print EDN (the data format of stube conversations)."};
  app.require_subcommand(1);
  edn::ReadOptions options;
  app.add_option("--max-depth", options.max_depth, "Deepest nesting accepted")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));

  std::vector<std::string> check_paths;
  auto* check_cmd = app.add_subcommand("check", "Parse each FILE; print 'FILE: ok' or the error");
  check_cmd->add_option("FILE", check_paths, "EDN files ('-' for stdin)")->required();

  std::string fmt_path = "-";
  std::size_t width = 80;
  auto* fmt_cmd = app.add_subcommand("fmt", "Pretty-print every value of FILE");
  fmt_cmd->add_option("FILE", fmt_path, "EDN file ('-' or nothing for stdin)");
  fmt_cmd->add_option("-w,--width", width, "Target line width")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));

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
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "stube-edn: " << e.what() << " (see stube-edn --help)\n";
    return 2;
  }

  if (check_cmd->parsed()) return check(check_paths, options);
  if (fmt_cmd->parsed()) {
    return render(fmt_path, options,
                  [width](const edn::Value& v, std::string& out) { out += edn::pretty(v, width); });
  }
  return render(print_path, options,
                [](const edn::Value& v, std::string& out) { edn::write(v, out); });
}
