// Test support for the store tests: a scratch directory, a log capture and a
// generator of varied conversations.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/edn_print.hpp"
#include "common/log_capture.hpp"
#include "common/scratch_dir.hpp"
#include "stube/edn.hpp"
#include "stube/log.hpp"
#include "stube/store.hpp"

namespace stube::test {

// A conversation with id `cid` whose parts use every EDN kind the store must
// carry (keywords, strings with escapes and non-ASCII text, big numbers,
// ratios, characters, sets, lists, #inst, #uuid, unknown tags, history
// snapshots), varied by `seed`. Deterministic.
edn::Value varied_conversation(std::string_view cid, unsigned seed);

// A conversation of at least `bytes` bytes of printed EDN.
edn::Value large_conversation(std::string_view cid, std::size_t bytes);

// A conversation that holds an opaque value (like a running flow).
edn::Value unprintable_conversation(std::string_view cid);

// The message of the StoreError `f` throws, or "(no StoreError)".
template <class F>
std::string store_error_of(F&& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.what();
  }
  return "(no StoreError)";
}

// The names of the files in `dir` (not recursive), sorted.
std::vector<std::string> file_names(const std::filesystem::path& dir);

// The whole content of a file.
std::string slurp(const std::filesystem::path& file);

// Sets `file`'s last modification two minutes back: a temporary file that
// old is a left-over, no save in flight (see the file store's open).
inline void age_by_two_minutes(const std::filesystem::path& file) {
  std::filesystem::last_write_time(
      file, std::filesystem::last_write_time(file) - std::chrono::minutes(2));
}

// The message of the MissingStore that `open` throws; "(opened)" when it
// throws nothing and "(not a MissingStore: <message>)" for another
// StoreError, so that a test expecting a phrase in it fails either way.
std::string missing_store_error(const std::function<void()>& open);

// Runs `body` in a forked child on a small disk: a tmpfs of `bytes` mounted
// on `dir` in a mount namespace of the child's own (nothing reaches this
// process's), in a user namespace of its own when not root (no privilege
// needed on Debian). Returns body's result as the child's exit code, 2 when
// no tmpfs could be mounted (why on stderr), -N when the child died of
// signal N (a hang is a SIGALRM after two minutes).
int in_child_on_tmpfs(const std::filesystem::path& dir, std::size_t bytes,
                      const std::function<int()>& body);

// For in_child_on_tmpfs's body: makes `path` (a directory or a file) on
// the tmpfs read-only with a read-only bind mount onto itself, the rest of
// the tmpfs staying writable; false (why on stderr) when it cannot.
bool make_read_only(const std::filesystem::path& path);

}  // namespace stube::test
