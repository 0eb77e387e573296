#include "edn/instant.hpp"

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace stube::edn {

namespace detail {

namespace {

// Howard Hinnant's days_from_civil / civil_from_days (public domain).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t* y, unsigned* m, unsigned* d) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<std::int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool leap(std::int64_t y) noexcept {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n digits at s[*i].
bool digits(std::string_view s, std::size_t* i, std::size_t n, unsigned* out) noexcept {
  if (*i + n > s.size()) return false;
  unsigned v = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const char c = s[*i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

bool at(std::string_view s, std::size_t i, char c) noexcept {
  return i < s.size() && s[i] == c;
}

}  // namespace

const char* parse_instant(std::string_view s, Instant* out) noexcept {
  std::size_t i = 0;
  // Exactly four year digits and no sign, as in Clojure (and RFC 3339).
  unsigned year_u = 0;
  if (!digits(s, &i, 4, &year_u) || (i < s.size() && s[i] >= '0' && s[i] <= '9'))
    return "expected a year of 4 digits";
  const std::int64_t year = year_u;
  unsigned month = 1, day = 1, hour = 0, minute = 0, second = 0, nanos = 0;
  int offset_minutes = 0;
  if (at(s, i, '-')) {
    ++i;
    if (!digits(s, &i, 2, &month) || month < 1 || month > 12) return "invalid month";
    if (at(s, i, '-')) {
      ++i;
      if (!digits(s, &i, 2, &day) || day < 1 || day > days_in_month(year, month))
        return "invalid day";
      if (at(s, i, 'T')) {
        ++i;
        if (!digits(s, &i, 2, &hour) || hour > 23) return "invalid hour";
        if (at(s, i, ':')) {
          ++i;
          if (!digits(s, &i, 2, &minute) || minute > 59) return "invalid minute";
          if (at(s, i, ':')) {
            ++i;
            // 60 is a leap second, which only the last minute of an hour has.
            if (!digits(s, &i, 2, &second) || second > (minute == 59 ? 60u : 59u))
              return "invalid second";
            if (at(s, i, '.')) {
              ++i;
              std::size_t n = 0;
              // Any number of digits, as RFC 3339 and Clojure's reader allow;
              // what is finer than a nanosecond is dropped (Clojure does too).
              bool any = false;
              for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, any = true) {
                if (n == 9) continue;
                nanos = nanos * 10 + static_cast<unsigned>(s[i] - '0');
                ++n;
              }
              if (!any) return "expected fractional digits after '.'";
              for (; n < 9; ++n) nanos *= 10;
            }
          }
        }
      }
    }
  }
  if (at(s, i, 'Z')) {  // not 'z': Clojure rejects it
    ++i;
  } else if (at(s, i, '+') || at(s, i, '-')) {
    const int sign = s[i] == '-' ? -1 : 1;
    ++i;
    unsigned oh = 0, om = 0;
    if (!digits(s, &i, 2, &oh) || oh > 23 || !at(s, i, ':')) return "invalid offset";
    ++i;
    if (!digits(s, &i, 2, &om) || om > 59) return "invalid offset";
    offset_minutes = sign * static_cast<int>(oh * 60 + om);
  }
  if (i != s.size()) return "unexpected text after the timestamp";
  const std::int64_t days = days_from_civil(year, month, day);
  const std::int64_t seconds =
      days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  // An offset can carry 0000-01-01 or 9999-12-31 into a year of other than
  // four digits, which would not print readably.
  if (seconds < kMinInstantSeconds || seconds > kMaxInstantSeconds)
    return offset_minutes != 0 ? "the offset moves it outside the years 0000 to 9999 in UTC"
                               : "the leap second moves it past 9999-12-31";
  out->seconds = seconds;
  out->nanos = nanos;
  return nullptr;
}

char* format_instant(Instant t, char* out) noexcept {
  std::int64_t days = t.seconds / 86400;
  std::int64_t secs = t.seconds % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  // Hand-formatted: this runs for every #inst printed.
  auto put = [&out](std::uint64_t v, int width) {
    char buf[20];
    int n = 0;
    do {
      buf[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    for (int i = n; i < width; ++i) *out++ = '0';
    while (n > 0) *out++ = buf[--n];
  };
  if (y < 0) *out++ = '-';
  put(static_cast<std::uint64_t>(y < 0 ? -y : y), 4);
  *out++ = '-';
  put(m, 2);
  *out++ = '-';
  put(d, 2);
  *out++ = 'T';
  put(static_cast<std::uint64_t>(secs / 3600), 2);
  *out++ = ':';
  put(static_cast<std::uint64_t>(secs / 60 % 60), 2);
  *out++ = ':';
  put(static_cast<std::uint64_t>(secs % 60), 2);
  *out++ = '.';
  if (t.nanos % 1000000 == 0)
    put(t.nanos / 1000000, 3);
  else
    put(t.nanos, 9);
  std::memcpy(out, "-00:00", 6);
  return out + 6;
}

const char* parse_uuid(std::string_view s, Uuid* out) noexcept {
  if (s.size() != 36) return "expected 36 characters (8-4-4-4-12 hex digits)";
  std::size_t b = 0;
  for (std::size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return "expected '-' between the groups";
      ++i;
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = hex(s[i]), lo = hex(s[i + 1]);
    if (hi < 0 || lo < 0) return "invalid hex digit";
    out->bytes[b++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return nullptr;
}

char* format_uuid(const Uuid& u, char* out) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *out++ = '-';
    *out++ = kHex[u.bytes[i] >> 4];
    *out++ = kHex[u.bytes[i] & 15];
  }
  return out;
}

}  // namespace detail

Instant Instant::now() noexcept {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  Instant t;
  t.seconds = ns / 1000000000;
  t.nanos = static_cast<std::uint32_t>(ns % 1000000000);
  return t;
}

Uuid Uuid::random() {
  Uuid u;
  std::size_t got = 0;
  while (got < u.bytes.size()) {
    const ssize_t n = getrandom(u.bytes.data() + got, u.bytes.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(std::string("edn: getrandom failed: ") + std::strerror(errno));
    }
    got += static_cast<std::size_t>(n);
  }
  u.bytes[6] = static_cast<std::uint8_t>((u.bytes[6] & 0x0f) | 0x40);  // version 4
  u.bytes[8] = static_cast<std::uint8_t>((u.bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return u;
}

std::string Uuid::to_string() const {
  char buf[36];
  return std::string(buf, detail::format_uuid(*this, buf));
}

Uuid Uuid::parse(std::string_view text) {
  Uuid u;
  if (const char* why = detail::parse_uuid(text, &u))
    throw TypeError("edn: invalid uuid \"" + std::string(text) + "\": " + why);
  return u;
}

}  // namespace stube::edn
