// cli_usage.hpp — the usage errors CLI11 words poorly, found before it parses,
// and the passwords its messages would quote.
//
// With a required subcommand, CLI11 (2.1) answers a mistyped command or an
// unknown option in front of the command with "A subcommand is required",
// naming neither. The tools look for such a word first and name it.
#pragma once

#include <CLI/CLI.hpp>
#include <charconv>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "stube/store.hpp"

namespace stube::tool {

// `message` with each command-line word (or the value of an `--option=`
// word) that holds a password written as redact_store_url shows it: a
// usage error quotes the words as typed.
inline std::string redacted(std::string message, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const std::size_t eq = arg.starts_with("-") ? arg.find('=') : std::string_view::npos;
    const std::string word(eq == std::string_view::npos ? arg : arg.substr(eq + 1));
    const std::string shown = redact_store_url(word);
    if (shown == word) continue;
    for (auto at = message.find(word); at != std::string::npos;
         at = message.find(word, at + shown.size()))
      message.replace(at, word.size(), shown);
  }
  return message;
}

// The message for the first word before the subcommand that is neither one
// of `app`'s subcommands nor one of its own options; empty when there is none.
inline std::string misplaced_word(const CLI::App& app, int argc, char** argv) {
  const auto subs = app.get_subcommands(std::function<bool(const CLI::App*)>{});
  std::string commands;
  for (const CLI::App* sub : subs) commands += (commands.empty() ? "" : ", ") + sub->get_name();
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word.size() > 1 && word.front() == '-') {
      const std::string name(word.substr(0, word.find('=')));
      const CLI::Option* option = app.get_option_no_throw(name);
      if (option == nullptr) return "unknown option '" + name + "'";
      // "--max-depth 5": the next word is the option's value, not a command;
      // unless it is one ("--max-depth check f.edn": the value is missing).
      // A flag (--help) takes no value; its type size is 1 all the same.
      if (name.size() == word.size() && option->get_expected_min() > 0) {
        if (i + 1 < argc) {
          for (const CLI::App* sub : subs)
            if (sub->check_name(argv[i + 1])) return name + " needs a value";
        }
        ++i;
      }
      continue;
    }
    for (const CLI::App* sub : subs)
      if (sub->check_name(std::string(word))) return {};
    return "unknown command '" + std::string(word) + "' (expected one of " + commands + ")";
  }
  return {};
}

// A validator for an integer option from `min` to `max`, in decimal: CLI11's
// Range calls a word that is not a number "not in range", the option's own
// conversion calls one out of its type's range "could not convert", and it
// reads a leading 0 as octal (--port 020000 would listen on 8192). So the
// word is checked here and handed on as the number's plain decimal text.
inline CLI::Validator whole_number(long long min, long long max) {
  const std::string range = std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [min, max, range](std::string& word) -> std::string {
        const std::string_view digits =
            std::string_view(word).substr(word.starts_with('+') ? 1 : 0);
        long long value = 0;
        const char* end = digits.data() + digits.size();
        const auto [stop, error] = std::from_chars(digits.data(), end, value);
        if (digits.empty() || error == std::errc::invalid_argument || stop != end)
          return "'" + word + "' is not a whole number";
        if (error != std::errc() || value < min || value > max)
          return word + " is out of range (" + range + ")";
        word = std::to_string(value);
        return {};
      },
      "INT in [" + std::to_string(min) + " - " + std::to_string(max) + "]");  // as Range
}

// Where a usage error (`message`) sends the user: the help of the command
// that was given ("stube-store show --help" lists its arguments), unless
// the message is about one of the tool's own options ("--max-depth: …"),
// which only the tool's help lists.
inline std::string help_hint(const CLI::App& app, const std::string& tool,
                             std::string_view message) {
  const std::string_view head = message.substr(0, message.find(':'));
  const bool tools_own = head.starts_with('-') && app.get_option_no_throw(std::string(head));
  const auto given = app.get_subcommands();
  if (tools_own || given.empty()) return " (see " + tool + " --help)";
  return " (see " + tool + " " + given.front()->get_name() + " --help)";
}

}  // namespace stube::tool
