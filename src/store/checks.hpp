// What every durable backend checks before touching storage: that a cid is
// valid, and that a conversation is printable (else: skip with a warning).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "stube/conversation.hpp"
#include "stube/edn.hpp"

namespace stube::store_detail {

// Throws InvalidCid (prefixed with `backend`, e.g. "file store") unless
// conv::valid_id(cid).
void check_cid(std::string_view backend, std::string_view cid);

// conv's :conv/id, checked; throws InvalidCid when conv is not a map with a
// valid string :conv/id.
std::string_view checked_cid(std::string_view backend, const edn::Value& conv);

// False, after logging the warning that names the cid and the remedy, when
// conv holds an opaque value, or nests deeper than edn::max_write_depth (the
// reader's default limit, which the stores read records with), and so
// cannot be stored.
bool printable_or_warn(std::string_view backend, std::string_view cid, const edn::Value& conv);

// Reads one stored record of `cid`: its conversation, or nullopt with
// `problem` saying why it is not one (`cid` is not a valid conversation id,
// the text is not valid EDN, not a map with a string :conv/id, or has a
// :conv/id other than `cid`; `index` names where `cid` came from, e.g.
// "the row's cid"). Never throws.
std::optional<edn::Value> read_record(std::string_view cid, std::string_view text,
                                      std::string_view index, std::string& problem) noexcept;

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
