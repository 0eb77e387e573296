// stube-store — inspect, check and copy conversation stores.
//
//   stube-store ls file:./var/convs          # cid, size, touched, top component, printable
//   stube-store show file:./var/convs CID    # one conversation, pretty-printed EDN
//   stube-store verify file:./var/convs      # every unreadable record with the reason
//   stube-store stats postgresql://…/app     # counts, sizes, oldest touched
//   stube-store migrate file:./var/convs postgresql://stube@db/app
//
// URL is anything stube::open_store accepts. Exit status: 0 on success, 1
// when something is wrong with the data or the store (verify found a bad
// record, a missing store, a backend failure), 2 on a usage error (bad
// arguments, bad URL, unknown scheme). See docs/store.md.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "cli_usage.hpp"
#include "finish_output.hpp"
#include "stube/log.hpp"
#include "stube/store.hpp"
#include "stube_store/tool.hpp"

using stube::tool::redacted;

namespace {

// Warnings and errors from the library still reach stderr; the load
// summaries the server logs would only be noise here.
void quiet_log() {
  stube::log::set_sink([](stube::log::Level level, std::string_view message) {
    if (level >= stube::log::Level::warn) stube::log::stderr_sink(level, message);
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Inspect, check and copy stube conversation stores (file:, postgresql://, ...)."};
  app.require_subcommand(1);

  std::string url, cid, from, to;
  bool overwrite = false;
  std::size_t width = 80;
  auto* ls_cmd = app.add_subcommand(
      "ls", "One line per conversation: cid, bytes, touched, top component, printable");
  ls_cmd->add_option("URL", url, "Store URL, e.g. file:./var/convs")->required();
  auto* show_cmd = app.add_subcommand("show", "Print one conversation as indented EDN");
  show_cmd->add_option("URL", url, "Store URL")->required();
  show_cmd->add_option("CID", cid, "Conversation id")->required();
  show_cmd->add_option("-w,--width", width, "Target line width")
      ->capture_default_str()
      ->transform(stube::tool::whole_number(1, 1 << 20));
  auto* verify_cmd = app.add_subcommand(
      "verify", "Check every record; list the unreadable ones; exit 1 if there is any");
  verify_cmd->add_option("URL", url, "Store URL")->required();
  auto* stats_cmd =
      app.add_subcommand("stats", "Counts, total and largest size, oldest touched, unreadable");
  stats_cmd->add_option("URL", url, "Store URL")->required();
  auto* migrate_cmd = app.add_subcommand(
      "migrate", "Copy every readable conversation from FROM to TO and read each back");
  migrate_cmd->add_option("FROM", from, "Source store URL (must exist)")->required();
  migrate_cmd
      ->add_option("TO", to,
                   "Target store URL (created if missing, unless it says create=false, "
                   "or create_schema=false for postgresql:; an existing sqlite: file must "
                   "be a stube store)")
      ->required();
  migrate_cmd->add_flag("--overwrite", overwrite,
                        "Also replace the conversations TO holds that were touched later than "
                        "FROM's copies, or that it cannot read (kept and named by default)");

  if (const std::string wrong = stube::tool::misplaced_word(app, argc, argv); !wrong.empty()) {
    std::cerr << "stube-store: " << redacted(wrong, argc, argv) << " (see stube-store --help)\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help: unwritten, it is a failure too
    return stube::tool::with_output("stube-store", app.exit(e));
  } catch (const CLI::ParseError& e) {
    std::cerr << "stube-store: " << redacted(e.what(), argc, argv)
              << stube::tool::help_hint(app, "stube-store", e.what()) << '\n';
    return 2;
  }

  quiet_log();
  namespace tool = stube::tool;
  try {
    if (ls_cmd->parsed()) return tool::ls(url);
    if (show_cmd->parsed()) return tool::show(url, cid, width);
    if (verify_cmd->parsed()) return tool::verify(url);
    if (stats_cmd->parsed()) return tool::stats(url);
    return tool::migrate(from, to, overwrite);
  } catch (const tool::UsageError& e) {
    // Also here: a message may quote a word as typed (a URL given as the cid).
    std::cerr << "stube-store: " << redacted(e.what(), argc, argv) << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "stube-store: " << redacted(e.what(), argc, argv) << '\n';
    return 1;
  }
}
