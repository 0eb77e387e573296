// The printer: compact pr-str-compatible text, and a pretty form for people.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>

#include "edn/instant.hpp"
#include "edn/node.hpp"
#include "edn/stack_floor.hpp"
#include "edn/utf8.hpp"

namespace stube::edn {

namespace {

using detail::TextNode;

// Thrown where the printer meets the thread's stack floor; write() and
// pretty() turn it into an Error that names the value's depth.
struct OutOfStack {};

// Output buffer over the caller's std::string: raw pointer writes, growth
// checked once per item rather than once per character.
class Out {
 public:
  explicit Out(std::string& s) : s_(s), used_(s.size()), floor_(detail::stack_floor()) {
    s_.resize(used_ + 1024);
    p_ = s_.data() + used_;
    end_ = s_.data() + s_.size();
  }
  ~Out() { s_.resize(static_cast<std::size_t>(p_ - s_.data())); }
  Out(const Out&) = delete;
  Out& operator=(const Out&) = delete;

  [[gnu::always_inline]] char* room(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) [[unlikely]]
      grow(n);
    return p_;
  }
  void advance(char* to) noexcept { p_ = to; }
  [[gnu::always_inline]] void put(char c) { *room(1) = c, ++p_; }
  [[gnu::always_inline]] void put(std::string_view text) {
    char* at = room(text.size());
    std::memcpy(at, text.data(), text.size());
    p_ = at + text.size();
  }
  std::size_t size() const noexcept { return static_cast<std::size_t>(p_ - s_.data()); }
  void truncate(std::size_t n) noexcept { p_ = s_.data() + n; }

  // Called by every level that recurses (collections, tagged values): within
  // max_write_depth a small thread stack can still run out.
  [[gnu::always_inline]] void enter_level() const {
    if (floor_.reached()) [[unlikely]]
      out_of_stack();
  }

 private:
  [[noreturn, gnu::noinline, gnu::cold]] static void out_of_stack() { throw OutOfStack{}; }
  [[gnu::noinline]] void grow(std::size_t n) {
    const std::size_t used = size();
    s_.resize(std::max(s_.size() * 2, used + n + 256));
    p_ = s_.data() + used;
    end_ = s_.data() + s_.size();
  }
  std::string& s_;
  std::size_t used_;
  char* p_;
  char* end_;
  detail::StackFloor floor_;
};

// Escapes exactly the characters Clojure's printer escapes in strings.
constexpr char escape_for(unsigned char c) noexcept {
  switch (c) {
    case '"':
      return '"';
    case '\\':
      return '\\';
    case '\n':
      return 'n';
    case '\t':
      return 't';
    case '\r':
      return 'r';
    case '\b':
      return 'b';
    case '\f':
      return 'f';
    default:
      return 0;
  }
}

struct EscapeTable {
  char to[256] = {};
  constexpr EscapeTable() {
    for (int c = 0; c < 256; ++c) to[c] = escape_for(static_cast<unsigned char>(c));
  }
};
constexpr EscapeTable kEscape;

// True if one of the 8 bytes in `w` may need escaping: a '"', a '\\' or a
// control character (< 0x20, a superset of the escaped ones). Classic
// "has a zero byte" bit tricks; no false negatives.
constexpr bool word_needs_escape(std::uint64_t w) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101u;
  constexpr std::uint64_t kHigh = 0x8080808080808080u;
  const std::uint64_t quote = w ^ (kOnes * '"');
  const std::uint64_t backslash = w ^ (kOnes * '\\');
  const std::uint64_t has_quote = (quote - kOnes) & ~quote;
  const std::uint64_t has_backslash = (backslash - kOnes) & ~backslash;
  const std::uint64_t has_control = (w - kOnes * 0x20) & ~w;
  return ((has_quote | has_backslash | has_control) & kHigh) != 0;
}

void write_string(std::string_view s, Out& out) {
  // Worst case every byte doubles.
  char* p = out.room(s.size() * 2 + 2);
  *p++ = '"';
  const char* in = s.data();
  const char* const end = in + s.size();
  const auto put = [&p](char ch) {
    const char e = kEscape.to[static_cast<unsigned char>(ch)];
    if (e == 0) [[likely]] {
      *p++ = ch;
    } else {
      *p++ = '\\';
      *p++ = e;
    }
  };
  // Most strings need no escaping at all: copy them 8 bytes at a time and
  // look at single bytes only in a word that may hold one to escape.
  while (end - in >= 8) {
    std::uint64_t w;
    std::memcpy(&w, in, 8);
    if (word_needs_escape(w)) {
      for (int i = 0; i < 8; ++i) put(*in++);
    } else {
      std::memcpy(p, in, 8);
      in += 8, p += 8;
    }
  }
  while (in != end) put(*in++);
  *p++ = '"';
  out.advance(p);
}

void write_char(char32_t c, Out& out) {
  switch (c) {
    case '\n':
      out.put("\\newline");
      return;
    case ' ':
      out.put("\\space");
      return;
    case '\t':
      out.put("\\tab");
      return;
    case '\r':
      out.put("\\return");
      return;
    case '\f':
      out.put("\\formfeed");
      return;
    case '\b':
      out.put("\\backspace");
      return;
    default:
      break;
  }
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(c));
    out.put(buf);
    return;
  }
  std::string utf8 = "\\";
  detail::append_utf8(c, utf8);
  out.put(utf8);
}

void write_int(std::int64_t i, Out& out) {
  char* p = out.room(24);
  out.advance(std::to_chars(p, p + 24, i).ptr);
}

// The significant digits and decimal exponent of |d| in to_chars'
// scientific form, with `precision` digits after the point (none: the
// shortest that reads back), trailing zeros dropped.
struct Digits {
  char digits[24];
  std::size_t count = 0;
  int exp = 0;
};
Digits decimal_digits(double d, std::optional<int> precision) {
  char buf[40];
  const auto r =
      precision ? std::to_chars(buf, buf + sizeof buf, std::fabs(d), std::chars_format::scientific,
                                *precision)
                : std::to_chars(buf, buf + sizeof buf, std::fabs(d), std::chars_format::scientific);
  Digits out;  // buf: D[.DDD]e[+-]XX
  const char* e = buf;
  for (; *e != 'e'; ++e)
    if (*e != '.') out.digits[out.count++] = *e;
  while (out.count > 1 && out.digits[out.count - 1] == '0') --out.count;
  std::from_chars(e + 1 + (e[1] == '+'), r.ptr, out.exp);
  return out;
}

// Java's Double.toString over the shortest round-trip digits, laid out in
// plain notation for 1e-3 <= |d| < 1e7, otherwise d.dddE[-]n. Where one
// digit would do, Java takes the closest two (JDK 19 on; Double.MIN_VALUE
// is 4.9E-324, not 5.0E-324): the closest decimal of two digits is never
// farther than the one-digit one, so it reads back to d too.
void write_double(double d, Out& out) {
  if (std::isnan(d)) return out.put("##NaN");
  if (std::isinf(d)) return out.put(d > 0 ? "##Inf" : "##-Inf");
  if (d == 0) return out.put(std::signbit(d) ? "-0.0" : "0.0");
  if (std::signbit(d)) out.put('-');
  Digits shortest = decimal_digits(d, std::nullopt);
  if (shortest.count == 1) shortest = decimal_digits(d, 1);
  const char* digits = shortest.digits;
  const std::size_t nd = shortest.count;
  const int exp = shortest.exp;
  const double mag = std::fabs(d);
  std::string text;
  if (mag >= 1e-3 && mag < 1e7) {
    if (exp >= 0) {
      const std::size_t int_len = static_cast<std::size_t>(exp) + 1;
      for (std::size_t i = 0; i < int_len; ++i) text.push_back(i < nd ? digits[i] : '0');
      text.push_back('.');
      if (nd > int_len)
        text.append(digits + int_len, nd - int_len);
      else
        text.push_back('0');
    } else {
      text.append("0.");
      text.append(static_cast<std::size_t>(-exp - 1), '0');
      text.append(digits, nd);
    }
    return out.put(text);
  }
  text.push_back(digits[0]);
  text.push_back('.');
  if (nd > 1)
    text.append(digits + 1, nd - 1);
  else
    text.push_back('0');
  text.push_back('E');
  text.append(std::to_string(exp));
  out.put(text);
}

// #object[label "0x..."]: a label that is not a valid symbol is made one.
void write_opaque(const Value& v, Out& out) {
  out.put("#object[");
  const std::string_view label = v.opaque_label();
  if (label.empty()) out.put("opaque");
  for (char c : label) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-' || c == ':' || c == '/';
    out.put(ok ? c : '_');
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, " \"%p\"]", static_cast<const void*>(v.node()));
  out.put(buf);
}

constexpr std::size_t kPrefetchMax = 32;

void prefetch(const Value& v) noexcept {
  if (const detail::Node* n = v.node()) __builtin_prefetch(n);
}

std::string_view text_of(const Value& v) noexcept {
  return static_cast<const detail::TextNode*>(v.node())->text();
}

void write_value(const Value& v, Out& out) {
  switch (v.kind()) {
    case Kind::Nil:
      return out.put("nil");
    case Kind::Bool:
      return out.put(v.as_bool() ? "true" : "false");
    case Kind::Int:
      return write_int(v.as_int(), out);
    case Kind::Float:
      return write_double(v.as_double(), out);
    case Kind::BigInt:
      out.put(text_of(v));
      return out.put('N');
    case Kind::Decimal:
      out.put(text_of(v));
      return out.put('M');
    case Kind::Ratio:
      return out.put(text_of(v));
    case Kind::Char:
      return write_char(v.as_char(), out);
    case Kind::String:
      return write_string(text_of(v), out);
    case Kind::Symbol:
      return out.put(text_of(v));
    case Kind::Keyword: {
      const std::string_view t = text_of(v);
      char* p = out.room(t.size() + 1);
      *p = ':';
      std::memcpy(p + 1, t.data(), t.size());
      return out.advance(p + 1 + t.size());
    }
    case Kind::Inst: {
      char* p = out.room(detail::kInstantTextMax + 8);
      std::memcpy(p, "#inst \"", 7);
      p = detail::format_instant(v.as_inst(), p + 7);
      *p++ = '"';
      return out.advance(p);
    }
    case Kind::Uuid: {
      char* p = out.room(36 + 8);
      std::memcpy(p, "#uuid \"", 7);
      p = detail::format_uuid(v.as_uuid(), p + 7);
      *p++ = '"';
      return out.advance(p);
    }
    case Kind::Tagged:
      out.enter_level();
      out.put('#');
      out.put(v.tag());
      out.put(' ');
      return write_value(v.tagged_value(), out);
    case Kind::Opaque:
      return write_opaque(v, out);
    case Kind::Map: {
      out.enter_level();
      out.put('{');
      const std::span<const MapEntry> entries = v.entries();
      // Writing is bound by the wait for each child node: ask for them all
      // at once (most maps are small), so the waits overlap.
      if (entries.size() <= kPrefetchMax) {
        for (const MapEntry& e : entries) prefetch(e.val);
      }
      bool first = true;
      for (const MapEntry& e : entries) {
        if (!first) out.put(", ");
        first = false;
        write_value(e.key, out);
        out.put(' ');
        write_value(e.val, out);
      }
      return out.put('}');
    }
    case Kind::List:
    case Kind::Vector:
    case Kind::Set: {
      out.enter_level();
      out.put(v.kind() == Kind::List ? "(" : v.kind() == Kind::Vector ? "[" : "#{");
      const std::span<const Value> items = v.items();
      if (items.size() <= kPrefetchMax) {
        for (const Value& item : items) prefetch(item);
      }
      bool first = true;
      for (const Value& item : items) {
        if (!first) out.put(' ');
        first = false;
        write_value(item, out);
      }
      return out.put(v.kind() == Kind::List ? ')' : v.kind() == Kind::Vector ? ']' : '}');
    }
  }
}

// --- pretty -------------------------------------------------------------------

// The width of `v` written compactly if it is at most `limit`, else some
// number above `limit`. Pretty printing asks this at every level, so it
// costs no more than about `limit` bytes of writing, however large `v` is:
// writing each level out in full made pretty O(depth × size).
std::size_t width_upto(const Value& v, std::size_t limit, Out& out) {
  out.enter_level();
  const std::size_t over = limit + 1;
  std::size_t w = 0;
  const auto add = [&](std::size_t n) {
    w = n > limit - w ? over : w + n;
    return w <= limit;
  };
  const auto add_value = [&](const Value& x) { return add(width_upto(x, limit - w, out)); };
  switch (v.kind()) {
    case Kind::Map: {
      if (!add(2 + 2 * (v.size() > 0 ? v.size() - 1 : 0))) return over;  // "{" "}" and ", "s
      for (const MapEntry& e : v.entries())
        if (!add_value(e.key) || !add(1) || !add_value(e.val)) return over;
      return w;
    }
    case Kind::Vector:
    case Kind::List:
    case Kind::Set: {
      if (!add((v.is(Kind::Set) ? 3 : 2) + (v.size() > 0 ? v.size() - 1 : 0))) return over;
      for (const Value& item : v.items())
        if (!add_value(item)) return over;
      return w;
    }
    case Kind::Tagged:
      if (!add(2 + v.tag().size())) return over;  // "#tag "
      return add_value(v.tagged_value()) ? w : over;
    // Text that is at least as long as it is stored (escapes only add).
    case Kind::String:
      if (v.as_string().size() > limit) return over;
      break;
    case Kind::Keyword:
      if (v.as_keyword().size() > limit) return over;
      break;
    case Kind::Symbol:
      if (v.as_symbol().size() > limit) return over;
      break;
    case Kind::BigInt:
    case Kind::Decimal:
    case Kind::Ratio:
      if (v.number_text().size() > limit) return over;
      break;
    default:
      break;
  }
  // A scalar no longer than about `limit`: write it and take it back.
  const std::size_t mark = out.size();
  write_value(v, out);
  w = out.size() - mark;
  out.truncate(mark);
  return w;
}

void pretty_value(const Value& v, std::size_t indent, std::size_t width, Out& out) {
  out.enter_level();
  const bool is_coll = v.is(Kind::Map) || v.is(Kind::Vector) || v.is(Kind::List) || v.is(Kind::Set);
  if (!is_coll || v.empty() ||
      (indent <= width && width_upto(v, width - indent, out) <= width - indent)) {
    write_value(v, out);
    return;
  }
  const std::string_view open = v.is(Kind::Map)      ? "{"
                                : v.is(Kind::Vector) ? "["
                                : v.is(Kind::List)   ? "("
                                                     : "#{";
  out.put(open);
  const std::size_t inner = indent + open.size();
  bool first = true;
  auto newline = [&] {
    if (!first) {
      if (v.is(Kind::Map)) out.put(',');
      out.put('\n');
      out.put(std::string(inner, ' '));
    }
    first = false;
  };
  if (v.is(Kind::Map)) {
    for (const MapEntry& e : v.entries()) {
      newline();
      const std::size_t key_mark = out.size();
      write_value(e.key, out);
      out.put(' ');
      pretty_value(e.val, inner + (out.size() - key_mark), width, out);
    }
  } else {
    for (const Value& item : v.items()) {
      newline();
      pretty_value(item, inner, width, out);
    }
  }
  out.put(v.is(Kind::Map) || v.is(Kind::Set) ? "}" : v.is(Kind::Vector) ? "]" : ")");
}

// Before any output: a value too deep to print is refused whole.
void check_depth(const Value& v) {
  if (v.depth() <= max_write_depth) return;
  throw Error("edn: cannot write a value nested " +
              (v.depth() >= 65535 ? std::string("65535 or more") : std::to_string(v.depth())) +
              " levels deep: the limit is " + std::to_string(max_write_depth) +
              " (edn::max_write_depth, what edn::read accepts by default)");
}

// The thread's stack ran out before the value did: nothing was written.
[[noreturn, gnu::cold]] void fail_out_of_stack(const Value& v) {
  throw Error("edn: cannot write a value nested " + std::to_string(v.depth()) +
              " levels deep on this thread: its stack is too small (writing values near "
              "edn::max_write_depth needs about 512 KiB of stack; the value is fine)");
}

}  // namespace

void write(const Value& v, std::string& out) {
  check_depth(v);
  const std::size_t mark = out.size();
  try {
    Out o(out);
    write_value(v, o);
  } catch (const OutOfStack&) {
    out.resize(mark);
    fail_out_of_stack(v);
  }
}

std::string write(const Value& v) {
  std::string out;
  write(v, out);
  return out;
}

std::string pretty(const Value& v, std::size_t width) {
  check_depth(v);
  std::string out;
  try {
    Out o(out);  // must flush (destruct) before out is returned
    pretty_value(v, 0, width, o);
  } catch (const OutOfStack&) {
    fail_out_of_stack(v);
  }
  return out;
}

}  // namespace stube::edn
