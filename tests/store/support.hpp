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

}  // namespace stube::test
