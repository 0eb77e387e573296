// edn::Value: construction, reference counting, accessors, equality, order.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "edn/decimal.hpp"
#include "edn/instant.hpp"
#include "edn/names.hpp"
#include "edn/node.hpp"
#include "edn/utf8.hpp"

namespace stube::edn {

using detail::MapNode;
using detail::Node;
using detail::SeqNode;
using detail::TextNode;

namespace {

const Value kNil;

const TextNode* text_node(const Value& v) noexcept {
  return static_cast<const TextNode*>(v.node());
}
const SeqNode* seq_node(const Value& v) noexcept {
  return static_cast<const SeqNode*>(v.node());
}
const MapNode* map_node(const Value& v) noexcept {
  return static_cast<const MapNode*>(v.node());
}

bool is_text_kind(Kind k) noexcept {
  return k == Kind::String || k == Kind::Symbol || k == Kind::Keyword || k == Kind::BigInt ||
         k == Kind::Decimal || k == Kind::Ratio;
}

bool is_seq_kind(Kind k) noexcept {
  return k == Kind::List || k == Kind::Vector || k == Kind::Set;
}

}  // namespace

std::string_view kind_name(Kind k) noexcept {
  switch (k) {
    case Kind::Nil:
      return "nil";
    case Kind::Bool:
      return "boolean";
    case Kind::Int:
      return "integer";
    case Kind::BigInt:
      return "big integer";
    case Kind::Float:
      return "float";
    case Kind::Decimal:
      return "decimal";
    case Kind::Ratio:
      return "ratio";
    case Kind::Char:
      return "character";
    case Kind::String:
      return "string";
    case Kind::Symbol:
      return "symbol";
    case Kind::Keyword:
      return "keyword";
    case Kind::List:
      return "list";
    case Kind::Vector:
      return "vector";
    case Kind::Map:
      return "map";
    case Kind::Set:
      return "set";
    case Kind::Inst:
      return "inst";
    case Kind::Uuid:
      return "uuid";
    case Kind::Tagged:
      return "tagged value";
    case Kind::Opaque:
      return "opaque object";
  }
  return "unknown";
}

std::string kind_phrase(Kind k) {
  const std::string_view name = kind_name(k);
  if (k == Kind::Nil) return std::string(name);
  // "a uuid": said "you-you-id", with no vowel sound to come first.
  const bool vowel =
      k != Kind::Uuid && std::string_view("aeiou").find(name.front()) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(name);
}

ParseError::ParseError(std::size_t line, std::size_t column, const std::string& reason)
    : Error("line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + reason),
      line_(line),
      column_(column),
      reason_(reason) {}

// --- construction -------------------------------------------------------------

Value::Value(const char* s) : Value(std::string_view(s)) {}

namespace {

void require_utf8(std::string_view s, const char* what) {
  const std::size_t bad = detail::find_invalid_utf8(s.data(), s.data() + s.size());
  if (bad != std::string_view::npos)
    throw TypeError(std::string("edn: ") + what + " is not valid UTF-8 (at byte " +
                    std::to_string(bad) + ")");
}

}  // namespace

Value::Value(std::string_view s) : kind_(Kind::String) {
  require_utf8(s, "string");
  u_.n = detail::new_text(Kind::String, s);
  counted_ = true;
}

Value::Value(Instant t) : kind_(Kind::Inst) {
  // Whole seconds in `nanos` carry first (at most 4: no overflow past the
  // first test), so -62167219201 s + 1e9 ns is 0000-01-01T00:00:00Z.
  const bool in_range = t.seconds <= detail::kMaxInstantSeconds &&
                        t.seconds + t.nanos / 1000000000 >= detail::kMinInstantSeconds &&
                        t.seconds + t.nanos / 1000000000 <= detail::kMaxInstantSeconds;
  if (!in_range)
    throw TypeError("edn: instant " + std::to_string(t.seconds) + " s + " +
                    std::to_string(t.nanos) +
                    " ns is outside the years 0000 to 9999 (UTC) that #inst can print and read "
                    "back");
  u_.i = t.seconds + t.nanos / 1000000000;
  aux_ = t.nanos % 1000000000;
}

Value::Value(Uuid u) : kind_(Kind::Uuid) {
  u_.n = new detail::UuidNode(u);
  counted_ = true;
}

Value Value::keyword(std::string_view text) {
  if (!text.empty() && text.front() == ':') text.remove_prefix(1);
  require_utf8(text, "keyword");
  Value v;
  if (const char* why = detail::make_name(Kind::Keyword, text, &v))
    throw TypeError("edn: invalid keyword ':" + std::string(text) + "': " + why);
  return v;
}

Value Value::keyword(std::string_view ns, std::string_view name) {
  if (ns.empty()) return keyword(name);
  std::string text;
  text.reserve(ns.size() + 1 + name.size());
  text.append(ns).append("/").append(name);
  return keyword(text);
}

Value Value::symbol(std::string_view text) {
  require_utf8(text, "symbol");
  if (text == "nil" || text == "true" || text == "false")
    throw TypeError("edn: '" + std::string(text) + "' is not a symbol");
  Value v;
  if (const char* why = detail::make_name(Kind::Symbol, text, &v))
    throw TypeError("edn: invalid symbol '" + std::string(text) + "': " + why);
  return v;
}

Value Value::character(char32_t c) {
  if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
    char code[16];
    std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
    throw TypeError(std::string("edn: character ") + code + " is not a Unicode scalar value");
  }
  Value v;
  v.kind_ = Kind::Char;
  v.u_.c = c;
  return v;
}

namespace {

bool all_digits(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

Value Value::big_int(std::string_view digits) {
  std::string_view body = digits;
  if (!body.empty() && (body.front() == '-' || body.front() == '+')) body.remove_prefix(1);
  // No leading zero: the reader refuses one (Clojure reads it as octal),
  // so a value printed with it would not read back.
  if (!all_digits(body) || (body.size() > 1 && body.front() == '0'))
    throw TypeError("edn: invalid big integer '" + std::string(digits) + "'");
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  // -0N is 0N (as Clojure has it): equal, and in range of an unsigned field.
  if (body == "0") digits = body;
  return from_node(Kind::BigInt, detail::new_text(Kind::BigInt, digits));
}

Value Value::decimal(std::string_view digits) {
  std::string_view body = digits;
  if (!body.empty() && (body.front() == '-' || body.front() == '+')) body.remove_prefix(1);
  const auto dot = body.find('.');
  const auto exp = body.find_first_of("eE");
  const std::string_view mantissa = body.substr(0, exp);
  if (dot != std::string_view::npos && dot > mantissa.size())  // a '.' in the exponent
    throw TypeError("edn: invalid decimal '" + std::string(digits) + "'");
  const bool ok =
      all_digits(mantissa.substr(0, dot)) &&
      (dot == std::string_view::npos || mantissa.size() == dot + 1 ||
       all_digits(mantissa.substr(dot + 1))) &&
      (exp == std::string_view::npos ||
       all_digits(body.substr(
           exp + 1 + (body.size() > exp + 1 && (body[exp + 1] == '-' || body[exp + 1] == '+')))));
  if (!ok) throw TypeError("edn: invalid decimal '" + std::string(digits) + "'");
  if (const char* why = detail::decimal_range_problem(body))
    throw TypeError("edn: decimal '" + std::string(digits) + "' is out of range: " + why);
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  // -0.0M is 0.0M: Java's BigDecimal has no negative zero, so Clojure
  // prints it without the sign and would refuse both in one set.
  if (!digits.empty() && digits.front() == '-' &&
      mantissa.find_first_not_of("0.") == std::string_view::npos)
    digits.remove_prefix(1);
  return from_node(Kind::Decimal, detail::new_text(Kind::Decimal, digits));
}

Value Value::ratio(std::int64_t numerator, std::int64_t denominator) {
  if (denominator == 0) throw TypeError("edn: ratio with a zero denominator");
  if (numerator == INT64_MIN || denominator == INT64_MIN)
    throw TypeError("edn: ratio component out of range");
  if (denominator < 0) {
    numerator = -numerator;
    denominator = -denominator;
  }
  const std::int64_t g = std::gcd(numerator, denominator);
  numerator /= g;
  denominator /= g;
  if (denominator == 1) return Value(numerator);
  const std::string text = std::to_string(numerator) + "/" + std::to_string(denominator);
  return from_node(Kind::Ratio, detail::new_text(Kind::Ratio, text));
}

Value Value::tagged(std::string_view tag, Value inner) {
  // What the reader would not read back as this tag: a tag starts with a
  // letter ("#_x" is a discard), and #inst / #uuid have their own kinds.
  const bool letter =
      !tag.empty() && ((tag[0] >= 'a' && tag[0] <= 'z') || (tag[0] >= 'A' && tag[0] <= 'Z') ||
                       static_cast<unsigned char>(tag[0]) >= 0x80);
  if (!letter)
    throw TypeError("edn: invalid tag '" + std::string(tag) + "': a tag starts with a letter");
  if (tag == "inst" || tag == "uuid")
    throw TypeError("edn: #" + std::string(tag) +
                    " values are built from edn::Instant / edn::Uuid");
  Value t = symbol(tag);
  return from_node(Kind::Tagged, new detail::TaggedNode(std::move(t), std::move(inner)));
}

Value Value::opaque(std::shared_ptr<void> object, std::type_index type, std::string_view label) {
  return from_node(Kind::Opaque, new detail::OpaqueNode(std::move(object), type, label));
}

// --- accessors --------------------------------------------------------------------

void Value::wrong_kind(Kind expected) const {
  throw TypeError("edn: expected " + std::string(kind_name(expected)) + ", got " +
                  std::string(kind_name(kind_)));
}

bool Value::as_bool() const {
  if (kind_ != Kind::Bool) wrong_kind(Kind::Bool);
  return u_.b;
}

std::int64_t Value::as_int() const {
  if (kind_ != Kind::Int) wrong_kind(Kind::Int);
  return u_.i;
}

double Value::as_double() const {
  if (kind_ != Kind::Float) wrong_kind(Kind::Float);
  return u_.d;
}

char32_t Value::as_char() const {
  if (kind_ != Kind::Char) wrong_kind(Kind::Char);
  return u_.c;
}

std::string_view Value::as_string() const {
  if (kind_ != Kind::String) wrong_kind(Kind::String);
  return text_node(*this)->text();
}

std::string_view Value::as_symbol() const {
  if (kind_ != Kind::Symbol) wrong_kind(Kind::Symbol);
  return text_node(*this)->text();
}

std::string_view Value::as_keyword() const {
  if (kind_ != Kind::Keyword) wrong_kind(Kind::Keyword);
  return text_node(*this)->text();
}

std::string_view Value::name() const {
  if (kind_ != Kind::Keyword && kind_ != Kind::Symbol) wrong_kind(Kind::Keyword);
  const TextNode* t = text_node(*this);
  return t->ns_len ? t->text().substr(t->ns_len + 1) : t->text();
}

std::string_view Value::ns() const {
  if (kind_ != Kind::Keyword && kind_ != Kind::Symbol) wrong_kind(Kind::Keyword);
  const TextNode* t = text_node(*this);
  return t->text().substr(0, t->ns_len);
}

std::string_view Value::number_text() const {
  if (kind_ != Kind::BigInt && kind_ != Kind::Decimal && kind_ != Kind::Ratio)
    wrong_kind(Kind::BigInt);
  return text_node(*this)->text();
}

Instant Value::as_inst() const {
  if (kind_ != Kind::Inst) wrong_kind(Kind::Inst);
  return Instant{u_.i, aux_};
}

Uuid Value::as_uuid() const {
  if (kind_ != Kind::Uuid) wrong_kind(Kind::Uuid);
  return static_cast<const detail::UuidNode*>(u_.n)->uuid;
}

std::string_view Value::tag() const {
  if (kind_ != Kind::Tagged) wrong_kind(Kind::Tagged);
  return static_cast<const detail::TaggedNode*>(u_.n)->tag.as_symbol();
}

const Value& Value::tagged_value() const& {
  if (kind_ != Kind::Tagged) wrong_kind(Kind::Tagged);
  return static_cast<const detail::TaggedNode*>(u_.n)->inner;
}

std::string_view Value::opaque_label() const {
  if (kind_ != Kind::Opaque) wrong_kind(Kind::Opaque);
  return static_cast<const detail::OpaqueNode*>(u_.n)->label;
}

std::shared_ptr<void> Value::opaque_object(std::type_index want) const {
  if (kind_ != Kind::Opaque) wrong_kind(Kind::Opaque);
  const auto* o = static_cast<const detail::OpaqueNode*>(u_.n);
  if (o->type != want)
    throw TypeError("edn: opaque object '" + o->label + "' holds " + o->type.name() + ", not " +
                    want.name());
  return o->object;
}

bool Value::is_keyword(std::string_view text) const noexcept {
  if (!text.empty() && text.front() == ':') text.remove_prefix(1);
  return kind_ == Kind::Keyword && text_node(*this)->text() == text;
}

// --- collections ------------------------------------------------------------------

std::size_t Value::size() const {
  if (kind_ == Kind::Nil) return 0;
  if (kind_ == Kind::Map) return map_node(*this)->size;
  if (!is_seq_kind(kind_)) wrong_kind(Kind::Vector);
  return seq_node(*this)->size;
}

std::span<const Value> Value::items() const& {
  if (kind_ == Kind::Nil) return {};
  if (!is_seq_kind(kind_)) wrong_kind(Kind::Vector);
  return {seq_node(*this)->items(), seq_node(*this)->size};
}

std::span<const MapEntry> Value::entries() const& {
  if (kind_ == Kind::Nil) return {};
  if (kind_ != Kind::Map) wrong_kind(Kind::Map);
  return {map_node(*this)->entries(), map_node(*this)->size};
}

namespace {

// First position whose key is not canonically before `key`.
template <class T, class KeyOf>
std::size_t lower_bound_canonical(const T* items, std::size_t n, const Value& key, KeyOf key_of) {
  const std::uint64_t h = key.hash();
  std::size_t lo = 0, hi = n;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    const Value& k = key_of(items[mid]);
    const std::uint64_t hk = k.hash();
    if (hk != h ? hk < h : compare(k, key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

// Where `key` is (found) or would be inserted.
template <class T, class KeyOf>
std::pair<std::size_t, bool> locate(const T* items, std::size_t n, const Value& key, KeyOf key_of) {
  const std::size_t pos = lower_bound_canonical(items, n, key, key_of);
  return {pos, pos < n && key_of(items[pos]) == key};
}

// Lookup only: small collections are scanned, which beats hashing the key
// when keywords are shared nodes (pointer-equal).
template <class T, class KeyOf>
const T* find_in(const T* items, std::size_t n, const Value& key, KeyOf key_of) {
  if (n <= 8) {
    for (std::size_t i = 0; i < n; ++i)
      if (key_of(items[i]) == key) return items + i;
    return nullptr;
  }
  auto [pos, found] = locate(items, n, key, key_of);
  return found ? items + pos : nullptr;
}

const Value& map_key(const MapEntry& e) {
  return e.key;
}
const Value& self(const Value& v) {
  return v;
}

}  // namespace

const Value* Value::find(const Value& key) const& {
  if (kind_ == Kind::Map) {
    const MapNode* m = map_node(*this);
    const MapEntry* e = find_in(m->entries(), m->size, key, map_key);
    return e ? &e->val : nullptr;
  }
  if (kind_ == Kind::Set) {
    const SeqNode* s = seq_node(*this);
    return find_in(s->items(), s->size, key, self);
  }
  if (kind_ == Kind::Nil) return nullptr;
  wrong_kind(Kind::Map);
}

const Value& Value::get(const Value& key) const& {
  const Value* v = find(key);
  return v ? *v : kNil;
}

bool Value::contains(const Value& key) const {
  return find(key) != nullptr;
}

const Value& Value::operator[](std::string_view key) const& {
  if (kind_ == Kind::Nil) return kNil;
  if (!key.empty() && key.front() == ':') {
    // Fast path for small maps: compare keyword text without building one.
    if (kind_ == Kind::Map && map_node(*this)->size <= 8) {
      for (const MapEntry& e : entries())
        if (e.key.is_keyword(key)) return e.val;
      return kNil;
    }
    // Text that is no keyword (":a b") names no entry, whatever the map's size.
    Value k;
    try {
      k = Value::keyword(key);
    } catch (const TypeError&) {
      return kNil;
    }
    return get(k);
  }
  // Nor does text that is no string (invalid UTF-8, say from a request).
  Value k;
  try {
    k = Value(key);
  } catch (const TypeError&) {
    return kNil;
  }
  return get(k);
}

const Value& Value::at(std::size_t index) const& {
  if (kind_ != Kind::Vector && kind_ != Kind::List) wrong_kind(Kind::Vector);
  const SeqNode* s = seq_node(*this);
  if (index >= s->size)
    throw TypeError("edn: index " + std::to_string(index) + " out of range for " +
                    std::string(kind_name(kind_)) + " of size " + std::to_string(s->size));
  return s->items()[index];
}

const Value& Value::get_in(std::initializer_list<Value> path) const& {
  const Value* cur = this;
  for (const Value& k : path) {
    if (cur->kind_ == Kind::Vector && k.kind_ == Kind::Int) {
      if (k.u_.i < 0 || static_cast<std::size_t>(k.u_.i) >= cur->size()) return kNil;
      cur = &cur->at(static_cast<std::size_t>(k.u_.i));
    } else {
      cur = &cur->get(k);
    }
  }
  return *cur;
}

namespace {

Value copy_map_with(const MapNode* m, std::size_t pos, bool replace, const Value& key, Value val,
                    bool remove) {
  const std::size_t old_n = m ? m->size : 0;
  const std::size_t n = remove ? old_n - 1 : (replace ? old_n : old_n + 1);
  MapNode* out = detail::new_map(n);
  std::size_t o = 0;
  bool printable = true;
  for (std::size_t i = 0; i <= old_n; ++i) {
    if (i == pos && !remove) {
      // A replaced entry keeps its key: an equal one may print differently
      // (-0.0 and 0.0), and the key first stored stays, as in Clojure.
      out->entries()[o++] = MapEntry{replace ? m->entries()[i].key : key, std::move(val)};
      if (replace) continue;
    }
    if (i == old_n) break;
    if (i == pos && (remove || replace)) continue;
    out->entries()[o++] = m->entries()[i];
  }
  std::size_t depth = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const MapEntry& e = out->entries()[i];
    printable = printable && e.key.printable() && e.val.printable();
    depth = std::max({depth, e.key.depth(), e.val.depth()});
  }
  out->printable = printable;
  out->depth = detail::depth_above(depth);
  return Value::from_node(Kind::Map, out);
}

}  // namespace

Value Value::assoc(const Value& key, Value val) const {
  if (kind_ != Kind::Map && kind_ != Kind::Nil) wrong_kind(Kind::Map);
  const MapNode* m = kind_ == Kind::Map ? map_node(*this) : nullptr;
  if (!m) return copy_map_with(nullptr, 0, false, key, std::move(val), false);
  auto [pos, found] = locate(m->entries(), m->size, key, map_key);
  return copy_map_with(m, pos, found, key, std::move(val), false);
}

Value Value::dissoc(const Value& key) const {
  if (kind_ == Kind::Nil) return *this;
  if (kind_ != Kind::Map) wrong_kind(Kind::Map);
  const MapNode* m = map_node(*this);
  auto [pos, found] = locate(m->entries(), m->size, key, map_key);
  if (!found) return *this;
  return copy_map_with(m, pos, false, key, Value(), true);
}

namespace {

Value assoc_in_impl(const Value& target, const Value* first, const Value* last, Value val) {
  if (first + 1 == last) return target.assoc(*first, std::move(val));
  return target.assoc(*first, assoc_in_impl(target.get(*first), first + 1, last, std::move(val)));
}

}  // namespace

Value Value::assoc_in(std::initializer_list<Value> path, Value val) const {
  if (path.size() == 0) return val;
  return assoc_in_impl(*this, path.begin(), path.end(), std::move(val));
}

Value Value::conj(Value item) const {
  if (kind_ == Kind::Nil) return vec({std::move(item)});
  if (kind_ == Kind::Set) {
    if (contains(item)) return *this;
    std::vector<Value> all(begin(), end());
    all.push_back(std::move(item));
    return detail::make_set(all.data(), all.size(), nullptr);
  }
  if (kind_ != Kind::Vector && kind_ != Kind::List) wrong_kind(Kind::Vector);
  const SeqNode* s = seq_node(*this);
  SeqNode* out = detail::new_seq(kind_, s->size + 1);
  const std::size_t shift = kind_ == Kind::List ? 1 : 0;
  for (std::size_t i = 0; i < s->size; ++i) out->items()[i + shift] = s->items()[i];
  out->printable = s->printable && item.printable();
  out->depth = std::max<std::uint16_t>(s->depth, detail::depth_above(item.depth()));
  out->items()[kind_ == Kind::List ? 0 : s->size] = std::move(item);
  return from_node(kind_, out);
}

Value Value::disj(const Value& item) const {
  if (kind_ == Kind::Nil) return *this;
  if (kind_ != Kind::Set) wrong_kind(Kind::Set);
  if (!contains(item)) return *this;
  std::vector<Value> rest;
  rest.reserve(size());
  for (const Value& v : items())
    if (v != item) rest.push_back(v);
  return detail::make_seq(Kind::Set, rest.data(), rest.size());
}

Value Value::pop() const {
  if (kind_ != Kind::Vector) wrong_kind(Kind::Vector);
  if (empty()) throw TypeError("edn: pop of an empty vector");
  return subvec(0, size() - 1);
}

Value Value::set_at(std::size_t index, Value item) const {
  at(index);  // range and kind check
  std::vector<Value> all(begin(), end());
  all[index] = std::move(item);
  return detail::make_seq(kind_, all.data(), all.size());
}

Value Value::subvec(std::size_t from, std::size_t to) const {
  if (kind_ != Kind::Vector) wrong_kind(Kind::Vector);
  if (from > to || to > size())
    throw TypeError("edn: subvec [" + std::to_string(from) + ", " + std::to_string(to) +
                    ") out of range for vector of size " + std::to_string(size()));
  std::vector<Value> part(begin() + static_cast<std::ptrdiff_t>(from),
                          begin() + static_cast<std::ptrdiff_t>(to));
  return detail::make_seq(Kind::Vector, part.data(), part.size());
}

// --- builders ---------------------------------------------------------------------

Value vec(std::span<const Value> items) {
  std::vector<Value> copy(items.begin(), items.end());
  return detail::make_seq(Kind::Vector, copy.data(), copy.size());
}
Value vec(std::initializer_list<Value> items) {
  return vec(std::span<const Value>(items.begin(), items.size()));
}

Value list(std::span<const Value> items) {
  std::vector<Value> copy(items.begin(), items.end());
  return detail::make_seq(Kind::List, copy.data(), copy.size());
}
Value list(std::initializer_list<Value> items) {
  return list(std::span<const Value>(items.begin(), items.size()));
}

Value map(std::span<const MapEntry> entries) {
  std::vector<MapEntry> copy(entries.begin(), entries.end());
  return detail::make_map(copy.data(), copy.size(), nullptr, nullptr);
}
Value map(std::initializer_list<MapEntry> entries) {
  return map(std::span<const MapEntry>(entries.begin(), entries.size()));
}

Value set(std::span<const Value> items) {
  std::vector<Value> copy(items.begin(), items.end());
  return detail::make_set(copy.data(), copy.size(), nullptr);
}
Value set(std::initializer_list<Value> items) {
  return set(std::span<const Value>(items.begin(), items.size()));
}

// --- equality, order, hash -----------------------------------------------------------

namespace {

bool float_equal(double a, double b) noexcept {
  return a == b || (std::isnan(a) && std::isnan(b));
}

int float_compare(double a, double b) noexcept {
  if (float_equal(a, b)) return 0;
  if (std::isnan(a)) return 1;
  if (std::isnan(b)) return -1;
  return a < b ? -1 : 1;
}

template <class T>
int cmp(const T& a, const T& b) noexcept {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// compare() and hash() recurse once per level of nesting, and values built
// in code can nest without limit. Past this depth they switch to loops over
// an explicit stack, so no value can overflow a thread's stack.
constexpr std::size_t kRecursionDepth = 512;

bool is_container(Kind k) noexcept {
  return k == Kind::Map || is_seq_kind(k) || k == Kind::Tagged;
}

const detail::TaggedNode* tagged_node(const Value& v) noexcept {
  return static_cast<const detail::TaggedNode*>(v.node());
}

// The element pairs compare() looks at for two containers of one kind, in
// order: map keys and values alternately, items, or tag then inner value.
std::size_t pair_count(const Value& a, const Value& b) noexcept {
  if (a.is(Kind::Map)) return 2 * std::min(map_node(a)->size, map_node(b)->size);
  if (a.is(Kind::Tagged)) return 2;
  return std::min(seq_node(a)->size, seq_node(b)->size);
}

std::pair<const Value*, const Value*> pair_at(const Value& a, const Value& b,
                                              std::size_t i) noexcept {
  if (a.is(Kind::Map)) {
    const MapEntry& ea = map_node(a)->entries()[i / 2];
    const MapEntry& eb = map_node(b)->entries()[i / 2];
    return i % 2 == 0 ? std::pair{&ea.key, &eb.key} : std::pair{&ea.val, &eb.val};
  }
  if (a.is(Kind::Tagged)) {
    return i == 0 ? std::pair{&tagged_node(a)->tag, &tagged_node(b)->tag}
                  : std::pair{&tagged_node(a)->inner, &tagged_node(b)->inner};
  }
  return {&seq_node(a)->items()[i], &seq_node(b)->items()[i]};
}

// The order of two containers whose element pairs are all equal.
int size_order(const Value& a, const Value& b) noexcept {
  if (a.is(Kind::Map)) return cmp(map_node(a)->size, map_node(b)->size);
  if (a.is(Kind::Tagged)) return 0;
  return cmp(seq_node(a)->size, seq_node(b)->size);
}

// compare() of two deep containers of one kind, iteratively: a pair of
// containers is stacked rather than recursed into; compare() is called
// only on pairs it settles without recursing.
int compare_deep(const Value& a, const Value& b) noexcept {
  struct Frame {
    const Value* a;
    const Value* b;
    std::size_t next, count;
  };
  // (Out of memory for the stack ends the process, as noexcept demands.)
  std::vector<Frame> stack{{&a, &b, 0, pair_count(a, b)}};
  const auto descends = [](const Value& x, const Value& y) {
    return x.kind() == y.kind() && is_container(x.kind()) && x.node() != y.node();
  };
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next == f.count) {
      const int c = size_order(*f.a, *f.b);
      stack.pop_back();
      if (c != 0) return c;
      continue;
    }
    const auto [x, y] = pair_at(*f.a, *f.b, f.next++);
    if (descends(*x, *y)) {
      stack.push_back({x, y, 0, pair_count(*x, *y)});
    } else if (const int c = compare(*x, *y)) {
      return c;
    }
  }
  return 0;
}

// Fills the hash caches of the containers below `root`, deepest first, so
// that root.hash() then only looks one level down. Each container's hash()
// finds its own elements cached and recurses no further.
void cache_hashes_below(const Value& root) noexcept {
  struct Frame {
    const Value* v;
    std::size_t next, count;
  };
  std::vector<Frame> stack{{&root, 0, pair_count(root, root)}};
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next == f.count) {
      const Value* done = f.v;
      stack.pop_back();
      if (done != &root) done->hash();
      continue;
    }
    const Value* child = pair_at(*f.v, *f.v, f.next++).first;
    if (is_container(child->kind()) &&
        child->node()->hash_cache.load(std::memory_order_relaxed) == 0) {
      stack.push_back({child, 0, pair_count(*child, *child)});
    }
  }
}

}  // namespace

bool operator==(const Value& a, const Value& b) noexcept {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Kind::Nil:
      return true;
    case Kind::Bool:
      return a.u_.b == b.u_.b;
    case Kind::Int:
      return a.u_.i == b.u_.i;
    case Kind::Float:
      return float_equal(a.u_.d, b.u_.d);
    case Kind::Char:
      return a.u_.c == b.u_.c;
    case Kind::Inst:
      return a.u_.i == b.u_.i && a.aux_ == b.aux_;
    default:
      break;
  }
  if (a.u_.n == b.u_.n) return true;
  if (a.kind_ == Kind::Opaque) return false;
  const std::uint64_t ha = a.u_.n->hash_cache.load(std::memory_order_relaxed);
  const std::uint64_t hb = b.u_.n->hash_cache.load(std::memory_order_relaxed);
  if (ha && hb && ha != hb) return false;
  return compare(a, b) == 0;
}

int compare(const Value& a, const Value& b) noexcept {
  if (a.kind_ != b.kind_) return cmp(static_cast<int>(a.kind_), static_cast<int>(b.kind_));
  switch (a.kind_) {
    case Kind::Nil:
      return 0;
    case Kind::Bool:
      return cmp(a.u_.b, b.u_.b);
    case Kind::Int:
      return cmp(a.u_.i, b.u_.i);
    case Kind::Float:
      return float_compare(a.u_.d, b.u_.d);
    case Kind::Char:
      return cmp(a.u_.c, b.u_.c);
    case Kind::Inst:
      return a.u_.i != b.u_.i ? cmp(a.u_.i, b.u_.i) : cmp(a.aux_, b.aux_);
    default:
      break;
  }
  if (a.u_.n == b.u_.n) return 0;
  if (is_text_kind(a.kind_)) {
    const int c = text_node(a)->text().compare(text_node(b)->text());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (is_container(a.kind_) && std::max(a.depth(), b.depth()) > kRecursionDepth)
    return compare_deep(a, b);
  switch (a.kind_) {
    case Kind::Uuid:
      return cmp(a.as_uuid(), b.as_uuid());
    case Kind::Opaque:
      return std::less<const void*>{}(a.u_.n, b.u_.n) ? -1 : 1;
    case Kind::Tagged: {
      const auto* ta = static_cast<const detail::TaggedNode*>(a.u_.n);
      const auto* tb = static_cast<const detail::TaggedNode*>(b.u_.n);
      const int c = compare(ta->tag, tb->tag);
      return c != 0 ? c : compare(ta->inner, tb->inner);
    }
    case Kind::Map: {
      const MapNode* ma = map_node(a);
      const MapNode* mb = map_node(b);
      const std::size_t n = std::min(ma->size, mb->size);
      for (std::size_t i = 0; i < n; ++i) {
        if (int c = compare(ma->entries()[i].key, mb->entries()[i].key)) return c;
        if (int c = compare(ma->entries()[i].val, mb->entries()[i].val)) return c;
      }
      return cmp(ma->size, mb->size);
    }
    default: {  // List, Vector, Set
      const SeqNode* sa = seq_node(a);
      const SeqNode* sb = seq_node(b);
      const std::size_t n = std::min(sa->size, sb->size);
      for (std::size_t i = 0; i < n; ++i)
        if (int c = compare(sa->items()[i], sb->items()[i])) return c;
      return cmp(sa->size, sb->size);
    }
  }
}

std::uint64_t Value::hash() const noexcept {
  const std::uint64_t seed = detail::kind_seed(kind_);
  switch (kind_) {
    case Kind::Nil:
      return detail::mix(seed + 1);
    case Kind::Bool:
      return detail::mix(seed + (u_.b ? 2 : 1));
    case Kind::Int:
      return detail::mix(seed ^ static_cast<std::uint64_t>(u_.i));
    case Kind::Char:
      return detail::mix(seed ^ u_.c);
    case Kind::Inst:
      return detail::mix(seed ^ detail::mix(static_cast<std::uint64_t>(u_.i)) ^ aux_);
    case Kind::Float: {
      double d = u_.d;
      if (d == 0) d = 0;  // -0.0 == 0.0
      if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
      std::uint64_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      return detail::mix(seed ^ bits);
    }
    default:
      break;
  }
  const Node* n = u_.n;
  if (std::uint64_t cached = n->hash_cache.load(std::memory_order_relaxed)) return cached;
  if (is_container(kind_) && n->depth > kRecursionDepth) cache_hashes_below(*this);
  std::uint64_t h;
  if (is_text_kind(kind_)) {
    h = detail::text_hash(kind_, text_node(*this)->text());
  } else if (kind_ == Kind::Uuid) {
    const Uuid u = as_uuid();
    h = detail::hash_bytes(u.bytes.data(), u.bytes.size(), seed);
  } else if (kind_ == Kind::Opaque) {
    h = detail::mix(seed ^ reinterpret_cast<std::uintptr_t>(n));
  } else if (kind_ == Kind::Tagged) {
    const auto* t = static_cast<const detail::TaggedNode*>(n);
    h = detail::mix(seed ^ t->tag.hash() ^ detail::mix(t->inner.hash()));
  } else if (kind_ == Kind::Map) {
    h = seed;
    for (const MapEntry& e : entries()) h = detail::mix(h ^ e.key.hash()) + e.val.hash();
    h = detail::mix(h);
  } else {
    h = seed;
    for (const Value& v : items()) h = detail::mix(h ^ v.hash());
  }
  if (h == 0) h = 1;
  n->hash_cache.store(h, std::memory_order_relaxed);
  return h;
}

}  // namespace stube::edn
