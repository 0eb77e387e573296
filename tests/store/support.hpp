// Test support for the store tests: a scratch directory, a log capture and a
// generator of varied conversations.
#pragma once

#include <filesystem>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stube/edn.hpp"
#include "stube/log.hpp"

namespace stube::edn {
// Lets GoogleTest print values in failure messages (truncated: some are large).
inline void PrintTo(const Value& v, std::ostream* os) {
  const std::string text = write(v);
  *os << (text.size() <= 300 ? text : text.substr(0, 300) + "…");
}
}  // namespace stube::edn

namespace stube::test {

// A fresh, empty directory under the build tree, removed on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(std::string_view label = "scratch");
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// Captures every log message while alive (restoring the previous sink after).
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::pair<log::Level, std::string>> messages() const;
  std::vector<std::string> at(log::Level level) const;  // messages of one level
  void clear();

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<log::Level, std::string>> messages_;
  log::Sink previous_;
};

// A conversation with id `cid` whose parts use every EDN kind the store must
// carry (keywords, strings with escapes and non-ASCII text, big numbers,
// ratios, characters, sets, lists, #inst, #uuid, unknown tags, history
// snapshots), varied by `seed`. Deterministic.
edn::Value varied_conversation(std::string_view cid, unsigned seed);

// A conversation of at least `bytes` bytes of printed EDN.
edn::Value large_conversation(std::string_view cid, std::size_t bytes);

// A conversation that holds an opaque value (like a running flow).
edn::Value unprintable_conversation(std::string_view cid);

// The names of the files in `dir` (not recursive), sorted.
std::vector<std::string> file_names(const std::filesystem::path& dir);

// The whole content of a file.
std::string slurp(const std::filesystem::path& file);

}  // namespace stube::test
