// What redact_store_url hides, for scrubbing messages that quote a store URL
// or a piece of it (libpq's).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace stube::store_detail {

// The text redact_store_url(url) replaces by "***", as written in `url`
// (still percent-encoded, a keyword value still quoted), in order.
std::vector<std::string> hidden_by_redaction(std::string_view url);

}  // namespace stube::store_detail
