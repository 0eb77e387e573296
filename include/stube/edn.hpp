// stube/edn.hpp — the EDN value type, reader and printer.
//
// Every conversation, instance state, event payload and answer in stube is
// an edn::Value. Values are immutable and cheap to copy (one reference-count
// increment); "updating" a map or vector returns a new Value that shares the
// unchanged children with the old one.
//
//   using namespace stube::edn::literals;
//   edn::Value conv = edn::map({{"conv/id"_kw, "cv-1"}, {"n"_kw, 3}});
//   conv[":conv/id"].as_string();          // "cv-1"
//   conv = conv.assoc("n"_kw, 4);         // a new map; the old one is intact
//   std::string text = edn::write(conv);  // {:conv/id "cv-1", :n 4}
//   edn::Value back = edn::read(text);    // == conv
//
// See docs/edn.md for the kinds, the printed forms and the safety limits.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <vector>

namespace stube::edn {

enum class Kind : std::uint8_t {
  Nil,
  Bool,
  Int,      // 64-bit signed
  BigInt,   // arbitrary precision, written with an N suffix (kept as text)
  Float,    // IEEE double, including ##Inf, ##-Inf, ##NaN
  Decimal,  // arbitrary precision decimal, written with an M suffix (text)
  Ratio,    // n/d in lowest terms (kept as text)
  Char,     // one Unicode scalar value
  String,   // UTF-8
  Symbol,
  Keyword,
  List,
  Vector,
  Map,
  Set,
  Inst,    // #inst: an instant, nanosecond precision, UTC
  Uuid,    // #uuid
  Tagged,  // any other #tag value, kept verbatim
  Opaque,  // a live C++ object; not printable as data
};

// Human-readable name of a kind, e.g. "keyword"; used in error messages.
std::string_view kind_name(Kind k) noexcept;
// The name with its article, for sentences: "an integer", "a map", "nil".
std::string kind_phrase(Kind k);

// Base of every error this header throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The text is not valid EDN. what() reads "line L, column C: <reason>".
class ParseError : public Error {
 public:
  ParseError(std::size_t line, std::size_t column, const std::string& reason);
  std::size_t line() const noexcept { return line_; }
  std::size_t column() const noexcept { return column_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::size_t line_, column_;
  std::string reason_;
};

// The text nests deeper than the reading thread's stack can hold, though
// within ReadOptions::max_depth: a limit of the thread, which says nothing
// about the text (the rest is not read; a thread with a larger stack reads
// it, or finds its error). Stores treat it like running out of memory. A
// ParseError for code that only asks whether the text was read.
class StackExhausted : public ParseError {
 public:
  using ParseError::ParseError;
};

// A typed accessor was used on a value of another kind, or a value could not
// be built (e.g. an invalid keyword name).
class TypeError : public Error {
 public:
  using Error::Error;
};

// An instant: seconds since the Unix epoch (UTC) plus nanoseconds [0, 1e9).
struct Instant {
  std::int64_t seconds = 0;
  std::uint32_t nanos = 0;
  friend bool operator==(const Instant&, const Instant&) = default;
  friend auto operator<=>(const Instant&, const Instant&) = default;
  static Instant now() noexcept;
  // Milliseconds since the epoch (floor), handy for TTL arithmetic.
  std::int64_t millis() const noexcept { return seconds * 1000 + nanos / 1000000; }
};

struct Uuid {
  std::array<std::uint8_t, 16> bytes{};
  friend bool operator==(const Uuid&, const Uuid&) = default;
  friend auto operator<=>(const Uuid&, const Uuid&) = default;
  static Uuid random();                      // version 4, from the OS CSPRNG
  std::string to_string() const;             // canonical lowercase 8-4-4-4-12
  static Uuid parse(std::string_view text);  // throws TypeError
};

namespace detail {
// Characters are text, not numbers: where a number would be taken (a Value,
// a state field, an HTML child), a character type is refused rather than
// written as its code.
template <class T>
constexpr bool is_character_v =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;
// The reference-counted heap part of a Value (src/edn/node.hpp has the
// kinds). Defined here only so that copying a Value inlines.
struct Node {
  std::atomic<std::uint32_t> refs{1};
  Kind kind;
  bool printable : 1 = true;
  bool packed : 1 = false;  // cut from a chunk (src/edn/packed.hpp)
  // Nesting depth as edn::read counts it (see Value::depth()), saturated at
  // 65535; it sits in what would otherwise be padding.
  std::uint16_t depth = 0;
  // Lazily computed value hash; 0 means "not computed yet". Races are benign:
  // every thread computes the same number.
  mutable std::atomic<std::uint64_t> hash_cache{0};

  explicit Node(Kind k) noexcept : kind(k) {}
  void retain() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
  // Returns true when this was the last reference. A count of 1 means the
  // caller holds the only reference, so no other thread can change it: the
  // (costly) atomic decrement is skipped, as libstdc++'s shared_ptr does.
  bool release() noexcept {
    if (refs.load(std::memory_order_acquire) == 1) return true;
    return refs.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }
};
void destroy(Node* n) noexcept;
constexpr std::uint32_t kind_bit(Kind k) noexcept {
  return 1u << static_cast<unsigned>(k);
}
// The kinds whose payload lives in a reference-counted Node.
constexpr std::uint32_t kHeapKinds =
    kind_bit(Kind::BigInt) | kind_bit(Kind::Decimal) | kind_bit(Kind::Ratio) |
    kind_bit(Kind::String) | kind_bit(Kind::Symbol) | kind_bit(Kind::Keyword) |
    kind_bit(Kind::List) | kind_bit(Kind::Vector) | kind_bit(Kind::Map) | kind_bit(Kind::Set) |
    kind_bit(Kind::Uuid) | kind_bit(Kind::Tagged) | kind_bit(Kind::Opaque);
}  // namespace detail

class Value;

// One entry of a map. Maps keep their entries in a canonical order (by key
// hash, then by value order), so equal maps print identically.
struct MapEntry;

class Value {
 public:
  // --- construction -------------------------------------------------------
  Value() noexcept : kind_(Kind::Nil) {}
  Value(std::nullptr_t) noexcept : kind_(Kind::Nil) {}
  Value(bool b) noexcept : kind_(Kind::Bool) { u_.b = b; }
  Value(int i) noexcept : kind_(Kind::Int) { u_.i = i; }
  Value(long i) noexcept : kind_(Kind::Int) { u_.i = i; }
  Value(long long i) noexcept : kind_(Kind::Int) { u_.i = i; }
  Value(unsigned i) noexcept : kind_(Kind::Int) { u_.i = i; }
  // Sizes and counts; values above INT64_MAX wrap, as a cast would.
  Value(unsigned long i) noexcept : kind_(Kind::Int) { u_.i = static_cast<std::int64_t>(i); }
  Value(unsigned long long i) noexcept : kind_(Kind::Int) { u_.i = static_cast<std::int64_t>(i); }
  Value(double d) noexcept : kind_(Kind::Float) { u_.d = d; }
  Value(const char* s);  // a string
  Value(std::string_view s);
  Value(const std::string& s) : Value(std::string_view(s)) {}
  // Mistakes, not values: any other pointer (&name, a u8"" literal) would
  // silently be `true`, and a character its code as an integer. For a
  // character use Value::character; for UTF-8 text, a char string.
  template <class T>
  Value(const T*) = delete;
  Value(char) = delete;
  Value(char8_t) = delete;
  Value(char16_t) = delete;
  Value(char32_t) = delete;
  Value(wchar_t) = delete;
  // Nanoseconds of a second or more carry into the seconds. Throws TypeError
  // for an instant outside the years 0000 to 9999 (UTC): #inst cannot print
  // it so that it reads back.
  Value(Instant t);
  Value(Uuid u);

  // Keyword from "ns/name", ":ns/name", "name" or ":name".
  static Value keyword(std::string_view text);
  static Value keyword(std::string_view ns, std::string_view name);
  static Value symbol(std::string_view text);
  static Value character(char32_t c);
  // Big numbers keep their digits as text: "123456789012345678901234567890".
  static Value big_int(std::string_view digits);
  static Value decimal(std::string_view digits);  // "1.50" (no M)
  static Value ratio(std::int64_t numerator, std::int64_t denominator);
  static Value tagged(std::string_view tag, Value inner);
  // A live C++ object. It prints as #object[label] and makes every value that
  // contains it non-printable. Compares by identity.
  static Value opaque(std::shared_ptr<void> object, std::type_index type, std::string_view label);
  template <class T>
  static Value opaque(std::shared_ptr<T> object, std::string_view label) {
    return opaque(std::static_pointer_cast<void>(std::move(object)), typeid(T), label);
  }

  Value(const Value& o) noexcept : kind_(o.kind_), counted_(o.counted_), aux_(o.aux_), u_(o.u_) {
    if (counted_) u_.n->retain();
  }
  Value(Value&& o) noexcept : kind_(o.kind_), counted_(o.counted_), aux_(o.aux_), u_(o.u_) {
    o.kind_ = Kind::Nil;
    o.counted_ = false;
  }
  Value& operator=(const Value& o) noexcept {
    if (this != &o) *this = Value(o);
    return *this;
  }
  Value& operator=(Value&& o) noexcept {
    if (this != &o) {
      detail::Node* old = counted_ ? u_.n : nullptr;
      kind_ = o.kind_;
      counted_ = o.counted_;
      aux_ = o.aux_;
      u_ = o.u_;
      o.kind_ = Kind::Nil;
      o.counted_ = false;
      if (old && old->release()) detail::destroy(old);
    }
    return *this;
  }
  ~Value() {
    if (counted_ && u_.n->release()) detail::destroy(u_.n);
  }

  // --- inspection ---------------------------------------------------------
  Kind kind() const noexcept { return kind_; }
  bool is_nil() const noexcept { return kind_ == Kind::Nil; }
  bool is(Kind k) const noexcept { return kind_ == k; }
  // Anything but nil and false, as in Clojure.
  explicit operator bool() const noexcept {
    return !(kind_ == Kind::Nil || (kind_ == Kind::Bool && !u_.b));
  }

  // Typed accessors: each throws TypeError naming the expected and the
  // actual kind when the value is of another kind.
  bool as_bool() const;
  std::int64_t as_int() const;
  double as_double() const;  // Float only; 1 is not 1.0
  char32_t as_char() const;
  std::string_view as_string() const;    // String
  std::string_view as_symbol() const;    // full text, "ns/name"
  std::string_view as_keyword() const;   // full text without ':', "ns/name"
  std::string_view name() const;         // keyword/symbol name part
  std::string_view ns() const;           // keyword/symbol namespace or ""
  std::string_view number_text() const;  // BigInt / Decimal / Ratio digits
  Instant as_inst() const;
  Uuid as_uuid() const;
  std::string_view tag() const;        // Tagged: the tag symbol text
  const Value& tagged_value() const&;  // Tagged: the inner value
  Value tagged_value() const&& { return as_lvalue().tagged_value(); }
  std::string_view opaque_label() const;
  template <class T>
  std::shared_ptr<T> as_opaque() const {
    return std::static_pointer_cast<T>(opaque_object(typeid(T)));
  }

  // Keyword test without building a keyword: v.is_keyword("conv/id").
  bool is_keyword(std::string_view text) const noexcept;

  // --- collections ----------------------------------------------------------
  // Number of elements (List/Vector/Set/Map); 0 for nil; TypeError otherwise.
  std::size_t size() const;
  bool empty() const { return size() == 0; }
  // Lookups into a value return references and views into it. On a
  // temporary (load()[":items"]) they would dangle at the end of the
  // statement, so there the element lookups return a copy (a reference
  // count) and the views are refused at compile time: name the value first.

  // Elements of a List, Vector or Set (sets in canonical order).
  std::span<const Value> items() const&;
  std::span<const Value> items() const&& = delete;
  std::span<const MapEntry> entries() const&;  // Map
  std::span<const MapEntry> entries() const&& = delete;
  auto begin() const { return items().begin(); }
  auto end() const { return items().end(); }

  // Map lookup; returns nil (a shared static) when absent or when this is nil.
  const Value& get(const Value& key) const&;
  Value get(const Value& key) const&& { return as_lvalue().get(key); }
  const Value* find(const Value& key) const&;  // nullptr when absent
  const Value* find(const Value& key) const&& = delete;
  bool contains(const Value& key) const;  // Map keys or Set members
  // v[":conv/id"] looks up a keyword, v["ix-1"] a string: a leading ':'
  // means keyword. Use get(Value{...}) for anything else.
  const Value& operator[](std::string_view key) const&;
  Value operator[](std::string_view key) const&& { return as_lvalue()[key]; }
  const Value& operator[](const char* key) const& { return (*this)[std::string_view(key)]; }
  Value operator[](const char* key) const&& { return as_lvalue()[std::string_view(key)]; }
  const Value& operator[](const Value& key) const& { return get(key); }
  Value operator[](const Value& key) const&& { return as_lvalue().get(key); }
  // Vector/List element; TypeError when out of range.
  const Value& at(std::size_t index) const&;
  Value at(std::size_t index) const&& { return as_lvalue().at(index); }
  template <class I>
  requires std::is_integral_v<I>
  const Value& operator[](I index) const& { return at(static_cast<std::size_t>(index)); }
  template <class I>
  requires std::is_integral_v<I> Value operator[](I index) const&& {
    return as_lvalue().at(static_cast<std::size_t>(index));
  }
  // Nested lookup: v.get_in({"conv/instances"_kw, "ix-1"}).
  const Value& get_in(std::initializer_list<Value> path) const&;
  Value get_in(std::initializer_list<Value> path) const&& { return as_lvalue().get_in(path); }

  // Persistent updates: return a new value, leave *this untouched (so a
  // result left unused is a mistake, which the compiler reports).
  [[nodiscard]] Value assoc(const Value& key, Value val) const;  // Map (nil counts as {})
  [[nodiscard]] Value dissoc(const Value& key) const;            // Map
  [[nodiscard]] Value assoc_in(std::initializer_list<Value> path, Value val) const;
  [[nodiscard]] Value conj(Value item) const;         // Vector: append; Set: add; List: prepend
  [[nodiscard]] Value disj(const Value& item) const;  // Set
  [[nodiscard]] Value pop() const;                    // Vector: drop last
  [[nodiscard]] Value set_at(std::size_t index, Value item) const;  // Vector
  [[nodiscard]] Value subvec(std::size_t from, std::size_t to) const;

  // --- value semantics --------------------------------------------------------
  // Equality by value (maps/sets ignore order, 1 != 1.0, NaN == NaN so that
  // values round-trip, opaque by identity).
  friend bool operator==(const Value& a, const Value& b) noexcept;
  // A total order over all values (kind first); used for canonical order.
  friend int compare(const Value& a, const Value& b) noexcept;
  std::uint64_t hash() const noexcept;
  // False iff an opaque value is inside. O(1): containers cache it.
  bool printable() const noexcept { return is_heap() ? u_.n->printable : true; }
  // How deeply the printed value nests, as edn::read counts it against
  // ReadOptions::max_depth: each list, vector, set, map and tag (also the
  // #inst and #uuid a timestamp or UUID prints as) is one level; other
  // scalars are 0. Saturates at 65535. O(1): containers cache it.
  std::size_t depth() const noexcept {
    if (is_heap()) return u_.n->depth;
    return kind_ == Kind::Inst ? 1 : 0;
  }

  // Internal: used by the reader, printer and builders.
  const detail::Node* node() const noexcept { return is_heap() ? u_.n : nullptr; }
  static Value from_node(Kind k, detail::Node* n) noexcept {  // adopts n
    Value v;
    v.kind_ = k;
    v.counted_ = true;
    v.u_.n = n;
    return v;
  }
  // A node that lives as long as the process (interned names): copies of
  // the value share it without touching its reference count. It is never
  // written through.
  static Value from_immortal_node(Kind k, const detail::Node* n) noexcept {
    Value v;
    v.kind_ = k;
    v.u_.n = const_cast<detail::Node*>(n);
    return v;
  }

 private:
  const Value& as_lvalue() const& noexcept { return *this; }
  bool is_heap() const noexcept { return (detail::kHeapKinds & detail::kind_bit(kind_)) != 0; }
  std::shared_ptr<void> opaque_object(std::type_index want) const;
  [[noreturn]] void wrong_kind(Kind expected) const;

  Kind kind_;
  // True iff u_.n is a reference-counted node this value holds a reference
  // to (heap kinds, except immortal interned names).
  bool counted_ = false;
  std::uint32_t aux_ = 0;  // Inst: nanoseconds
  union {
    bool b;
    std::int64_t i;
    double d;
    char32_t c;
    detail::Node* n;
  } u_{};
};

struct MapEntry {
  Value key;
  Value val;
};

inline bool operator!=(const Value& a, const Value& b) noexcept {
  return !(a == b);
}

// --- builders ---------------------------------------------------------------
Value vec(std::initializer_list<Value> items);
Value vec(std::span<const Value> items);
Value list(std::initializer_list<Value> items);
Value list(std::span<const Value> items);
// Duplicates: later entries win for maps, are merged for sets.
Value map(std::initializer_list<MapEntry> entries);
Value map(std::span<const MapEntry> entries);
Value set(std::initializer_list<Value> items);
Value set(std::span<const Value> items);
inline Value kw(std::string_view text) {
  return Value::keyword(text);
}
inline Value sym(std::string_view text) {
  return Value::symbol(text);
}

namespace literals {
inline Value operator""_kw(const char* s, std::size_t n) {
  return Value::keyword({s, n});
}
inline Value operator""_sym(const char* s, std::size_t n) {
  return Value::symbol({s, n});
}
}  // namespace literals

// --- reading and writing ------------------------------------------------------
struct ReadOptions {
  // Deepest nesting of collections and tagged values accepted.
  std::size_t max_depth = 1000;
};

// Reads exactly one value (whitespace, commas and comments around it are
// fine; anything else after it is an error). Throws ParseError.
Value read(std::string_view text, const ReadOptions& options = {});

// Reads every value of a stream (zero or more, as clojure.edn reads one to
// its end): an EDN file of several records. A ParseError's line and column
// count from the start of `text`.
std::vector<Value> read_all(std::string_view text, const ReadOptions& options = {});

// The deepest nesting write() and pretty() print (Value::depth()): what the
// reader accepts by default, so whatever is written reads back. The writer
// recurses once per level; the bound keeps it far from a thread's stack limit.
inline constexpr std::size_t max_write_depth = ReadOptions{}.max_depth;

// Compact, deterministic text that Clojure's reader reads back equal
// (what pr-str writes for the same data). Throws Error for a value nested
// deeper than max_write_depth, leaving `out` as it was.
std::string write(const Value& v);
void write(const Value& v, std::string& out);  // appends

// Multi-line, indented text for people (stube-store show). Reads back equal.
// Same depth limit as write().
std::string pretty(const Value& v, std::size_t width = 80);

// False iff an opaque value is inside v.
inline bool printable(const Value& v) noexcept {
  return v.printable();
}

}  // namespace stube::edn

template <>
struct std::hash<stube::edn::Value> {
  std::size_t operator()(const stube::edn::Value& v) const noexcept { return v.hash(); }
};
