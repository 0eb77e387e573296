#include "server/http_util.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <utility>

#include "kernel/wire.hpp"
#include "stube/conversation.hpp"

namespace stube::server {

namespace {

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

namespace {

// The offset of the first '%' not followed by two hex digits, or npos.
std::size_t bad_escape_at(std::string_view text) noexcept {
  for (std::size_t i = text.find('%'); i != std::string_view::npos; i = text.find('%', i + 1)) {
    const int hi = i + 1 < text.size() ? hex_digit(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) return i;
    i += 2;
  }
  return std::string_view::npos;
}

}  // namespace

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const int hi = i + 1 < text.size() ? hex_digit(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) throw BadRequest("bad percent-escape at offset " + std::to_string(i));
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

QueryParams parse_query(std::string_view query, bool text) {
  QueryParams params;
  std::size_t at = 0;  // where `pair` starts in the query, for the message
  while (at <= query.size()) {
    const std::size_t amp = std::min(query.find('&', at), query.size());
    const std::string_view pair = query.substr(at, amp - at);
    const std::size_t pair_at = std::exchange(at, amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    // Named by parameter and by offset in the whole query: percent_decode's
    // own offset, within a name or a value alone, named neither.
    const auto refuse = [&](std::string_view what, std::size_t bad) {
      const std::string where =
          bad < eq ? std::string("a parameter name")
                   : "the value of '" + printable(percent_decode(pair.substr(0, eq), true)) + "'";
      throw BadRequest(std::string(what) + " in the query at offset " +
                       std::to_string(pair_at + bad) + " (" + where + ")");
    };
    if (const std::size_t bad = bad_escape_at(pair); bad != std::string_view::npos)
      refuse("bad percent-escape", bad);
    // As in the signals a page sends: a NUL in text reaches no page (the
    // kept signals would never be sent), so it is bad input from the start.
    if (const std::size_t nul = pair.find("%00"); text && nul != std::string_view::npos)
      refuse("a NUL character (%00)", nul);
    std::string name = percent_decode(pair.substr(0, eq), true);
    std::string value =
        eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
    params.insert_or_assign(std::move(name), std::move(value));
  }
  return params;
}

std::vector<std::string_view> cookie_values(std::string_view header, std::string_view name) {
  std::vector<std::string_view> values;
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    std::string_view item = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || item.substr(0, eq) != name) continue;
    std::string_view value = item.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    values.push_back(value);
  }
  return values;
}

bool valid_id(std::string_view id) noexcept {
  return conv::valid_id(id);
}

bool valid_event_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name)
    if (!(is_alnum(c) || c == '_' || c == '-' || c == '.' || c == ':')) return false;
  return true;
}

std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool none_match_names(std::string_view header, std::string_view etag) noexcept {
  const auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  if (trim(header) == "*") return true;
  while (!header.empty()) {
    const std::size_t comma = std::min(header.find(','), header.size());
    std::string_view tag = trim(header.substr(0, comma));
    header.remove_prefix(std::min(comma + 1, header.size()));
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

bool valid_mount_path(std::string_view path) noexcept {
  return path == "/" || (!path.empty() && valid_base_path(path));
}

std::string http_date(std::chrono::system_clock::time_point t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const int n = std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                              kDays[utc.tm_wday], utc.tm_mday, kMonths[utc.tm_mon],
                              utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return std::string(text, static_cast<std::size_t>(n));
}

const std::string& http_date_now() {
  thread_local std::time_t formatted_second = -1;
  thread_local std::string formatted;
  const auto now = std::chrono::system_clock::now();
  const std::time_t second = std::chrono::system_clock::to_time_t(now);
  if (second != formatted_second) {
    formatted = http_date(now);
    formatted_second = second;
  }
  return formatted;
}

bool host_name_alone(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return std::ranges::all_of(host.substr(1, host.size() - 2), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
  }
  if (host.empty() || host.front() == '-' || host.front() == '.') return false;
  return std::ranges::all_of(host, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
           c == '~';
  });
}

}  // namespace stube::server
