// RFC 3339 text <-> Instant, and UUID text. Internal to the library.
#pragma once

#include <string>
#include <string_view>

#include "stube/edn.hpp"

namespace stube::edn::detail {

// The instants whose year, in UTC, has four digits: 0000-01-01T00:00:00Z
// to 9999-12-31T23:59:59.999999999Z. Clojure's #inst reader reads no other
// year, so these are the only instants that print and read back.
constexpr std::int64_t kMinInstantSeconds = -62167219200;
constexpr std::int64_t kMaxInstantSeconds = 253402300799;

// Parses what Clojure's #inst reader accepts: "yyyy[-MM[-dd[THH[:mm[:ss[.f…]]]]]][Z|±HH:mm]",
// when the instant it names is in the range above.
// Returns nullptr on success, otherwise the reason.
const char* parse_instant(std::string_view text, Instant* out) noexcept;

// "2020-01-01T00:00:00.000-00:00" (milliseconds) when the nanoseconds are
// whole milliseconds, else 9 fractional digits: what Clojure prints for a
// java.util.Date and a java.sql.Timestamp respectively.
// Writes at most kInstantTextMax bytes at out; returns the end.
constexpr std::size_t kInstantTextMax = 48;
char* format_instant(Instant t, char* out) noexcept;

const char* parse_uuid(std::string_view text, Uuid* out) noexcept;
// Writes exactly 36 bytes at out; returns the end.
char* format_uuid(const Uuid& u, char* out) noexcept;

}  // namespace stube::edn::detail
