// What every durable backend checks before touching storage: that a cid is
// valid, and that a conversation is printable (else: skip with a warning).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "stube/conversation.hpp"
#include "stube/edn.hpp"
#include "stube/store.hpp"

namespace stube::store_detail {

// The public checks (stube/store.hpp), by the names the backends use.
using store_checks::check_cid;
using store_checks::checked_cid;
using store_checks::printable_or_warn;
using store_checks::read_record;

// store_checks::read_record, and `starved`: whether memory ran out while
// reading the record (then `problem` says so). That is no verdict on the
// record: a backend fails its load instead of skipping it (skipped, a live
// conversation would be missing from this run and back at the next, an old
// version resurrected).
std::optional<edn::Value> read_record(std::string_view cid, std::string_view text,
                                      std::string_view index, std::string& problem,
                                      bool& starved) noexcept;

// The StoreError for a load that ran short (of memory, of descriptors) on
// the record `what` ("the file …", "conversation \"cv-1\" in …"): "<backend>:
// cannot load <what>: <problem> (the process or the machine ran short;
// nothing was loaded)".
[[noreturn]] void throw_starved(std::string_view backend, std::string_view what,
                                std::string_view problem);

// The thread's text buffer for one save or one file read, reused from one
// to the next so that the usual small conversation costs no allocation.
// One that a rare huge conversation grew past kKeep is freed when its
// user is done, not kept until the thread's next save (an idle worker, or
// load_all's thread, might never come). A nested one on the same thread
// gets a buffer of its own.
class ScratchText {
 public:
  static constexpr std::size_t kKeep = std::size_t{4} << 20;

  ScratchText() noexcept;
  ~ScratchText();
  ScratchText(const ScratchText&) = delete;
  ScratchText& operator=(const ScratchText&) = delete;

  std::string& text() noexcept { return *text_; }
  // What the thread keeps between uses (for tests).
  static std::size_t kept_capacity() noexcept;

 private:
  std::string own_;
  std::string* text_;
  bool borrowed_;
};

}  // namespace stube::store_detail
