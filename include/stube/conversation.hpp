// stube/conversation.hpp — the conversation value (SPEC §2).
//
// A conversation is a plain EDN map:
//
//   {:conv/id        "cv-…"                    ; string, unique forever
//    :conv/instances {"ix-…" {…instance…} …}  ; every live instance by id
//    :conv/stack     ["ix-root" … "ix-top"]    ; call chain, bottom to top
//    :conv/history   [earlier-conv …]          ; snapshots for [:back]
//    :conv/created   #inst "…"
//    :conv/touched   #inst "…"}                ; bumped by browser events, back, wakeups
//
// plus whatever framework keys the runtime adds. These helpers build one and
// read or replace its parts; every "update" returns a new value.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "stube/edn.hpp"

namespace stube::conv {

// The keywords of the conversation map, built once.
namespace keys {
const edn::Value& id();         // :conv/id
const edn::Value& instances();  // :conv/instances
const edn::Value& stack();      // :conv/stack
const edn::Value& history();    // :conv/history
const edn::Value& created();    // :conv/created
const edn::Value& touched();    // :conv/touched
}  // namespace keys

// --- ids ----------------------------------------------------------------------

inline constexpr std::size_t max_id_length = 128;

// True iff `id` is 1..max_id_length characters, all from [A-Za-z0-9_-]: safe
// as a file name, a URL path segment and a SQL key without any escaping.
bool valid_id(std::string_view id) noexcept;

// A fresh id: `prefix` followed by 128 bits from the operating system's
// CSPRNG (getrandom(2)), base64url-encoded without padding (22 characters).
// Ids never collide, also across restarts and processes: nothing is derived
// from a counter, a clock or a pid, and the chance that two of 2^40 minted
// ids share 128 random bits is below 2^-47. No random state is buffered in
// the process, so a forked child never repeats its parent's ids.
// Throws std::invalid_argument if `prefix` would make the id invalid and
// std::system_error if the CSPRNG fails.
std::string mint_id(std::string_view prefix = "cv-");

// --- building -------------------------------------------------------------------

// A new, empty conversation with the given id, created and touched at `now`.
// Throws std::invalid_argument when !valid_id(id).
edn::Value make(std::string_view id, edn::Instant now = edn::Instant::now());

// make(mint_id(), now).
edn::Value new_conversation(edn::Instant now = edn::Instant::now());

// --- reading ----------------------------------------------------------------------
// Each accessor throws edn::TypeError naming the key when the part is missing
// or of the wrong kind.

// The :conv/id of `v`, or nothing when `v` is not a map with a string :conv/id.
std::optional<std::string_view> find_id(const edn::Value& v) noexcept;

// Why `v`, read from storage under `cid`, is not that conversation's record:
// "not a map but a vector", "the map has no string :conv/id", or
// ":conv/id \"x\" does not match <source>" — where `source` says where the
// cid came from ("the file name", "the row's cid"). Empty when it is. This is
// the check every store's load_all makes before it accepts a record.
std::string record_problem(const edn::Value& v, std::string_view cid, std::string_view source);

// `id` as an EDN string, cut to a readable length (140 bytes, on a character
// boundary, then "… (N bytes)"): for messages about ids that came from
// outside, which may be long or odd. A byte that is not UTF-8 shows as \xNN
// (one backslash: not EDN, and so never mistaken for the text "\xNN",
// which shows as \\xNN).
std::string quote_id(std::string_view id);

std::string_view id(const edn::Value& conv);
const edn::Value& instances(const edn::Value& conv);  // a map
const edn::Value& stack(const edn::Value& conv);      // a vector of instance ids
const edn::Value& history(const edn::Value& conv);    // a vector of snapshots ([] if none)
edn::Instant created(const edn::Value& conv);
edn::Instant touched(const edn::Value& conv);

// The instance stored under `iid`, or nil.
const edn::Value& instance(const edn::Value& conv, std::string_view iid);
// The id of the top frame of the stack, or nil when the stack is empty.
const edn::Value& top(const edn::Value& conv);

// --- updating ---------------------------------------------------------------------

[[nodiscard]] edn::Value with_instances(const edn::Value& conv, edn::Value instances);
[[nodiscard]] edn::Value with_stack(const edn::Value& conv, edn::Value stack);
[[nodiscard]] edn::Value with_history(const edn::Value& conv, edn::Value history);
[[nodiscard]] edn::Value put_instance(const edn::Value& conv, std::string_view iid,
                                      edn::Value instance);
[[nodiscard]] edn::Value drop_instance(const edn::Value& conv, std::string_view iid);
// Sets :conv/touched to `now`.
[[nodiscard]] edn::Value touch(const edn::Value& conv, edn::Instant now = edn::Instant::now());

// Appends a snapshot of `conv` (with its own :conv/history removed, so
// history never grows quadratically) to its history, keeping at most `limit`
// snapshots (the oldest are dropped; a limit of 0 keeps none).
[[nodiscard]] edn::Value push_history(const edn::Value& conv, std::size_t limit);

// `conv` with at most `limit` snapshots in its history (the newest; a limit of
// 0 keeps none): a conversation recorded under a larger limit, cut to this one.
[[nodiscard]] edn::Value cap_history(const edn::Value& conv, std::size_t limit);

}  // namespace stube::conv
