// What every durable backend checks before touching storage: that a cid is
// valid, and that a conversation is printable (else: skip with a warning).
#pragma once

#include <string>
#include <string_view>

#include "stube/edn.hpp"

namespace stube::store_detail {

// `cid` quoted as an EDN string and cut to a readable length, for messages
// about untrusted ids.
std::string quote_cid(std::string_view cid);

// Throws InvalidCid (prefixed with `backend`, e.g. "file store") unless
// conv::valid_id(cid).
void check_cid(std::string_view backend, std::string_view cid);

// conv's :conv/id, checked; throws InvalidCid when conv is not a map with a
// valid string :conv/id.
std::string_view checked_cid(std::string_view backend, const edn::Value& conv);

// False, after logging the warning that names the cid and the remedy, when
// conv holds an opaque value and so cannot be stored.
bool printable_or_warn(std::string_view backend, std::string_view cid, const edn::Value& conv);

}  // namespace stube::store_detail
