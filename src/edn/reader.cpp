// The reader: EDN text -> Value. Safe on any bytes: UTF-8 is validated while
// strings, names and comments are scanned, nesting is bounded, nothing is
// evaluated, and every error is a ParseError with line and column.
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "edn/decimal.hpp"
#include "edn/instant.hpp"
#include "edn/names.hpp"
#include "edn/node.hpp"
#include "edn/ratio.hpp"
#include "edn/stack_floor.hpp"
#include "edn/utf8.hpp"

namespace stube::edn {

namespace {

constexpr bool whitespace_char(char c) noexcept {
  return c == ' ' || c == ',' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

// Characters that end a token (number, symbol, keyword, character name).
constexpr bool delimiter_char(char c) noexcept {
  switch (c) {
    case '"':
    case ';':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
    case '\\':
    case '@':
    case '^':
    case '`':
    case '~':
      return true;
    default:
      return whitespace_char(c);
  }
}

// What skip_whitespace does with a byte: stop, step over it, or look closer
// (';' starts a comment, '#' may start a #_ discard).
enum : unsigned char { kStop = 0, kSpace = 1, kCloser = 2 };

// How take_token sees a byte: it ends the token, or needs a UTF-8 check.
enum : unsigned char { kDelimiter = 1, kNonAscii = 2 };

struct CharClass {
  bool whitespace[256] = {};
  bool delimiter[256] = {};
  unsigned char skip[256] = {};
  unsigned char token[256] = {};
  constexpr CharClass() {
    for (int c = 0; c < 256; ++c) {
      whitespace[c] = whitespace_char(static_cast<char>(c));
      delimiter[c] = delimiter_char(static_cast<char>(c));
      skip[c] = whitespace[c] ? kSpace : (c == ';' || c == '#') ? kCloser : kStop;
      token[c] = delimiter[c] ? kDelimiter : c >= 0x80 ? kNonAscii : 0;
    }
  }
};
constexpr CharClass kClass;

bool is_delimiter(char c) noexcept {
  return kClass.delimiter[static_cast<unsigned char>(c)];
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// Input text shown in an error: the first `max` bytes (not cutting a
// character: the message stays UTF-8), so that a megabyte-long token makes
// no megabyte message.
std::string clipped(std::string_view s, std::size_t max = 40) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "...";
}

std::string quoted(std::string_view s) {
  return "'" + clipped(s) + "'";
}

class Reader {
 public:
  Reader(std::string_view text, const ReadOptions& options)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), options_(options) {}

  Value read_document() {
    skip_whitespace();
    if (p_ == end_) fail("unexpected end of input, expected a value");
    Value v = read_value();
    skip_whitespace();
    if (p_ != end_)
      fail("unexpected " + describe_here() + " after the value (expected end of input)");
    return v;
  }

  // Zero or more values, as clojure.edn reads a stream until its end.
  std::vector<Value> read_stream() {
    std::vector<Value> values;
    for (skip_whitespace(); p_ != end_; skip_whitespace()) values.push_back(read_value());
    return values;
  }

 private:
  // --- errors ----------------------------------------------------------------
  // Errors are built in out-of-line functions: the reader recurses once per
  // nesting level, and string temporaries inlined into those frames would
  // make each level's stack frame large (notably under AddressSanitizer).
  [[noreturn, gnu::noinline, gnu::cold]] void fail(const std::string& reason) const {
    fail_at(p_, reason);
  }
  [[noreturn, gnu::noinline, gnu::cold]] void fail(const char* reason) const {
    fail_at(p_, std::string(reason));
  }
  [[noreturn, gnu::noinline, gnu::cold]] void fail_at(const char* at, const char* reason) const {
    fail_at(at, std::string(reason));
  }

  // UTF-8 is validated as strings, names and comments are scanned, so
  // invalid bytes further on may not have been seen yet: like a validation
  // pass up front, the first invalid byte of the input wins over any other
  // error.
  [[noreturn, gnu::noinline, gnu::cold]] void fail_at(const char* at,
                                                      const std::string& reason) const {
    if (const std::size_t bad = detail::find_invalid_utf8(begin_, end_);
        bad != std::string_view::npos) {
      auto [line, column] = position(begin_ + bad);
      throw ParseError(
          line, column,
          "invalid UTF-8 (byte 0x" + hex_byte(static_cast<unsigned char>(begin_[bad])) + ")");
    }
    auto [line, column] = position(at);
    throw ParseError(line, column, detail::sanitize_utf8(without_controls(reason)));
  }

  [[noreturn, gnu::noinline, gnu::cold]] void fail_utf8(const char* at) const {
    fail_at(at, "invalid UTF-8");  // fail_at finds and names the byte
  }

  // Bytes >= 0x80 only occur in strings, names, character literals and
  // comments, each of which checks its text here.
  void check_utf8(const char* from, const char* to) const {
    if (detail::find_invalid_utf8(from, to) != std::string_view::npos) fail_utf8(from);
  }

  [[noreturn, gnu::noinline, gnu::cold]] void fail_unterminated(const char* what, char close,
                                                                const char* open) const {
    fail("unterminated " + std::string(what) + " (opened at " + where(open) + "): expected '" +
         std::string(1, close) + "' but input ended");
  }

  static bool is_closer(char c) { return c == ')' || c == ']' || c == '}'; }

  // "[1 2}": the closer of another kind of collection.
  [[noreturn, gnu::noinline, gnu::cold]] void fail_mismatched(const char* what, char close,
                                                              const char* open) const {
    fail("unexpected '" + std::string(1, *p_) + "': the " + what + " opened at " + where(open) +
         " ends with '" + std::string(1, close) + "'");
  }

  // "[#_ ]", "[#inst ]": the prefix at `start` still needs its form.
  [[noreturn, gnu::noinline, gnu::cold]] void fail_closer_after(const char* start,
                                                                const std::string& needed) const {
    fail("unexpected '" + std::string(1, *p_) + "': expected " + needed + " (at " + where(start) +
         ")");
  }

  [[noreturn, gnu::noinline, gnu::cold]] void fail_unexpected_closer() const {
    fail("unexpected '" + std::string(1, *p_) + "' (no collection is open here)");
  }

  [[noreturn, gnu::noinline, gnu::cold]] void fail_depth(const char* at) const {
    fail_at(at,
            "nesting depth exceeds the limit of " + std::to_string(options_.max_depth) + " levels");
  }

  // `what` ("key", "element") is `value`, twice in the `where` ("map", "set").
  [[noreturn, gnu::noinline, gnu::cold]] void fail_duplicate(const char* open, const char* what,
                                                             const Value& value,
                                                             const char* where) const {
    // The value as printed, cut short: it may be huge, or (with a raised
    // max_depth) too deep for write(), and the error must still be a
    // ParseError with its position.
    constexpr std::size_t kMax = 60;
    std::string text;
    try {
      text = write(value);
    } catch (const Error&) {
      text = std::string("(a ") + what + " nested too deep to print)";
    }
    fail_at(open, std::string("duplicate ") + what + " " + clipped(text, kMax) + " in the " +
                      where + " opened here");
  }

  [[noreturn, gnu::noinline, gnu::cold]] void fail_tag(const char* at, std::string_view tag,
                                                       const char* why) const {
    fail_at(at, "invalid tag #" + clipped(tag) + ": " + why);
  }

  [[noreturn, gnu::noinline, gnu::cold]] void fail_text(const char* at, const char* before,
                                                        std::string_view text,
                                                        const char* after) const {
    fail_at(at, std::string(before) + clipped(text) + after);
  }

  std::pair<std::size_t, std::size_t> position(const char* at) const {
    std::size_t line = 1, column = 1;
    for (const char* q = begin_; q < at && q < end_; ++q) {
      // A line ends at "\n", "\r\n" or a lone "\r" (which also ends a comment).
      if (*q == '\n' || (*q == '\r' && (q + 1 == end_ || q[1] != '\n'))) {
        ++line;
        column = 1;
      } else if ((static_cast<unsigned char>(*q) & 0xC0) != 0x80) {
        ++column;
      }
    }
    return {line, column};
  }

  std::string where(const char* at) const {
    auto [line, column] = position(at);
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
  }

  static std::string hex_byte(unsigned char c) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    return {kHex[c >> 4], kHex[c & 15]};
  }

  // A reason may quote the input (a token, an escape): its control bytes
  // are written \xNN, so that the message stays one line on a terminal or
  // in a log, and a NUL does not cut what() short.
  static std::string without_controls(std::string_view reason) {
    std::string out;
    out.reserve(reason.size());
    for (const char ch : reason) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == 0x7F)
        out.append("\\x").append(hex_byte(c));
      else
        out.push_back(ch);
    }
    return out;
  }

  std::string describe_here() const {
    if (p_ == end_) return "end of input";
    const auto c = static_cast<unsigned char>(*p_);
    if (c < 0x20 || c == 0x7F) return "control character 0x" + hex_byte(c);
    const std::size_t len = detail::utf8_length(c);
    return "'" + std::string(p_, std::min<std::size_t>(len, static_cast<std::size_t>(end_ - p_))) +
           "'";
  }

  // --- whitespace, comments, #_ ----------------------------------------------
  // Inline: between two forms there is usually one space or none.
  [[gnu::always_inline]] void skip_whitespace() {
    while (p_ != end_) {
      const unsigned char what = kClass.skip[static_cast<unsigned char>(*p_)];
      if (what == kStop) return;
      if (what == kSpace) {
        ++p_;
      } else if (!skip_comment_or_discard()) {
        return;
      }
    }
  }

  // At ';' or '#': skips a comment or a #_ form; false if it is neither.
  [[gnu::noinline]] bool skip_comment_or_discard() {
    const char c = *p_;
    if (c == ';') {
      // Like Clojure, a comment ends at a line feed or a carriage return.
      const char* stop = std::find_if(p_, end_, [](char ch) { return ch == '\n' || ch == '\r'; });
      check_utf8(p_, stop);
      p_ = stop == end_ ? end_ : stop + 1;
      return true;
    }
    if (c == '#' && p_ + 1 != end_ && p_[1] == '_') {
      const char* start = p_;
      p_ += 2;
      enter(start);
      ++discarding_;
      skip_whitespace();
      if (p_ == end_) fail_at(start, "expected a form after #_ but input ended");
      if (is_closer(*p_)) fail_closer_after(start, "a form after #_");
      read_value();  // read fully (syntax still checked), then dropped
      --discarding_;
      leave();
      return true;
    }
    return false;
  }

  void enter(const char* at) {
    if (++depth_ > options_.max_depth) fail_depth(at);
    // The depth limit bounds the recursion, but the stack it needs depends on
    // the build and on the calling thread's stack size: also stop well
    // before the stack actually runs out.
    if (detail::stack_floor().reached()) fail_stack(at);
  }

  [[noreturn, gnu::noinline, gnu::cold]] void fail_stack(const char* at) const {
    const std::string reason = "nesting depth " + std::to_string(depth_) +
                               " exceeds what this thread's stack can hold (the limit is "
                               "max_depth = " +
                               std::to_string(options_.max_depth) + ")";
    // Invalid text stays a plain ParseError, wherever it is read.
    if (detail::find_invalid_utf8(begin_, end_) != std::string_view::npos) fail_at(at, reason);
    auto [line, column] = position(at);
    throw StackExhausted(line, column, reason);
  }
  void leave() noexcept { --depth_; }

  // --- values --------------------------------------------------------------------
  Value read_value() {
    switch (*p_) {
      case '"':
        return read_string();
      case ':':
        return read_keyword();
      case '\\':
        return read_char();
      case '[':
        return read_seq(Kind::Vector, ']', 1);
      case '(':
        return read_seq(Kind::List, ')', 1);
      case '{':
        return read_map(1, {});
      case '#':
        return read_dispatch();
      case ')':
      case ']':
      case '}':
        fail_unexpected_closer();
      default:
        break;
    }
    if (is_digit(*p_) || ((*p_ == '+' || *p_ == '-') && p_ + 1 != end_ && is_digit(p_[1])))
      return read_number();
    return read_symbol();
  }

  // The string's bytes were validated as UTF-8 while scanning (and escapes
  // produce valid UTF-8), so strings skip Value's own check.
  static Value make_string(std::string_view s) {
    return Value::from_node(Kind::String, detail::new_text(Kind::String, s));
  }

  std::string_view take_token() {
    const char* start = p_;
    // Tokens (mostly keywords) are the most frequent thing the reader
    // scans: four bytes per bounds check. The scan also stops at bytes
    // >= 0x80, which are checked as UTF-8 on the spot (one sequence) and
    // are part of the token.
    const auto plain = [&](std::size_t i) {
      return kClass.token[static_cast<unsigned char>(p_[i])] == 0;
    };
    for (;;) {
      while (end_ - p_ >= 4 && plain(0) && plain(1) && plain(2) && plain(3)) p_ += 4;
      while (p_ != end_ && plain(0)) ++p_;
      if (p_ == end_ || is_delimiter(*p_)) break;
      const std::size_t len = detail::utf8_sequence_length(p_, end_);
      if (len == 0) fail_utf8(p_);
      p_ += len;
    }
    return {start, static_cast<std::size_t>(p_ - start)};
  }

  [[gnu::noinline]] Value read_seq(Kind kind, char close, std::size_t open_len) {
    const char* open = p_;
    enter(open);
    p_ += open_len;
    const std::size_t base = stack_.size();
    read_items_until(close, open,
                     kind == Kind::Set    ? "set"
                     : kind == Kind::List ? "list"
                                          : "vector");
    Value result;
    if (kind == Kind::Set) {
      bool dup = false;
      Value dup_element;
      result = detail::make_set(stack_.data() + base, stack_.size() - base, &dup, &dup_element);
      if (dup && !discarding_) fail_duplicate(open, "element", dup_element, "set");
    } else {
      result = detail::make_seq(kind, stack_.data() + base, stack_.size() - base);
    }
    stack_.resize(base);
    leave();
    return result;
  }

  void read_items_until(char close, const char* open, const char* what) {
    for (;;) {
      skip_whitespace();
      if (p_ == end_) fail_unterminated(what, close, open);
      if (*p_ == close) {
        ++p_;
        return;
      }
      if (is_closer(*p_)) fail_mismatched(what, close, open);
      stack_.push_back(read_value());
    }
  }

  // ns: for #:ns{...} maps, the namespace given to unqualified keys.
  [[gnu::noinline]] Value read_map(std::size_t open_len, std::string_view ns,
                                   const char* open = nullptr) {
    if (!open) open = p_;
    enter(open);
    p_ += open_len;
    // Entries are read straight into their own scratch stack (nested maps
    // stack above this one), so make_map can sort them in place.
    const std::size_t base = entries_.size();
    for (;;) {
      skip_whitespace();
      if (p_ == end_) fail_unterminated("map", '}', open);
      if (*p_ == '}') {
        ++p_;
        break;
      }
      if (is_closer(*p_)) fail_mismatched("map", '}', open);
      const char* key_at = p_;
      Value key = read_value();
      // A discarded form is read, not interpreted (as its duplicates).
      if (!ns.empty() && !discarding_) key = qualify_or_fail(std::move(key), ns, key_at);
      skip_whitespace();
      if (p_ == end_) fail_unterminated("map", '}', open);
      if (*p_ == '}')
        fail_at(open, "the map opened here has an odd number of forms (a key without a value)");
      if (is_closer(*p_)) fail_mismatched("map", '}', open);
      Value val = read_value();
      entries_.push_back(MapEntry{std::move(key), std::move(val)});
    }
    bool dup = false;
    Value dup_key;
    Value result = detail::make_map(entries_.data() + base, entries_.size() - base, &dup, &dup_key);
    entries_.resize(base);
    if (dup && !discarding_) fail_duplicate(open, "key", dup_key, "map");
    leave();
    return result;
  }

  [[gnu::noinline]] Value qualify_or_fail(Value key, std::string_view ns, const char* at) const {
    try {
      return qualify(std::move(key), ns);
    } catch (const TypeError& e) {
      fail_at(at, std::string("invalid key in namespaced map: ") + e.what());
    }
  }

  static Value qualify(Value key, std::string_view ns) {
    if (!key.is(Kind::Keyword) && !key.is(Kind::Symbol)) return key;
    const Kind k = key.kind();
    std::string_view key_ns = key.ns();
    const std::string name(key.name());
    if (key_ns == "_") return k == Kind::Keyword ? Value::keyword(name) : Value::symbol(name);
    if (!key_ns.empty()) return key;
    const std::string full = std::string(ns) + "/" + name;
    return k == Kind::Keyword ? Value::keyword(full) : Value::symbol(full);
  }

  [[gnu::noinline]] Value read_dispatch() {
    const char* start = p_;
    if (p_ + 1 == end_) fail("expected a dispatch character after '#' but input ended");
    const char c = p_[1];
    if (c == '{') return read_seq(Kind::Set, '}', 2);
    if (c == '#') {
      p_ += 2;
      skip_whitespace();  // as Clojure: "## Inf" is ##Inf
      const std::string_view tok = take_token();
      if (tok == "Inf") return Value(std::numeric_limits<double>::infinity());
      if (tok == "-Inf") return Value(-std::numeric_limits<double>::infinity());
      if (tok == "NaN") return Value(std::numeric_limits<double>::quiet_NaN());
      fail_text(start, "unknown symbolic value ##", tok, " (expected ##Inf, ##-Inf or ##NaN)");
    }
    if (c == ':') return read_namespaced_map();
    // A tag starts with an ASCII letter, or any character beyond ASCII
    // (Clojure reads only letters up to U+00FF there: see docs/edn.md).
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80)
      return read_tagged();
    fail_text(p_, "unsupported dispatch '#", std::string_view(p_ + 1, 1),
              "' (EDN has #{, #_, ##, #: and #tag)");
  }

  [[gnu::noinline]] Value read_namespaced_map() {
    const char* start = p_;
    p_ += 2;
    const std::string_view ns = take_token();
    std::uint32_t ns_len = 0;
    if (ns.empty() || ns.find('/') != std::string_view::npos ||
        detail::check_name(ns, false, &ns_len))
      fail_text(start, "invalid namespace '", ns, "' in namespaced map");
    skip_whitespace();
    if (p_ == end_ || *p_ != '{') fail_text(p_, "expected '{' after #:", ns, "");
    return read_map(1, ns, start);
  }

  [[gnu::noinline]] Value read_tagged() {
    const char* start = p_;
    ++p_;
    const std::string_view tag = take_token();
    std::uint32_t ns_len = 0;
    const bool builtin = tag == "inst" || tag == "uuid";  // valid names: no check needed
    if (tag == "nil" || tag == "true" || tag == "false")
      fail_tag(start, tag, "a tag must be a symbol");
    if (const char* why = builtin ? nullptr : detail::check_name(tag, false, &ns_len))
      fail_tag(start, tag, why);
    enter(start);
    skip_whitespace();
    if (p_ == end_) fail_text(start, "expected a value after the tag #", tag, " but input ended");
    if (is_closer(*p_)) fail_closer_after(start, "a value after the tag #" + clipped(tag));
    if (!discarding_ && *p_ == '"' && builtin) {
      // The usual #inst "..." / #uuid "...": parsed in place, no string node.
      const char* stop = scan_string(p_ + 1);
      if (stop != end_ && *stop == '"') {
        const std::string_view text(p_ + 1, static_cast<std::size_t>(stop - p_ - 1));
        p_ = stop + 1;
        leave();
        return tag == "inst" ? make_inst(text, start) : make_uuid(text, start);
      }
    }
    Value inner = read_value();
    leave();
    if (discarding_) return Value();  // #_ never interprets tags
    if (tag == "inst") return make_inst(inner, start);
    if (tag == "uuid") return make_uuid(inner, start);
    try {
      return Value::tagged(tag, std::move(inner));
    } catch (const TypeError& e) {
      fail_tag(start, tag, e.what());
    }
  }

  [[gnu::noinline]] Value make_inst(const Value& inner, const char* at) const {
    if (!inner.is(Kind::String))
      fail_at(at, "#inst expects a string, got " + kind_phrase(inner.kind()));
    return make_inst(inner.as_string(), at);
  }

  Value make_inst(std::string_view text, const char* at) const {
    Instant t;
    if (const char* why = detail::parse_instant(text, &t))
      fail_at(at, "invalid #inst \"" + clipped(text) + "\": " + why);
    return Value(t);
  }

  [[gnu::noinline]] Value make_uuid(const Value& inner, const char* at) const {
    if (!inner.is(Kind::String))
      fail_at(at, "#uuid expects a string, got " + kind_phrase(inner.kind()));
    return make_uuid(inner.as_string(), at);
  }

  Value make_uuid(std::string_view text, const char* at) const {
    Uuid u;
    if (const char* why = detail::parse_uuid(text, &u))
      fail_at(at, "invalid #uuid \"" + clipped(text) + "\": " + why);
    return Value(u);
  }

  // --- strings -------------------------------------------------------------------
  [[gnu::noinline]] Value read_string() {
    const char* open = p_++;
    const char* stop = scan_string(p_);
    if (stop != end_ && *stop == '"') {  // no escapes: no copy
      Value v = make_string(std::string_view(p_, static_cast<std::size_t>(stop - p_)));
      p_ = stop + 1;
      return v;
    }
    buf_.clear();
    for (;;) {
      buf_.append(p_, stop);
      p_ = stop;
      if (p_ == end_) fail_at(open, "unterminated string: expected '\"' but input ended");
      if (*p_ == '"') {
        ++p_;
        return make_string(buf_);
      }
      read_escape();
      stop = scan_string(p_);
    }
  }

  // The first '"' or '\\' at or after q (or end_), checking UTF-8 on the
  // way: one pass over the string's bytes.
  const char* scan_string(const char* q) const {
    for (;;) {
      q = skip_plain_ascii(q);
      if (q == end_ || *q == '"' || *q == '\\') return q;
      const std::size_t len = detail::utf8_sequence_length(q, end_);
      if (len == 0) fail_utf8(q);
      q += len;
    }
  }

  // The first '"', '\\' or byte >= 0x80 at or after q (or end_), eight bytes
  // at a time: a byte b is flagged by the zero-byte trick on b ^ '"' and
  // b ^ '\\' and by its own top bit. The trick can only misfire above a true
  // hit, so the lowest flag is exact.
  const char* skip_plain_ascii(const char* q) const {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
    while (end_ - q >= 8) {
      std::uint64_t w;
      std::memcpy(&w, q, 8);
      const std::uint64_t quote = w ^ (kOnes * '"'), slash = w ^ (kOnes * '\\');
      const std::uint64_t hits =
          (((quote - kOnes) & ~quote) | ((slash - kOnes) & ~slash) | w) & kHigh;
      if (hits) return q + (__builtin_ctzll(hits) >> 3);
      q += 8;
    }
    while (q != end_ && *q != '"' && *q != '\\' && static_cast<unsigned char>(*q) < 0x80) ++q;
    return q;
  }

  [[gnu::noinline]] void read_escape() {
    const char* at = p_++;
    if (p_ == end_) fail_at(at, "unterminated escape sequence at end of input");
    const char c = *p_++;
    switch (c) {
      case '"':
        buf_.push_back('"');
        return;
      case '\\':
        buf_.push_back('\\');
        return;
      case 'n':
        buf_.push_back('\n');
        return;
      case 't':
        buf_.push_back('\t');
        return;
      case 'r':
        buf_.push_back('\r');
        return;
      case 'b':
        buf_.push_back('\b');
        return;
      case 'f':
        buf_.push_back('\f');
        return;
      case 'u': {
        char32_t cp = read_hex4(at);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
            const char* low_at = p_;
            p_ += 2;
            const char32_t low = read_hex4(low_at);
            if (low < 0xDC00 || low > 0xDFFF)
              fail_at(at, "lone surrogate in \\u escape (high surrogate without a low one)");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else {
            fail_at(at, "lone surrogate in \\u escape (high surrogate without a low one)");
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          fail_at(at, "lone surrogate in \\u escape (low surrogate without a high one)");
        }
        detail::append_utf8(cp, buf_);
        return;
      }
      default:
        break;
    }
    if (c >= '0' && c <= '7') {
      unsigned v = static_cast<unsigned>(c - '0');
      // Like Clojure: up to two more digits, ended early only by the end of
      // the text, whitespace or a macro character; "\1a" is an error.
      for (int i = 0; i < 2 && p_ != end_ && !ends_octal_escape(); ++i) {
        if (*p_ < '0' || *p_ > '7')
          fail_at(at, "invalid digit " + describe_here() + " in octal escape");
        v = v * 8 + static_cast<unsigned>(*p_++ - '0');
      }
      if (v > 0377) fail_at(at, "octal escape out of range (max \\377)");
      detail::append_utf8(v, buf_);
      return;
    }
    fail_at(at, "unknown escape sequence '\\" + std::string(1, c) +
                    "' in string (expected \\\" \\\\ \\n \\t \\r \\b \\f \\uXXXX or octal)");
  }

  // Where Clojure's octal string escape ends early (readUnicodeChar): at
  // whitespace as Java has it, the comma, or a macro character of its EDN
  // reader. Anything else after the first digit must be an octal digit.
  bool ends_octal_escape() const {
    const auto c = static_cast<unsigned char>(*p_);
    if (c < 0x80) {
      static constexpr std::string_view kEnds = "\";^()[]{}\\#, \t\n\v\f\r\x1c\x1d\x1e\x1f";
      return kEnds.find(static_cast<char>(c)) != std::string_view::npos;
    }
    return detail::has_unicode_space(
        std::string_view(p_, std::min<std::size_t>(3, static_cast<std::size_t>(end_ - p_))));
  }

  char32_t read_hex4(const char* at) {
    if (end_ - p_ < 4) fail_at(at, "\\u escape needs 4 hex digits");
    char32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) fail_at(at, "\\u escape needs 4 hex digits");
      v = v * 16 + static_cast<char32_t>(d);
    }
    return v;
  }

  // --- characters ------------------------------------------------------------------
  [[gnu::noinline]] Value read_char() {
    const char* start = p_++;
    if (p_ == end_) fail_at(start, "expected a character after '\\' but input ended");
    // The first code point is taken whatever it is (\( \" \\ are chars).
    const std::size_t first_len = std::min(detail::utf8_length(static_cast<unsigned char>(*p_)),
                                           static_cast<std::size_t>(end_ - p_));
    const char* tok_begin = p_;
    p_ += first_len;
    while (p_ != end_ && !is_delimiter(*p_)) ++p_;
    check_utf8(tok_begin, p_);
    const std::string_view tok(tok_begin, static_cast<std::size_t>(p_ - tok_begin));
    if (tok.size() == first_len) {
      const char32_t c = detail::decode_utf8(tok);
      return Value::character(c);
    }
    if (tok == "newline") return Value::character('\n');
    if (tok == "space") return Value::character(' ');
    if (tok == "tab") return Value::character('\t');
    if (tok == "return") return Value::character('\r');
    if (tok == "formfeed") return Value::character('\f');
    if (tok == "backspace") return Value::character('\b');
    if (tok.size() == 5 && tok[0] == 'u') {
      char32_t v = 0;
      for (char c : tok.substr(1)) {
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) fail_at(start, "invalid character literal \\" + std::string(tok));
        v = v * 16 + static_cast<char32_t>(d);
      }
      if (v >= 0xD800 && v <= 0xDFFF)
        fail_at(start, "character literal \\" + std::string(tok) + " is a lone surrogate");
      return Value::character(v);
    }
    if (tok.size() >= 2 && tok.size() <= 4 && tok[0] == 'o') {
      unsigned v = 0;
      for (char c : tok.substr(1)) {
        if (c < '0' || c > '7') fail_at(start, "invalid character literal \\" + std::string(tok));
        v = v * 8 + static_cast<unsigned>(c - '0');
      }
      if (v > 0377) fail_at(start, "octal character literal out of range (max \\o377)");
      return Value::character(v);
    }
    fail_at(start, "unsupported character literal \\" + clipped(tok) +
                       " (expected one character, \\newline, \\space, \\tab, \\return, \\formfeed, "
                       "\\backspace, \\uXXXX or \\oNNN)");
  }

  // --- names ------------------------------------------------------------------------
  [[gnu::noinline]] Value read_keyword() {
    const char* start = p_++;
    const std::string_view tok = take_token();
    if (tok.empty()) fail_at(start, "expected a keyword name after ':'");
    if (tok.front() == ':')
      fail_at(start, "auto-resolved keywords (::" + clipped(tok.substr(1)) + ") are not EDN");
    Value v;
    if (const char* why = detail::make_name(Kind::Keyword, tok, &v))
      fail_at(start, "invalid keyword :" + clipped(tok) + ": " + why);
    return v;
  }

  [[gnu::noinline]] Value read_symbol() {
    const char* start = p_;
    if (!detail::is_name_char(static_cast<unsigned char>(*p_)) || *p_ == ':' || *p_ == '#')
      fail("unexpected " + describe_here() + ", expected a value");
    const std::string_view tok = take_token();
    if (tok == "nil") return Value();
    if (tok == "true") return Value(true);
    if (tok == "false") return Value(false);
    for (const char& c : tok)
      if (!detail::is_name_char(static_cast<unsigned char>(c)))
        fail_at(&c, "invalid character in symbol " + quoted(tok));
    Value v;
    if (const char* why = detail::make_name(Kind::Symbol, tok, &v))
      fail_at(start, "invalid symbol " + quoted(tok) + ": " + why);
    return v;
  }

  // --- numbers ------------------------------------------------------------------------
  // Most numbers are small integers: up to 18 digits cannot overflow.
  Value read_number() {
    const char* q = p_;
    const bool negative = *q == '-';
    if (negative) ++q;
    const char* digits = q;
    std::int64_t v = 0;
    while (q != end_ && q - digits < 18 && is_digit(*q)) v = v * 10 + (*q++ - '0');
    if (q != digits && (q == end_ || is_delimiter(*q)) && (*digits != '0' || q - digits == 1)) {
      p_ = q;
      return Value(negative ? -v : v);
    }
    return read_any_number();
  }

  [[gnu::noinline]] Value read_any_number() {
    const char* start = p_;
    const std::string_view tok = take_token();
    std::string_view body = tok;
    const bool negative = body.front() == '-';
    if (body.front() == '+' || body.front() == '-') body.remove_prefix(1);
    auto bad = [&](const char* why) -> Value {
      fail_at(start, "invalid number " + quoted(tok) + ": " + why);
    };

    if (const auto slash = body.find('/'); slash != std::string_view::npos) {
      const std::string_view num = body.substr(0, slash), den = body.substr(slash + 1);
      if (!all_digits(num) || !all_digits(den)) return bad("a ratio is digits/digits");
      Value v;
      if (const char* why = detail::make_ratio(negative, num, den, &v)) return bad(why);
      return v;
    }
    if (body.back() == 'N') {
      body.remove_suffix(1);
      if (!all_digits(body)) return bad("expected digits before N");
      // As for plain integers: Clojure would read 007N as octal.
      if (body.size() > 1 && body.front() == '0') return bad("leading zeros are not allowed");
      return Value::big_int(tok.front() == '+' ? tok.substr(1, tok.size() - 2)
                                               : tok.substr(0, tok.size() - 1));
    }
    if (body.back() == 'M') {
      if (!valid_float(body.substr(0, body.size() - 1))) return bad("expected a decimal before M");
      if (const char* why = detail::decimal_range_problem(body.substr(0, body.size() - 1)))
        return bad(why);
      return Value::decimal(tok.front() == '+' ? tok.substr(1, tok.size() - 2)
                                               : tok.substr(0, tok.size() - 1));
    }
    if (body.find_first_of(".eE") != std::string_view::npos) {
      if (!valid_float(body)) return bad("malformed floating-point number");
      return Value(parse_double(tok.front() == '+' ? tok.substr(1) : tok));
    }
    if (!all_digits(body)) return bad("unexpected character in number");
    if (body.size() > 1 && body.front() == '0') return bad("leading zeros are not allowed");
    std::int64_t v = 0;
    const std::string_view signed_digits = tok.front() == '+' ? tok.substr(1) : tok;
    auto r = std::from_chars(signed_digits.data(), signed_digits.data() + signed_digits.size(), v);
    if (r.ec == std::errc::result_out_of_range)  // Clojure promotes to a BigInt
      return Value::big_int(signed_digits);
    return Value(v);
  }

  static bool all_digits(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s)
      if (!is_digit(c)) return false;
    return true;
  }

  // digits [. digits*] [(e|E) [+-] digits]
  static bool valid_float(std::string_view s) noexcept {
    std::size_t i = 0;
    auto run = [&] {
      const std::size_t from = i;
      while (i < s.size() && is_digit(s[i])) ++i;
      return i > from;
    };
    if (!run()) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      run();
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
      ++i;
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
      if (!run()) return false;
    }
    return i == s.size();
  }

  static double parse_double(std::string_view s) {
    double d = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), d);
    if (r.ec == std::errc::result_out_of_range) {
      // Too large or too small for a double: what Java gives, via strtod.
      const std::string copy(s);
      return std::strtod(copy.c_str(), nullptr);
    }
    return d;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  const ReadOptions& options_;
  std::size_t depth_ = 0;
  int discarding_ = 0;
  std::vector<Value> stack_;       // children of the collections being read
  std::vector<MapEntry> entries_;  // entries of the maps being read
  std::string buf_;                // scratch for strings with escapes
};

}  // namespace

namespace {

// Every value the reader builds is checked before it is built; this is a
// safety net so that reading only ever throws ParseError.
template <class F>
auto parse_errors_only(F&& read) {
  try {
    return read();
  } catch (const TypeError& e) {
    throw ParseError(1, 1, std::string("invalid value: ") + e.what());
  }
}

}  // namespace

Value read(std::string_view text, const ReadOptions& options) {
  Reader reader(text, options);
  return parse_errors_only([&] { return reader.read_document(); });
}

std::vector<Value> read_all(std::string_view text, const ReadOptions& options) {
  Reader reader(text, options);
  return parse_errors_only([&] { return reader.read_stream(); });
}

}  // namespace stube::edn
