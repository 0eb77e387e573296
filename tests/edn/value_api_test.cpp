// The C++ API of edn::Value: construction, lookup, persistent updates,
// typed accessors, equality/hash/order, opaque values and cheap copies.
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "edn/edn_test_support.hpp"

namespace edn = stube::edn;
using edn::Kind;
using edn::Value;
using namespace edn::literals;

namespace {

// --- construction -----------------------------------------------------------------

// A pointer that is not a C string, or a character, is a compile error, not
// `true` or a number in a persisted state.
static_assert(!std::is_constructible_v<Value, const int*>);
static_assert(!std::is_constructible_v<Value, std::string*>);
static_assert(!std::is_constructible_v<Value, const char8_t*>);
static_assert(!std::is_constructible_v<Value, void*>);
static_assert(!std::is_constructible_v<Value, char>);
static_assert(!std::is_constructible_v<Value, char8_t>);
static_assert(!std::is_constructible_v<Value, char32_t>);
static_assert(std::is_constructible_v<Value, char*>);  // still a string
static_assert(std::is_constructible_v<Value, const char*>);

TEST(EdnValue, ConstructorsPickTheRightKind) {
  const std::vector<std::pair<Value, Kind>> cases = {
      {Value(), Kind::Nil},
      {Value(nullptr), Kind::Nil},
      {Value(true), Kind::Bool},
      {Value(0), Kind::Int},
      {Value(42L), Kind::Int},
      {Value(42LL), Kind::Int},
      {Value(7u), Kind::Int},
      {Value(1.5), Kind::Float},
      {Value("text"), Kind::String},
      {Value(std::string("text")), Kind::String},
      {Value(std::string_view("text")), Kind::String},
      {Value(edn::Instant{1, 2}), Kind::Inst},
      {Value(edn::Uuid{}), Kind::Uuid},
      {"k"_kw, Kind::Keyword},
      {"s"_sym, Kind::Symbol},
      {Value::character('x'), Kind::Char},
      {Value::big_int("123456789012345678901234567890"), Kind::BigInt},
      {Value::decimal("1.50"), Kind::Decimal},
      {Value::ratio(1, 3), Kind::Ratio},
      {Value::tagged("my/tag", 1), Kind::Tagged},
      {edn::list({1}), Kind::List},
      {edn::vec({1}), Kind::Vector},
      {edn::map({{1, 2}}), Kind::Map},
      {edn::set({1}), Kind::Set},
  };
  for (const auto& [v, kind] : cases)
    EXPECT_EQ(v.kind(), kind) << edn::kind_name(v.kind()) << " vs " << edn::kind_name(kind);
}

TEST(EdnValue, ScalarAccessorsReturnWhatWasStored) {
  EXPECT_EQ(Value(true).as_bool(), true);
  EXPECT_EQ(Value(std::numeric_limits<std::int64_t>::min()).as_int(),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(Value(7u).as_int(), 7);
  EXPECT_EQ(Value(2.25).as_double(), 2.25);
  EXPECT_EQ(static_cast<std::uint32_t>(Value::character(0x1F600).as_char()), 0x1F600u);
  EXPECT_EQ(Value("caf\xC3\xA9").as_string(), "caf\xC3\xA9");
  EXPECT_EQ(Value::big_int("-123456789012345678901").number_text(), "-123456789012345678901");
  EXPECT_EQ(Value::decimal("1.50").number_text(), "1.50");
  EXPECT_EQ(Value::ratio(2, 6).number_text(), "1/3");
  EXPECT_EQ(Value(edn::Instant{-5, 7}).as_inst(), (edn::Instant{-5, 7}));
}

TEST(EdnValue, RatioNormalises) {
  EXPECT_EQ(Value::ratio(2, 4), Value::ratio(1, 2));
  EXPECT_EQ(Value::ratio(4, 2), Value(2));
  EXPECT_EQ(Value::ratio(1, -2), Value::ratio(-1, 2));
  EXPECT_EQ(Value::ratio(0, 5), Value(0));
  EXPECT_THROW(Value::ratio(1, 0), edn::Error);
}

TEST(EdnValue, KeywordSpellingsAreEqual) {
  const Value a = Value::keyword("conv/id");
  EXPECT_EQ(a, Value::keyword(":conv/id"));
  EXPECT_EQ(a, Value::keyword("conv", "id"));
  EXPECT_EQ(a, "conv/id"_kw);
  EXPECT_EQ(a.as_keyword(), "conv/id");
  EXPECT_EQ(a.ns(), "conv");
  EXPECT_EQ(a.name(), "id");
  EXPECT_TRUE(a.is_keyword("conv/id"));
  EXPECT_FALSE(a.is_keyword("id"));
  EXPECT_FALSE(Value("conv/id").is_keyword("conv/id"));
  const Value plain = Value::keyword(":id");
  EXPECT_EQ(plain.ns(), "");
  EXPECT_EQ(plain.name(), "id");
  EXPECT_EQ(edn::write(plain), ":id");
}

TEST(EdnValue, SymbolParts) {
  const Value s = "clojure.core/map"_sym;
  EXPECT_EQ(s.as_symbol(), "clojure.core/map");
  EXPECT_EQ(s.ns(), "clojure.core");
  EXPECT_EQ(s.name(), "map");
  EXPECT_NE(s, Value::keyword("clojure.core/map"));
  EXPECT_NE(s, Value("clojure.core/map"));
}

TEST(EdnValue, InvalidNamesAndScalarsThrowTypeError) {
  EXPECT_THROW(Value::keyword(""), edn::TypeError);
  EXPECT_THROW(Value::keyword(":"), edn::TypeError);
  EXPECT_THROW(Value::keyword("a b"), edn::TypeError);
  EXPECT_THROW(Value::keyword("a/"), edn::TypeError);
  EXPECT_THROW(Value::keyword("::a"), edn::TypeError);
  EXPECT_THROW(Value::keyword("a\"b"), edn::TypeError);
  EXPECT_THROW(Value::symbol(""), edn::TypeError);
  EXPECT_THROW(Value::symbol("1abc"), edn::TypeError);
  EXPECT_THROW(Value::symbol("/a"), edn::TypeError);
  EXPECT_THROW(Value::symbol("a[b"), edn::TypeError);
  EXPECT_THROW(Value::character(0xD800), edn::TypeError);
  EXPECT_THROW(Value::character(0x110000), edn::TypeError);
  EXPECT_THROW(Value::big_int("12x"), edn::TypeError);
  EXPECT_THROW(Value::big_int(""), edn::TypeError);
  EXPECT_THROW(Value::decimal("abc"), edn::TypeError);
  // Text the reader refuses would not read back.
  EXPECT_THROW(Value::big_int("007"), edn::TypeError);
  EXPECT_THROW(Value::big_int("-01"), edn::TypeError);
  EXPECT_EQ(edn::write(Value::big_int("-0")), "0N");  // as Clojure prints -0N
  EXPECT_THROW(Value::decimal("1e5.5"), edn::TypeError);
  // Clojure ends a token at a Unicode space: such a name would read as two.
  for (const char* space : {"\u3000", "\u2028", "\u1680", "\u2000", "\u200A", "\u205F"}) {
    EXPECT_THROW(Value::keyword(std::string("a") + space + "b"), edn::TypeError) << space;
    EXPECT_THROW(edn::read(std::string("[:a") + space + "b]"), edn::ParseError) << space;
  }
  EXPECT_EQ(Value::keyword("a\u00A0b").as_keyword(), "a\u00A0b");  // no-break: one name in Java too
  // Clojure reads a symbol that starts with any decimal digit of the BMP
  // (Arabic-Indic, Devanagari, fullwidth, ...) as a number, and fails.
  for (const char* digit : {"\u0663", "\u0966", "\uFF19", "\u1946", "\uABF9"}) {
    EXPECT_THROW(Value::symbol(digit), edn::TypeError) << digit;
    EXPECT_THROW(Value::symbol(std::string("-") + digit + "x"), edn::TypeError) << digit;
    EXPECT_THROW(edn::read(std::string("[a ") + digit + "]"), edn::ParseError) << digit;
    EXPECT_THROW(edn::read(std::string("+") + digit), edn::ParseError) << digit;
    EXPECT_EQ(Value::keyword(digit).as_keyword(), digit);  // a keyword is no number
    EXPECT_EQ(Value::symbol(std::string("a/") + digit).as_symbol(), std::string("a/") + digit);
  }
  // Characters next to them, and digits above the BMP (a surrogate pair to
  // Clojure), are no digits there.
  for (const char* other : {"\u065F", "\u066A", "\uFF1A", "\U0001D7CE"})
    EXPECT_EQ(Value::symbol(other).as_symbol(), other);
  EXPECT_THROW(Value::tagged("", 1), edn::TypeError);
}

// Whatever the builders accept must print as data that reads back equal;
// anything that cannot must be refused when it is built. Says whether it
// was accepted (each test also says which ones must be).
bool expect_round_trip_or_rejected(const std::function<Value()>& build, const std::string& what) {
  Value v;
  try {
    v = build();
  } catch (const edn::Error&) {
    return false;
  }
  const std::string text = edn::write(v);
  try {
    EXPECT_EQ(edn::read(text), v) << what << " printed as " << text;
  } catch (const edn::ParseError& e) {
    ADD_FAILURE() << what << " printed as " << text << " which does not read: " << e.what();
  }
  return true;
}

TEST(EdnValue, BuiltTaggedValuesRoundTripOrAreRejected) {
  const std::vector<std::pair<std::string, Value>> cases = {
      {"_x", 1},
      {"_", 1},
      {"inst", "garbage"},
      {"inst", "2020-01-01T00:00:00Z"},
      {"uuid", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"},
      {"uuid", 1},
      {":a", 1},
      {"#a", 1},
      {"a b", 1},
      {"true", 1},
      {"nil", 1},
      {"1a", 1},
      {"my/tag", edn::vec({1})},
      {"\xCE\xBB", 1},    // λ (Clojure's reader takes only ASCII and Latin-1 letters)
      {"\xC3\xA9/x", 1},  // é
  };
  // #inst and #uuid are built-in (Instant, Uuid), "_" is the discard.
  for (const auto& [tag, inner] : cases) {
    const bool accepted =
        expect_round_trip_or_rejected([&] { return Value::tagged(tag, inner); }, "tagged " + tag);
    EXPECT_EQ(accepted, tag == "my/tag" || tag == "\xCE\xBB" || tag == "\xC3\xA9/x")
        << "tagged " << tag;
  }
}

TEST(EdnValue, BuiltNamesRoundTripOrAreRejected) {
  const std::vector<std::string> names = {
      "a",   "a.b", "a/b", "a::b", "a:",       "x#",  "x'",   "'x",    "-",    "+",
      "+1",  "-1a", ".5",  "-.5",  "..",       "a/1", "1",    "a,b",   "a;b",  "a\\b",
      "a@b", "a~b", "a^b", "a`b",  "\xCE\xBB", "/",   "a//b", "nil/x", "true", "a\xFF"};
  const std::set<std::string> symbols = {"a", "a.b", "a/b", "x#",       "x'", "'x",   "-",
                                         "+", "-.5", "..",  "\xCE\xBB", "/",  "nil/x"};
  // A keyword's name may also start like a number, or be true/nil.
  const std::set<std::string> keywords_too = {"+1", "-1a", ".5", "1", "true"};
  for (const auto& n : names) {
    EXPECT_EQ(expect_round_trip_or_rejected([&] { return Value::symbol(n); }, "symbol " + n),
              symbols.contains(n))
        << "symbol " << n;
    EXPECT_EQ(expect_round_trip_or_rejected([&] { return Value::keyword(n); }, "keyword " + n),
              symbols.contains(n) || keywords_too.contains(n))
        << "keyword " << n;
  }
}

TEST(EdnValue, BuiltStringsRoundTripOrAreRejected) {
  for (const char* bad : {"a\xFF", "\xC3", "\xED\xA0\x80", "\xC0\xAF"})  // not UTF-8
    EXPECT_FALSE(expect_round_trip_or_rejected([&] { return Value(bad); }, "string"));
  EXPECT_TRUE(expect_round_trip_or_rejected([] { return Value("ok \xE2\x82\xAC"); }, "string"));
}

TEST(EdnValue, KindNamesAreDistinctAndNonEmpty) {
  std::unordered_set<std::string> names;
  for (int k = 0; k <= static_cast<int>(Kind::Opaque); ++k) {
    const auto name = edn::kind_name(static_cast<Kind>(k));
    EXPECT_FALSE(name.empty());
    names.insert(std::string(name));
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(Kind::Opaque) + 1);
}

TEST(EdnValue, TruthinessFollowsClojure) {
  EXPECT_FALSE(static_cast<bool>(Value()));
  EXPECT_FALSE(static_cast<bool>(Value(false)));
  EXPECT_TRUE(static_cast<bool>(Value(true)));
  EXPECT_TRUE(static_cast<bool>(Value(0)));
  EXPECT_TRUE(static_cast<bool>(Value("")));
  EXPECT_TRUE(static_cast<bool>(edn::vec({})));
}

// --- lookup -----------------------------------------------------------------------

Value sample_conversation() {
  return edn::map({
      {"conv/id"_kw, "cv-1"},
      {"conv/instances"_kw, edn::map({{"ix-1", edn::map({{"state"_kw, "running"_kw}, {"n"_kw, 3}})},
                                      {"ix-2", edn::map({{"state"_kw, "done"_kw}})}})},
      {"conv/log"_kw, edn::vec({"a", "b", "c"})},
      {"id", "string key"},
  });
}

TEST(EdnValue, NestedMapLiteralAndOperatorIndex) {
  const Value conv = sample_conversation();
  EXPECT_EQ(conv.size(), 4u);
  EXPECT_EQ(conv[":conv/id"].as_string(), "cv-1");
  EXPECT_EQ(conv["id"].as_string(), "string key");
  EXPECT_TRUE(conv[":id"].is_nil());
  EXPECT_TRUE(conv["conv/id"].is_nil());
  EXPECT_EQ(conv[":conv/instances"]["ix-1"][":n"].as_int(), 3);
  EXPECT_EQ(conv["conv/log"_kw].size(), 3u);
  EXPECT_TRUE(conv[":missing"][":deeper"].is_nil());
  EXPECT_TRUE(Value()[":anything"].is_nil());
}

// Text that is no keyword names no entry, in a small map (compared as
// text) and in a large one (looked up as a keyword) alike.
TEST(EdnValue, OperatorIndexWithTextThatIsNoKeywordIsNilAtEverySize) {
  Value m = edn::map({});
  for (int i = 0; i < 20; ++i) {
    m = m.assoc(Value::keyword("k" + std::to_string(i)), i);
    EXPECT_TRUE(m[":a b"].is_nil()) << m.size() << " entries";
    EXPECT_TRUE(m[":"].is_nil()) << m.size() << " entries";
    EXPECT_EQ(m[":k0"], Value(0));
  }
}

TEST(EdnValue, FindAndContains) {
  const Value conv = sample_conversation();
  ASSERT_NE(conv.find("conv/id"_kw), nullptr);
  EXPECT_EQ(*conv.find("conv/id"_kw), Value("cv-1"));
  EXPECT_EQ(conv.find("nope"_kw), nullptr);
  EXPECT_TRUE(conv.contains("conv/log"_kw));
  EXPECT_FALSE(conv.contains("conv/log"));
  const Value s = edn::set({1, "two", "three"_kw});
  EXPECT_TRUE(s.contains("two"));
  EXPECT_FALSE(s.contains(2));
  EXPECT_FALSE(s.contains(1.0));
  EXPECT_TRUE(edn::map({{Value(), 1}}).contains(Value()));
}

TEST(EdnValue, IndexAccessOnVectorsAndLists) {
  const Value v = edn::vec({10, "x", "k"_kw});
  EXPECT_EQ(v.at(0), Value(10));
  EXPECT_EQ(v[1], Value("x"));
  EXPECT_EQ(v[2u], "k"_kw);
  EXPECT_EQ(v[std::size_t{2}], "k"_kw);
  EXPECT_THROW(v.at(3), edn::TypeError);
  EXPECT_THROW(v[100], edn::TypeError);
  const Value l = edn::list({1, 2});
  EXPECT_EQ(l[1], Value(2));
  EXPECT_THROW(l.at(2), edn::TypeError);
  EXPECT_THROW(Value(5).at(0), edn::TypeError);
}

TEST(EdnValue, ItemsAndEntriesIterate) {
  const Value v = edn::vec({1, 2, 3});
  std::int64_t sum = 0;
  for (const Value& x : v) sum += x.as_int();
  EXPECT_EQ(sum, 6);
  const Value m = edn::map({{"a"_kw, 1}, {"b"_kw, 2}});
  std::int64_t total = 0;
  std::size_t n = 0;
  for (const edn::MapEntry& e : m.entries()) {
    EXPECT_EQ(e.key.kind(), Kind::Keyword);
    total += e.val.as_int();
    ++n;
  }
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(total, 3);
  EXPECT_EQ(edn::set({3, 1, 2}).size(), 3u);
  EXPECT_EQ(Value().size(), 0u);
  EXPECT_TRUE(Value().empty());
  EXPECT_THROW(Value(1).size(), edn::TypeError);
  EXPECT_THROW(Value("abc").size(), edn::TypeError);
}

TEST(EdnValue, SetItemsAreInCanonicalOrder) {
  const Value a = edn::set({"x", 1, "k"_kw, 2.5});
  const Value b = edn::set({2.5, "k"_kw, 1, "x"});
  ASSERT_EQ(a.items().size(), b.items().size());
  for (std::size_t i = 0; i < a.items().size(); ++i) EXPECT_EQ(a.items()[i], b.items()[i]);
}

TEST(EdnValue, GetInFollowsPathAndReturnsNilWhenMissing) {
  const Value conv = sample_conversation();
  EXPECT_EQ(conv.get_in({"conv/instances"_kw, "ix-1", "state"_kw}), "running"_kw);
  EXPECT_TRUE(conv.get_in({"conv/instances"_kw, "ix-9", "state"_kw}).is_nil());
  EXPECT_TRUE(conv.get_in({"nope"_kw, "x"}).is_nil());
  EXPECT_EQ(conv.get_in({}), conv);
}

TEST(EdnValue, BuildersMergeDuplicates) {
  EXPECT_EQ(edn::map({{"a"_kw, 1}, {"a"_kw, 2}}), edn::map({{"a"_kw, 2}}));
  EXPECT_EQ(edn::set({1, 1, 2}).size(), 2u);
  const std::vector<Value> items = {1, 2, 3};
  EXPECT_EQ(edn::vec(std::span<const Value>(items)), edn::vec({1, 2, 3}));
  EXPECT_EQ(edn::list(std::span<const Value>(items)), edn::list({1, 2, 3}));
  EXPECT_EQ(edn::set(std::span<const Value>(items)), edn::set({3, 2, 1}));
}

// --- persistent updates --------------------------------------------------------------

TEST(EdnValue, AssocAndDissocLeaveOriginalIntactAndShareChildren) {
  const Value conv = sample_conversation();
  const std::string before = edn::write(conv);
  const Value changed = conv.assoc("conv/id"_kw, "cv-2").assoc("new"_kw, true);
  EXPECT_EQ(edn::write(conv), before);
  EXPECT_EQ(conv[":conv/id"], Value("cv-1"));
  EXPECT_EQ(changed[":conv/id"], Value("cv-2"));
  EXPECT_EQ(changed.size(), 5u);
  EXPECT_EQ(changed[":conv/instances"].node(), conv[":conv/instances"].node());
  EXPECT_EQ(changed[":conv/log"].node(), conv[":conv/log"].node());

  const Value removed = conv.dissoc("conv/log"_kw);
  EXPECT_EQ(removed.size(), 3u);
  EXPECT_FALSE(removed.contains("conv/log"_kw));
  EXPECT_TRUE(conv.contains("conv/log"_kw));
  EXPECT_EQ(removed[":conv/instances"].node(), conv[":conv/instances"].node());
  EXPECT_EQ(conv.dissoc("absent"_kw), conv);
}

TEST(EdnValue, AssocOnNilMakesAMap) {
  const Value m = Value().assoc("a"_kw, 1);
  EXPECT_EQ(m, edn::map({{"a"_kw, 1}}));
  EXPECT_THROW(Value(1).assoc("a"_kw, 1), edn::TypeError);
  EXPECT_THROW(Value("s").dissoc("a"_kw), edn::TypeError);
}

TEST(EdnValue, AssocInUpdatesDeepAndSharesSiblings) {
  const Value conv = sample_conversation();
  const Value next = conv.assoc_in({"conv/instances"_kw, "ix-1", "n"_kw}, 4);
  EXPECT_EQ(conv.get_in({"conv/instances"_kw, "ix-1", "n"_kw}), Value(3));
  EXPECT_EQ(next.get_in({"conv/instances"_kw, "ix-1", "n"_kw}), Value(4));
  EXPECT_EQ(next.get_in({"conv/instances"_kw, "ix-2"}).node(),
            conv.get_in({"conv/instances"_kw, "ix-2"}).node());
  EXPECT_EQ(next[":conv/log"].node(), conv[":conv/log"].node());
  const Value created = Value().assoc_in({"a"_kw, "b"_kw, "c"}, "deep");
  EXPECT_EQ(created, edn::map({{"a"_kw, edn::map({{"b"_kw, edn::map({{"c", "deep"}})}})}}));
  const Value added = conv.assoc_in({"conv/instances"_kw, "ix-3", "state"_kw}, "new"_kw);
  EXPECT_EQ(added.get_in({"conv/instances"_kw, "ix-3"}), edn::map({{"state"_kw, "new"_kw}}));
  EXPECT_FALSE(conv.get_in({"conv/instances"_kw}).contains("ix-3"));
}

TEST(EdnValue, VectorUpdatesArePersistent) {
  const Value big = edn::vec({"a-long-string-element", edn::vec({1, 2}), "c"_kw});
  const Value appended = big.conj(4);
  EXPECT_EQ(big.size(), 3u);
  EXPECT_EQ(appended, edn::vec({"a-long-string-element", edn::vec({1, 2}), "c"_kw, 4}));
  EXPECT_EQ(appended[0].node(), big[0].node());
  EXPECT_EQ(appended[1].node(), big[1].node());

  const Value replaced = big.set_at(1, "x");
  EXPECT_EQ(replaced, edn::vec({"a-long-string-element", "x", "c"_kw}));
  EXPECT_EQ(big[1], edn::vec({1, 2}));
  EXPECT_EQ(replaced[0].node(), big[0].node());
  EXPECT_THROW(big.set_at(3, 1), edn::Error);

  EXPECT_EQ(big.pop(), edn::vec({"a-long-string-element", edn::vec({1, 2})}));
  EXPECT_EQ(big.size(), 3u);
  EXPECT_THROW(edn::vec({}).pop(), edn::Error);

  EXPECT_EQ(big.subvec(1, 3), edn::vec({edn::vec({1, 2}), "c"_kw}));
  EXPECT_EQ(big.subvec(1, 3)[0].node(), big[1].node());
  EXPECT_EQ(big.subvec(2, 2), edn::vec({}));
  EXPECT_EQ(big.subvec(0, 3), big);
  EXPECT_THROW(big.subvec(2, 1), edn::Error);
  EXPECT_THROW(big.subvec(0, 4), edn::Error);
}

TEST(EdnValue, ListConjPrepends) {
  const Value l = edn::list({1, 2});
  EXPECT_EQ(l.conj(0), edn::list({0, 1, 2}));
  EXPECT_EQ(l, edn::list({1, 2}));
}

TEST(EdnValue, SetConjAndDisj) {
  const Value s = edn::set({1, 2});
  EXPECT_EQ(s.conj(3), edn::set({1, 2, 3}));
  EXPECT_EQ(s.conj(2), s);
  EXPECT_EQ(s.conj(2.0).size(), 3u);
  EXPECT_EQ(s.disj(1), edn::set({2}));
  EXPECT_EQ(s.disj(7), s);
  EXPECT_EQ(s, edn::set({1, 2}));
  EXPECT_THROW(Value(1).conj(2), edn::TypeError);
  EXPECT_THROW(edn::vec({1}).disj(1), edn::TypeError);
}

// --- typed accessors: errors name both kinds ---------------------------------------

struct WrongKind {
  const char* what;
  std::function<void()> call;
  std::optional<Kind> expected;  // nullopt: several kinds would do
  Kind actual;
};

TEST(EdnValue, TypedAccessorsThrowTypeErrorNamingBothKinds) {
  const Value i = 1, f = 1.0, s = "str", k = "kw"_kw, v = edn::vec({1});
  const std::vector<WrongKind> cases = {
      {"as_bool", [&] { (void)i.as_bool(); }, Kind::Bool, Kind::Int},
      {"as_int on float", [&] { (void)f.as_int(); }, Kind::Int, Kind::Float},
      {"as_double on int", [&] { (void)i.as_double(); }, Kind::Float, Kind::Int},
      {"as_char", [&] { (void)s.as_char(); }, Kind::Char, Kind::String},
      {"as_string", [&] { (void)k.as_string(); }, Kind::String, Kind::Keyword},
      {"as_symbol", [&] { (void)k.as_symbol(); }, Kind::Symbol, Kind::Keyword},
      {"as_keyword", [&] { (void)s.as_keyword(); }, Kind::Keyword, Kind::String},
      {"as_inst", [&] { (void)i.as_inst(); }, Kind::Inst, Kind::Int},
      {"as_uuid", [&] { (void)s.as_uuid(); }, Kind::Uuid, Kind::String},
      {"tag", [&] { (void)v.tag(); }, Kind::Tagged, Kind::Vector},
      {"tagged_value", [&] { (void)i.tagged_value(); }, Kind::Tagged, Kind::Int},
      {"opaque_label", [&] { (void)s.opaque_label(); }, Kind::Opaque, Kind::String},
      {"entries", [&] { (void)v.entries(); }, Kind::Map, Kind::Vector},
      {"name", [&] { (void)s.name(); }, std::nullopt, Kind::String},
      {"number_text", [&] { (void)i.number_text(); }, std::nullopt, Kind::Int},
      {"items", [&] { (void)i.items(); }, std::nullopt, Kind::Int},
  };
  for (const auto& c : cases) {
    try {
      c.call();
      ADD_FAILURE() << c.what << ": no exception";
    } catch (const edn::TypeError& e) {
      const std::string msg = e.what();
      if (c.expected) {
        EXPECT_TRUE(edn::test::contains_ci(msg, edn::kind_name(*c.expected)))
            << c.what << ": " << msg;
      }
      EXPECT_TRUE(edn::test::contains_ci(msg, edn::kind_name(c.actual))) << c.what << ": " << msg;
    }
  }
}

// --- equality, hashing, order ----------------------------------------------------------

std::vector<Value> equality_pool() {
  const double nan = std::nan("");
  return {
      Value(),
      Value(false),
      Value(true),
      Value(0),
      Value(1),
      Value(-1),
      Value(0.0),
      Value(-0.0),
      Value(1.0),
      Value(nan),
      Value(-nan),
      Value(std::numeric_limits<double>::infinity()),
      Value::big_int("1"),
      Value::big_int("123456789012345678901234567890"),
      Value::decimal("1.0"),
      Value::decimal("1.00"),
      Value::ratio(1, 2),
      Value::ratio(2, 4),
      Value::character('a'),
      Value("a"),
      Value(""),
      "a"_kw,
      "x/a"_kw,
      "a"_sym,
      "x/a"_sym,
      edn::list({}),
      edn::vec({}),
      edn::map({}),
      edn::set({}),
      edn::list({1, 2}),
      edn::vec({1, 2}),
      edn::vec({2, 1}),
      edn::vec({1.0, 2}),
      edn::set({1, 2}),
      edn::set({2, 1}),
      edn::map({{"a"_kw, 1}, {"b"_kw, 2}}),
      edn::map({{"b"_kw, 2}, {"a"_kw, 1}}),
      edn::map({{"a"_kw, 1}, {"b"_kw, 3}}),
      edn::map({{"a"_kw, 1}}),
      Value(edn::Instant{0, 0}),
      Value(edn::Instant{0, 1}),
      edn::read("#inst \"2020-01-01T01:00:00+01:00\""),
      edn::read("#inst \"2020-01-01T00:00:00Z\""),
      Value(edn::Uuid::parse("f81d4fae-7dec-11d0-a765-00a0c91e6bf6")),
      Value::tagged("my/t", 1),
      Value::tagged("my/t", 1.0),
      Value::tagged("my/u", 1),
  };
}

TEST(EdnValue, EqualityIsByValue) {
  EXPECT_NE(Value(1), Value(1.0));
  EXPECT_NE(Value(0), Value(false));
  EXPECT_NE(Value(), Value(false));
  EXPECT_NE(Value("a"), "a"_kw);
  EXPECT_NE("a"_kw, "a"_sym);
  EXPECT_EQ(Value(std::nan("")), Value(std::nan("")));
  EXPECT_EQ(edn::map({{"a"_kw, 1}, {"b"_kw, 2}}), edn::map({{"b"_kw, 2}, {"a"_kw, 1}}));
  EXPECT_EQ(edn::set({1, 2, 3}), edn::set({3, 1, 2}));
  EXPECT_NE(edn::set({1}), edn::set({1.0}));
  EXPECT_NE(edn::vec({1, 2}), edn::vec({2, 1}));
  EXPECT_EQ(Value(edn::Instant{5, 10}), Value(edn::Instant{5, 10}));
  EXPECT_NE(Value(edn::Instant{5, 10}), Value(edn::Instant{5, 11}));
  EXPECT_EQ(Value::ratio(2, 4), Value::ratio(1, 2));
  EXPECT_NE(Value::tagged("my/t", 1), Value::tagged("my/t", 1.0));
}

TEST(EdnValue, HashAndCompareAgreeWithEquality) {
  const auto pool = equality_pool();
  for (const auto& a : pool) {
    EXPECT_EQ(a, a) << testing::PrintToString(a);
    EXPECT_EQ(compare(a, a), 0) << testing::PrintToString(a);
    for (const auto& b : pool) {
      const bool eq = a == b;
      EXPECT_EQ(eq, b == a);
      EXPECT_EQ(eq, compare(a, b) == 0)
          << testing::PrintToString(a) << " vs " << testing::PrintToString(b);
      if (eq) {
        EXPECT_EQ(a.hash(), b.hash()) << testing::PrintToString(a);
      }
      const int ab = compare(a, b), ba = compare(b, a);
      EXPECT_EQ(ab<0, ba> 0) << testing::PrintToString(a) << " vs " << testing::PrintToString(b);
    }
  }
}

TEST(EdnValue, CompareIsTransitive) {
  const auto pool = equality_pool();
  for (const auto& a : pool) {
    for (const auto& b : pool) {
      for (const auto& c : pool) {
        if (compare(a, b) <= 0 && compare(b, c) <= 0) {
          EXPECT_LE(compare(a, c), 0)
              << testing::PrintToString(a) << " " << testing::PrintToString(b) << " "
              << testing::PrintToString(c);
        }
      }
    }
  }
}

TEST(EdnValue, WorksInUnorderedContainers) {
  std::unordered_set<Value> seen;
  seen.insert(edn::map({{"a"_kw, 1}, {"b"_kw, 2}}));
  seen.insert(edn::map({{"b"_kw, 2}, {"a"_kw, 1}}));
  seen.insert(Value(1));
  seen.insert(Value(1.0));
  EXPECT_EQ(seen.size(), 3u);
}

// --- opaque values -------------------------------------------------------------------

struct Frame {
  int step = 0;
};
struct Other {};

TEST(EdnValue, OpaqueHoldsTheObjectAndComparesByIdentity) {
  auto frame = std::make_shared<Frame>(Frame{7});
  const Value o = Value::opaque(frame, "flow-frame");
  EXPECT_EQ(o.kind(), Kind::Opaque);
  EXPECT_EQ(o.opaque_label(), "flow-frame");
  EXPECT_EQ(o.as_opaque<Frame>().get(), frame.get());
  EXPECT_EQ(o.as_opaque<Frame>()->step, 7);
  EXPECT_THROW(o.as_opaque<Other>(), edn::TypeError);
  EXPECT_THROW(Value(1).as_opaque<Frame>(), edn::TypeError);

  const Value copy = o;
  EXPECT_EQ(copy, o);
  EXPECT_EQ(copy.hash(), o.hash());
  const Value twin = Value::opaque(std::make_shared<Frame>(Frame{7}), "flow-frame");
  EXPECT_NE(twin, o);
  EXPECT_NE(o, Value());
  EXPECT_EQ(edn::set({o, copy, twin}).size(), 2u);
}

TEST(EdnValue, OpaqueKeepsObjectAliveAndReleasesIt) {
  auto frame = std::make_shared<Frame>();
  std::weak_ptr<Frame> weak = frame;
  {
    const Value o = Value::opaque(frame, "f");
    const Value holder = edn::vec({edn::map({{"k"_kw, o}})});
    frame.reset();
    EXPECT_FALSE(weak.expired());
    EXPECT_EQ(holder[0][":k"].as_opaque<Frame>().get(), weak.lock().get());
  }
  EXPECT_TRUE(weak.expired());
}

TEST(EdnValue, OpaqueWithExplicitTypeIndex) {
  auto frame = std::make_shared<Frame>(Frame{3});
  const Value o =
      Value::opaque(std::static_pointer_cast<void>(frame), std::type_index(typeid(Frame)), "raw");
  EXPECT_EQ(o.as_opaque<Frame>()->step, 3);
  EXPECT_THROW(o.as_opaque<int>(), edn::TypeError);
}

TEST(EdnValue, PrintableIsFalseForAnythingContainingAnOpaque) {
  const Value o = Value::opaque(std::make_shared<Frame>(), "flow");
  EXPECT_FALSE(o.printable());
  EXPECT_FALSE(edn::printable(o));
  const std::vector<Value> containers = {
      edn::vec({1, o}),
      edn::list({o}),
      edn::set({o, 2}),
      edn::map({{"k"_kw, o}}),
      edn::map({{o, 1}}),
      Value::tagged("my/t", o),
      edn::vec(
          {edn::map({{"a"_kw, edn::list({edn::set({Value::tagged("x/y", edn::vec({o}))})})}})}),
      edn::map({{"a"_kw, 1}}).assoc("b"_kw, o),
      sample_conversation().assoc_in({"conv/instances"_kw, "ix-1", "frame"_kw}, o),
      edn::vec({1}).conj(o),
      edn::set({1}).conj(o),
      edn::list({1}).conj(o),
      edn::vec({1, 2}).set_at(0, o),
  };
  for (const auto& c : containers) EXPECT_FALSE(c.printable()) << edn::write(c);
  EXPECT_TRUE(sample_conversation().printable());
  EXPECT_TRUE(Value().printable());
  EXPECT_TRUE(edn::map({{"a"_kw, 1}}).assoc("b"_kw, o).dissoc("b"_kw).printable());
  EXPECT_TRUE(edn::vec({1, o}).pop().printable());
  EXPECT_TRUE(edn::vec({o, 1, 2}).subvec(1, 3).printable());
  EXPECT_TRUE(edn::set({o, 1}).disj(o).printable());
  EXPECT_TRUE(edn::vec({1, o}).set_at(1, 2).printable());
}

TEST(EdnValue, DepthCountsWhatTheReaderCounts) {
  EXPECT_EQ(Value().depth(), 0u);
  EXPECT_EQ(Value(1).depth(), 0u);
  EXPECT_EQ(Value("s").depth(), 0u);
  EXPECT_EQ("k"_kw.depth(), 0u);
  EXPECT_EQ(Value(edn::Instant{0, 0}).depth(), 1u);  // #inst "…"
  EXPECT_EQ(edn::read("#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"").depth(), 1u);
  EXPECT_EQ(edn::vec({}).depth(), 1u);
  EXPECT_EQ(edn::map({}).depth(), 1u);
  EXPECT_EQ(edn::vec({1, edn::list({edn::set({2})})}).depth(), 3u);
  EXPECT_EQ(Value::tagged("my/t", edn::vec({1})).depth(), 2u);
  EXPECT_EQ(edn::map({{edn::vec({edn::vec({})}), 1}}).depth(), 3u) << "keys count too";
  // Builders keep it up to date, both ways.
  const Value deep = edn::vec({edn::vec({edn::vec({})})});
  EXPECT_EQ(edn::map({{"a"_kw, 1}}).assoc("b"_kw, deep).depth(), 4u);
  EXPECT_EQ(edn::map({{"a"_kw, 1}}).assoc("b"_kw, deep).dissoc("b"_kw).depth(), 1u);
  EXPECT_EQ(edn::vec({1}).conj(deep).depth(), 4u);
  EXPECT_EQ(edn::list({1}).conj(deep).depth(), 4u);
  EXPECT_EQ(edn::set({1}).conj(deep).depth(), 4u);
  EXPECT_EQ(edn::vec({1, deep}).pop().depth(), 1u);
  EXPECT_EQ(edn::vec({deep, 1}).set_at(0, 2).depth(), 1u);
  EXPECT_EQ(edn::vec({deep, 1, 2}).subvec(1, 3).depth(), 1u);
  EXPECT_EQ(edn::map({}).assoc_in({"a"_kw, "b"_kw}, deep).depth(), 5u);
}

TEST(EdnValue, OpaquePrintsAsObject) {
  const Value o = Value::opaque(std::make_shared<Frame>(), "flow-frame");
  const std::string text = edn::write(o);
  EXPECT_EQ(text.rfind("#object[", 0), 0u) << text;
  EXPECT_EQ(text.back(), ']') << text;
  EXPECT_NE(text.find("flow-frame"), std::string::npos) << text;
  const std::string nested = edn::write(edn::vec({1, o}));
  EXPECT_EQ(nested.rfind("[1 #object[", 0), 0u) << nested;
}

// --- cheap copies ---------------------------------------------------------------------

TEST(EdnValue, CopyingSharesTheNode) {
  std::vector<Value> items;
  items.reserve(100000);
  for (int i = 0; i < 100000; ++i) items.emplace_back(i);
  const Value v = edn::vec(std::span<const Value>(items));
  ASSERT_NE(v.node(), nullptr);
  const Value copy = v;
  EXPECT_EQ(copy.node(), v.node());
  Value assigned;
  assigned = v;
  EXPECT_EQ(assigned.node(), v.node());
  Value moved = std::move(assigned);
  EXPECT_EQ(moved.node(), v.node());
  const Value& alias = moved;
  moved = alias;  // self-assignment must keep the value alive
  EXPECT_EQ(moved.node(), v.node());
  EXPECT_EQ(moved.size(), 100000u);

  const Value m = sample_conversation();
  const Value mcopy = m;
  EXPECT_EQ(mcopy.node(), m.node());
  const Value str("a string long enough to live on the heap, certainly");
  EXPECT_EQ(Value(str).node(), str.node());
}

// A copy of a large vector shares its node: it does not touch the elements
// (a reference count, whatever the size).
TEST(EdnValue, CopiesOfALargeVectorShareItsNode) {
  std::vector<Value> items(100000, Value("element"));
  const Value v = edn::vec(std::span<const Value>(items));
  std::size_t shared = 0;
  for (int i = 0; i < 1000; ++i) {
    const Value c = v;
    shared += c.node() == v.node();
  }
  EXPECT_EQ(shared, 1000u);
}

// --- uuid and instant helpers -------------------------------------------------------------

TEST(EdnUuid, ParsePrintAndRandom) {
  const auto u = edn::Uuid::parse("F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6");
  EXPECT_EQ(u.to_string(), "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
  EXPECT_EQ(u.bytes[0], 0xF8);
  EXPECT_EQ(u.bytes[15], 0xF6);
  EXPECT_EQ(Value(u).as_uuid(), u);
  EXPECT_THROW(edn::Uuid::parse("f81d4fae7dec11d0a76500a0c91e6bf6x"), edn::TypeError);
  EXPECT_THROW(edn::Uuid::parse("g81d4fae-7dec-11d0-a765-00a0c91e6bf6"), edn::TypeError);
  EXPECT_THROW(edn::Uuid::parse(""), edn::TypeError);
  const auto r1 = edn::Uuid::random(), r2 = edn::Uuid::random();
  EXPECT_NE(r1, r2);
  EXPECT_EQ(r1.bytes[6] >> 4, 4);
  EXPECT_EQ(r1.bytes[8] & 0xC0, 0x80);
  EXPECT_EQ(edn::Uuid::parse(r1.to_string()), r1);
}

TEST(EdnInstant, NowAndMillis) {
  const auto now = edn::Instant::now();
  EXPECT_GT(now.seconds, 1700000000);  // after November 2023
  EXPECT_LT(now.nanos, 1000000000u);
  EXPECT_EQ((edn::Instant{1, 999999999}).millis(), 1999);
  EXPECT_EQ((edn::Instant{-1, 999000000}).millis(), -1);
  EXPECT_LT((edn::Instant{-1, 5}), (edn::Instant{0, 0}));
}

// --- pretty --------------------------------------------------------------------------

TEST(EdnPretty, ReadsBackAndBreaksLongValues) {
  Value conv = sample_conversation();
  for (int i = 0; i < 20; ++i)
    conv =
        conv.assoc_in({"conv/instances"_kw, "ix-extra-" + std::to_string(i)},
                      edn::map({{"state"_kw, "waiting"_kw}, {"payload"_kw, edn::vec({i, "x"})}}));
  const std::string text = edn::pretty(conv);
  EXPECT_NE(text.find('\n'), std::string::npos) << text;
  EXPECT_EQ(edn::read(text), conv);
  EXPECT_EQ(edn::read(edn::pretty(conv, 20)), conv);
  EXPECT_EQ(edn::read(edn::pretty(Value(42))), Value(42));
}

// A lookup on a temporary returns a copy, so a reference bound to it lives
// as long as the reference (a reference into the temporary dangled: ASan
// reported a heap-use-after-free for each of these).
TEST(EdnValue, LookupsOnATemporaryOutliveIt) {
  const std::string text(100, 'x');
  const auto load = [&] {
    return edn::map({{edn::kw("name"), text}, {edn::kw("items"), edn::vec({text, 2})}});
  };
  const Value& name = load()[":name"];
  const Value& first = load()[":items"][0];
  const Value& got = load().get(edn::kw("name"));
  const Value& deep = load().get_in({edn::kw("items"), 0});
  const Value& at = load()[":items"].at(1);
  std::vector<Value> seen;
  for (const Value& item : load()[":items"]) seen.push_back(item);
  EXPECT_EQ(name.as_string(), text);
  EXPECT_EQ(first.as_string(), text);
  EXPECT_EQ(got.as_string(), text);
  EXPECT_EQ(deep.as_string(), text);
  EXPECT_EQ(at, Value(2));
  EXPECT_EQ(seen, (std::vector<Value>{Value(text), Value(2)}));
}

// Review of 2026-12-07: edge cases of the builders and lookups.

// What the reader refuses for Clojure's sake, the builder refuses too.
TEST(EdnValue, ADecimalBeyondBigDecimalsRangeIsRefused) {
  for (const char* text : {"1e99999999999", "1e2147483648", "1e-2147483648", "1.5e-2147483647"}) {
    try {
      (void)Value::decimal(text);
      ADD_FAILURE() << text << " was built";
    } catch (const edn::TypeError& e) {
      EXPECT_TRUE(edn::test::contains_ci(e.what(), "out of range")) << e.what();
    }
  }
  EXPECT_EQ(edn::write(Value::decimal("1e2147483647")), "1e2147483647M");
}

// An equal key replaced by assoc keeps the key first stored, as Clojure's
// assoc does: -0.0 stays -0.0.
TEST(EdnValue, AssocOfAnEqualKeyKeepsTheStoredKey) {
  const Value m = edn::map({{Value(-0.0), Value(1)}}).assoc(Value(0.0), Value(2));
  EXPECT_EQ(edn::write(m), "{-0.0 2}");
  EXPECT_EQ(edn::write(edn::map({{Value(-0.0), Value(1)}}).assoc(Value(0.0), Value(1))),
            "{-0.0 1}");
}

// Nanoseconds of a second or more carry before the range is checked.
TEST(EdnInstant, NanosCarryIntoTheFirstSecondOfYearZero) {
  const Value carried(edn::Instant{-62167219201, 1000000000});
  EXPECT_EQ(carried, Value(edn::Instant{-62167219200, 0}));
  EXPECT_EQ(edn::write(carried), "#inst \"0000-01-01T00:00:00.000-00:00\"");
  EXPECT_THROW((void)Value(edn::Instant{-62167219202, 1000000000}), edn::TypeError);
}

// Text that names no key gives nil, also when it is no UTF-8 (a request's
// parameter, say): absent, not an error.
TEST(EdnValue, LookupByInvalidUtf8TextIsNil) {
  const Value m = edn::map({{Value("a"), Value(1)}});
  EXPECT_TRUE(m["\xff"].is_nil());
  EXPECT_TRUE(m[":\xff"].is_nil());
  EXPECT_EQ(m["a"], Value(1));
}

// A discarded namespaced map is read, not interpreted: a key that could
// not be qualified does not fail the text, as in Clojure.
TEST(EdnRead, ADiscardedNamespacedMapIsNotQualified) {
  EXPECT_EQ(edn::read("[#_ #:a{:1 2} 5]"), edn::read("[5]"));
}

}  // namespace
