#include "server/routes.hpp"

#include <cctype>
#include <vector>

#include "server/http_util.hpp"

namespace stube::server {

namespace {

std::vector<std::string_view> segments(std::string_view rest) {
  std::vector<std::string_view> out;
  for (;;) {
    const std::size_t slash = rest.find('/');
    out.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    rest.remove_prefix(slash + 1);
  }
}

std::string checked_id(std::string_view what, std::string_view id) {
  if (!valid_id(id))
    throw BadRequest("bad " + std::string(what) +
                     " in path: expected 1-128 characters from [A-Za-z0-9_-]");
  return std::string(id);
}

void expect_segments(std::string_view route, const std::vector<std::string_view>& segs,
                     std::size_t n) {
  if (segs.size() != n)
    throw BadRequest("bad path: " + std::string(route) + " takes " + std::to_string(n) +
                     " segment" + (n == 1 ? "" : "s") + " after it, got " +
                     std::to_string(segs.size()));
}

}  // namespace

std::optional<std::string> origin_form(std::string_view target) {
  if (target.starts_with('/')) return std::string(target);
  const std::size_t colon = target.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  std::string scheme(target.substr(0, colon));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  const std::string_view rest = target.substr(colon + 3);
  const std::size_t end = rest.find_first_of("/?#");
  if (end == 0) return std::nullopt;  // no authority
  if (end == std::string_view::npos) return std::string("/");
  if (rest[end] == '/') return std::string(rest.substr(end));
  return "/" + std::string(rest.substr(end));
}

std::string_view target_authority(std::string_view target) noexcept {
  if (target.starts_with('/')) return {};
  const std::size_t colon = target.find("://");
  if (colon == std::string_view::npos) return {};
  const std::string_view rest = target.substr(colon + 3);
  return rest.substr(0, rest.find_first_of("/?#"));
}

namespace {

bool hex_digit(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// unreserved / sub-delims (RFC 3986 §2.2, §2.3), and ':' in an IP literal.
bool name_char(char c, bool in_brackets) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  if (in_brackets && c == ':') return true;
  return std::string_view("-._~!$&'()*+,;=").find(c) != std::string_view::npos;
}

// A registered name or an IPv4 address, percent-escapes allowed.
bool reg_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '%') {
      if (i + 2 >= name.size() || !hex_digit(name[i + 1]) || !hex_digit(name[i + 2])) return false;
      i += 2;
    } else if (!name_char(name[i], false)) {
      return false;
    }
  }
  return true;
}

bool port(std::string_view digits) noexcept {
  if (digits.size() > 5) return false;
  unsigned n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  return n <= 65535;
}

}  // namespace

std::optional<std::string_view> authority_host(std::string_view authority) noexcept {
  std::size_t host_end = 0;
  if (authority.starts_with('[')) {
    host_end = authority.find(']');
    if (host_end == std::string_view::npos || host_end == 1) return std::nullopt;
    for (char c : authority.substr(1, host_end - 1))
      if (!name_char(c, true)) return std::nullopt;
    ++host_end;
  } else {
    host_end = std::min(authority.find(':'), authority.size());
    if (!reg_name(authority.substr(0, host_end))) return std::nullopt;
  }
  const std::string_view rest = authority.substr(host_end);
  if (!rest.empty() && (rest.front() != ':' || !port(rest.substr(1)))) return std::nullopt;
  return authority.substr(0, host_end);
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) noexcept {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

std::optional<std::string_view> strip_base(std::string_view path, std::string_view base) noexcept {
  if (base.empty()) return path;
  if (path.substr(0, base.size()) != base) return std::nullopt;
  std::string_view rest = path.substr(base.size());
  if (rest.empty()) return std::string_view("/");
  if (rest.front() != '/') return std::nullopt;
  return rest;
}

Route parse_route(std::string_view path) {
  Route r;
  auto under = [&](std::string_view prefix) {
    if (path.substr(0, prefix.size()) != prefix) return false;
    path.remove_prefix(prefix.size());
    return true;
  };
  const std::string_view full = path;
  if (under("/sse/")) {
    const auto segs = segments(path);
    expect_segments("/sse/", segs, 1);
    r.kind = Route::Kind::Sse;
    r.cid = checked_id("conversation id", segs[0]);
  } else if (under("/event/")) {
    const auto segs = segments(path);
    expect_segments("/event/", segs, 3);
    r.kind = Route::Kind::Event;
    r.cid = checked_id("conversation id", segs[0]);
    r.iid = checked_id("instance id", segs[1]);
    if (!valid_event_name(segs[2]))
      throw BadRequest("bad event name in path: expected 1-128 characters from [A-Za-z0-9_.:-]");
    r.event = std::string(segs[2]);
  } else if (under("/back/")) {
    const auto segs = segments(path);
    expect_segments("/back/", segs, 1);
    r.kind = Route::Kind::Back;
    r.cid = checked_id("conversation id", segs[0]);
  } else if (under("/_stube/")) {
    r.kind = Route::Kind::Asset;
    r.asset = std::string(path);
  } else {
    r.kind = Route::Kind::Path;
    r.path = std::string(full);
  }
  return r;
}

bool requests_stream(std::string_view head, std::string_view base) noexcept try {
  constexpr std::string_view kGet = "GET ";
  if (!head.starts_with(kGet)) return false;
  std::string_view target = head.substr(kGet.size());
  const std::string_view rest =
      target.substr(std::min(target.size(), target.find_first_of(" \r\n")));
  target = target.substr(0, target.size() - rest.size());
  // HTTP/1.0 has no chunks to cut short: such a client gets the plain 503.
  if (rest.starts_with(" HTTP/1.0")) return false;
  const auto origin = origin_form(target);
  if (!origin) return false;
  const auto relative = strip_base(split_target(*origin).first, base);
  return relative && relative->starts_with("/sse/");
} catch (...) {  // out of memory
  return false;
}

}  // namespace stube::server
