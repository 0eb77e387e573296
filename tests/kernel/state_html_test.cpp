// Typed state (STUBE_STATE) and the escaping HTML builder with on()/bind().
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/support.hpp"
#include "stube/html.hpp"
#include "stube/state.hpp"

namespace stube::test {

struct Address {
  std::string city;
  std::optional<std::string> zip;
};
STUBE_STATE(Address, city, zip)

struct Person {
  std::string name;
  std::int64_t age = 0;
  bool admin = false;
  double score = 0.5;
  std::vector<std::string> tags;
  std::map<std::string, int> counts;
  std::optional<Address> address;
  Value extra;
};
STUBE_STATE(Person, name, age, admin, score, tags, counts, address, extra)

// The most fields STUBE_STATE takes (one more is a static_assert saying so).
struct Wide {
  int f01 = 1, f02 = 2, f03 = 3, f04 = 4, f05 = 5, f06 = 6, f07 = 7, f08 = 8, f09 = 9, f10 = 10,
      f11 = 11, f12 = 12, f13 = 13, f14 = 14, f15 = 15, f16 = 16, f17 = 17, f18 = 18, f19 = 19,
      f20 = 20, f21 = 21, f22 = 22, f23 = 23, f24 = 24, f25 = 25, f26 = 26, f27 = 27, f28 = 28,
      f29 = 29, f30 = 30, f31 = 31, f32 = 32;
};
STUBE_STATE(Wide, f01, f02, f03, f04, f05, f06, f07, f08, f09, f10, f11, f12, f13, f14, f15, f16,
            f17, f18, f19, f20, f21, f22, f23, f24, f25, f26, f27, f28, f29, f30, f31, f32)

namespace {

Person sample() {
  Person p;
  p.name = "Ada";
  p.age = 36;
  p.admin = true;
  p.score = 2.25;
  p.tags = {"math", "engines"};
  p.counts = {{"a", 1}, {"b", 2}};
  p.address = Address{"London", std::nullopt};
  p.extra = edn::set({kw("x")});
  return p;
}

TEST(State, AStructBecomesAnEdnMapAndComesBack) {
  const Value v = to_edn(sample());
  EXPECT_EQ(v, edn::read(R"({:name "Ada", :age 36, :admin true, :score 2.25,
                              :tags ["math" "engines"], :counts {"a" 1, "b" 2},
                              :address {:city "London", :zip nil}, :extra #{:x}})"));
  const Person back = from_edn<Person>(v);
  EXPECT_EQ(to_edn(back), v);
}

TEST(State, AStructOfThirtyTwoFieldsHasThemAll) {
  const Value v = to_edn(Wide{});
  ASSERT_EQ(v.size(), 32u);
  EXPECT_EQ(v[":f01"], Value(1));
  EXPECT_EQ(v[":f32"], Value(32));
  EXPECT_EQ(from_edn<Wide>(edn::read("{:f17 -17}")).f17, -17);
}

TEST(State, MissingKeysKeepTheirDefaults) {
  const Person p = from_edn<Person>(edn::read(R"({:name "Bo"})"));
  EXPECT_EQ(p.name, "Bo");
  EXPECT_EQ(p.age, 0);
  EXPECT_DOUBLE_EQ(p.score, 0.5);
  EXPECT_FALSE(p.address.has_value());
  EXPECT_EQ(from_edn<Person>(Value()).name, "");
}

struct Prefs {
  std::string theme = "plain";
  std::int32_t size = 12;
};
STUBE_STATE(Prefs, theme, size)

struct Page {
  Prefs prefs{"light", 14};
  std::optional<Prefs> extra;
};
STUBE_STATE(Page, prefs, extra)

// An application's own read_fields beside its types is not taken for the
// library's (an unqualified call would find it by argument lookup).
[[maybe_unused]] void read_fields(Prefs& p, const Value&) {
  p.theme = "hijacked";
}

// A nested struct's missing keys keep the default the enclosing struct
// gives it, not the nested type's own (read into a fresh Prefs, size was 12).
TEST(State, ANestedStructsMissingKeysKeepTheEnclosingStructsDefaults) {
  const Page p = from_edn<Page>(edn::read(R"({:prefs {:theme "dark"}})"));
  EXPECT_EQ(p.prefs.theme, "dark");
  EXPECT_EQ(p.prefs.size, 14);
  EXPECT_EQ(from_edn<Page>(edn::read("{:prefs nil}")).prefs.size, 14);
  EXPECT_EQ(from_edn<Page>(edn::read("{}")).prefs.theme, "light");
  EXPECT_EQ(from_edn<Page>(edn::read("{:prefs {:size 20}}")).prefs.theme, "light");
  // An optional one has no default of the enclosing struct: the type's own.
  EXPECT_EQ(from_edn<Page>(edn::read("{:extra {:theme \"dark\"}}")).extra->size, 12);
  try {
    from_edn<Page>(edn::read(R"({:prefs {:size "big"}})"));
    ADD_FAILURE() << "a wrong kind inside the nested struct was taken";
  } catch (const edn::TypeError& e) {
    EXPECT_NE(std::string(e.what()).find("state field 'prefs': state field 'size'"),
              std::string::npos)
        << e.what();
  }
}

TEST(State, AnIntegerIsAcceptedWhereADoubleIsDeclared) {
  EXPECT_DOUBLE_EQ(from_edn<Person>(edn::read("{:score 3}")).score, 3.0);
}

// A browser writes a whole number from 2^64 up to 1e21 without a point or an
// exponent (JSON.stringify(1e20)), which reads as a big integer: a double
// field takes it. A float field refuses a finite number beyond its range
// (it became an infinity, sent to the page as null, posted back as null:
// every later event was a 400).
TEST(State, FloatingPointFieldsTakeBigIntegersAndFloatsRefuseWhatTheyCannotHold) {
  EXPECT_DOUBLE_EQ(from_edn<double>(edn::read("100000000000000000000N")), 1e20);
  EXPECT_DOUBLE_EQ(from_edn<double>(edn::read("-100000000000000000000N")), -1e20);
  EXPECT_FLOAT_EQ(from_edn<float>(edn::read("100000000000000000000N")), 1e20f);
  EXPECT_FLOAT_EQ(from_edn<float>(edn::read("2.5")), 2.5f);
  EXPECT_TRUE(std::isinf(from_edn<float>(edn::read("##Inf"))));  // stored as it was
  for (const char* text : {"1.0E300", "-1.0E39", "1000000000000000000000000000000000000000N"}) {
    try {
      (void)from_edn<float>(edn::read(text));
      ADD_FAILURE() << text << " became a float";
    } catch (const edn::TypeError& e) {
      EXPECT_TRUE(contains(e.what(), "out of range for a float")) << e.what();
    }
  }
}

// A float is kept as the double its shortest text reads as: 0.1f as 0.1,
// not 0.10000000149011612, which a bound field would then show.
TEST(State, AFloatIsKeptAsItsShortestText) {
  EXPECT_EQ(edn::write(to_edn(0.1f)), "0.1");
  EXPECT_EQ(edn::write(to_edn(1.1f)), "1.1");
  EXPECT_EQ(edn::write(to_edn(3.0e38f)), "3.0E38");
  // 0x1.5c87fap-84 is 7.038531E-26 at its shortest, but that text read as a
  // double and then as a float lands a step away: it keeps its exact value.
  for (const float f : {0.1f, 1.1f, 16777217.0f, 1e-45f, -2.5f, 3.4028235e38f, -3.4028235e38f,
                        0x1.5c87fap-84f, -0x1.5c87fap-84f, 1.17549435e-38f})
    EXPECT_EQ(from_edn<float>(to_edn(f)), f) << f;
  EXPECT_TRUE(std::isinf(to_edn(std::numeric_limits<float>::infinity()).as_double()));
}

// Writing a typed state names the field whose value cannot be one: text a
// handler cut inside a character.
TEST(State, AValueThatCannotBeWrittenNamesTheField) {
  Person p = sample();
  p.address->city = "a\xC3";
  for (const auto& write : {std::function<void()>([&] { (void)to_edn(p); }),
                            std::function<void()>([&] { (void)merge_into(edn::map({}), p); })}) {
    try {
      write();
      ADD_FAILURE() << "invalid UTF-8 was written";
    } catch (const edn::TypeError& e) {
      EXPECT_TRUE(contains(e.what(), "state field 'address': state field 'city': ")) << e.what();
    }
  }
}

TEST(State, AWrongKindNamesTheField) {
  try {
    (void)from_edn<Person>(edn::read(R"({:age "old"})"));
    FAIL() << "expected a TypeError";
  } catch (const edn::TypeError& e) {
    EXPECT_TRUE(contains(e.what(), "age")) << e.what();
  }
}

// A set answers find() by its members, so it passed for a struct (its
// fields at their defaults, or a member taken for a value): only a map is.
TEST(State, ASetInPlaceOfAStructIsAWrongKindNamingTheField) {
  for (const char* text : {R"({:address #{}})", R"({:address #{:city}})"}) {
    try {
      (void)from_edn<Person>(edn::read(text));
      ADD_FAILURE() << "a set was read as a struct: " << text;
    } catch (const edn::TypeError& e) {
      EXPECT_TRUE(contains(e.what(), "address")) << e.what();
      EXPECT_TRUE(contains(e.what(), "set")) << e.what();
    }
  }
  EXPECT_THROW((void)from_edn<Person>(edn::read("#{:name}")), edn::TypeError);
}

struct Sizes {
  std::uint8_t level = 0;
  std::int32_t delta = 0;
  unsigned count = 0;
};
STUBE_STATE(Sizes, level, delta, count)

// What from_edn<T> of the EDN text throws, or "no error".
template <class T>
std::string read_failure(std::string_view edn_text) {
  try {
    (void)from_edn<T>(edn::read(edn_text));
  } catch (const edn::TypeError& e) {
    return e.what();
  }
  return "no error";
}

// An integer that does not fit its field is an error naming the field and
// the range, never a silently wrapped number.
TEST(State, AnIntegerOutOfItsFieldsRangeNamesTheFieldAndTheRange) {
  const auto failure = read_failure<Sizes>;
  EXPECT_EQ(failure("{:level 256}"), "state field 'level': edn: integer 256 out of range 0..255");
  EXPECT_EQ(failure("{:delta 10000000000}"),
            "state field 'delta': edn: integer 10000000000 out of range -2147483648..2147483647");
  EXPECT_EQ(failure("{:count -1}"),
            "state field 'count': edn: integer -1 out of range 0..4294967295");
  const Sizes edge =
      from_edn<Sizes>(edn::read("{:level 255, :delta -2147483648, :count 4294967295}"));
  EXPECT_EQ(edge.level, 255);
  EXPECT_EQ(edge.delta, INT32_MIN);
  EXPECT_EQ(edge.count, 4294967295u);
}

struct Token {
  std::uint64_t id = 0;
  std::uint32_t small = 0;
};
STUBE_STATE(Token, id, small)

// A 64-bit unsigned value past INT64_MAX is written as a big integer and
// read back as itself, not wrapped to a negative number its own field
// then refuses.
TEST(State, LargeUnsignedValuesRoundTripAsBigIntegers) {
  const Token t{UINT64_MAX, 7};
  const Value written = to_edn(t);
  EXPECT_EQ(written, edn::read("{:id 18446744073709551615N, :small 7}")) << edn::write(written);
  const Token back = from_edn<Token>(edn::read(edn::write(written)));
  EXPECT_EQ(back.id, UINT64_MAX);
  EXPECT_EQ(from_edn<Token>(edn::read("{:id 9223372036854775807}")).id, 9223372036854775807u);
  EXPECT_EQ(from_edn<Token>(edn::read("{:id 9223372036854775808N}")).id, 9223372036854775808u);
  const auto failure = read_failure<Token>;
  EXPECT_EQ(failure("{:id 18446744073709551616N}"),
            "state field 'id': edn: integer 18446744073709551616N out of range "
            "0..18446744073709551615");
  EXPECT_EQ(failure("{:id -1N}"),
            "state field 'id': edn: integer -1N out of range 0..18446744073709551615");
  EXPECT_EQ(failure("{:small 4294967296N}"),
            "state field 'small': edn: integer 4294967296N out of range 0..4294967295");
}

// Clojure writes a BigInt as 5N however small: a signed field takes one
// within its range too.
TEST(State, SignedFieldsTakeBigIntegersInTheirRange) {
  EXPECT_EQ(from_edn<Person>(edn::read("{:age 5N}")).age, 5);
  EXPECT_EQ(from_edn<Sizes>(edn::read("{:delta -2147483648N}")).delta, INT32_MIN);
  const auto failure = read_failure<Sizes>;
  EXPECT_EQ(failure("{:delta 2147483648N}"),
            "state field 'delta': edn: integer 2147483648N out of range -2147483648..2147483647");
  EXPECT_EQ(read_failure<Person>("{:age 9223372036854775808N}"),
            "state field 'age': edn: integer 9223372036854775808N out of range "
            "-9223372036854775808..9223372036854775807");
}

// A map field's keys are text: :a and "a" would be one key, and the next
// write of the field would lose the other for good.
TEST(State, AMapFieldWithTwoKeysOfOneTextIsRefused) {
  EXPECT_EQ(read_failure<Person>(R"({:counts {"a" 1, :a 2}})"),
            "state field 'counts': edn: two keys of the map are both \"a\" as text (a keyword "
            "and a string?); one would be lost");
  EXPECT_EQ(from_edn<Person>(edn::read(R"({:counts {"a" 1, :b 2}})")).counts.size(), 2u);
}

TEST(State, MergeKeepsKeysTheStructDoesNotDeclare) {
  const Value state = edn::read(R"({:name "old", :untyped 1})");
  Person p;
  p.name = "new";
  const Value merged = merge_into(state, p);
  EXPECT_EQ(merged[":name"], Value("new"));
  EXPECT_EQ(merged[":untyped"], Value(1));
}

// Nested structs too: a key their map has and they do not declare (a newer
// version's field, one a Clojure program wrote) outlives a typed step.
TEST(State, MergeKeepsKeysANestedStructDoesNotDeclare) {
  const Value state = edn::read(R"({:name "old", :address {:city "Oslo", :zip "0150", :floor 3}})");
  Person p = from_edn<Person>(state);
  p.address->city = "Bergen";
  const Value merged = merge_into(state, p);
  EXPECT_EQ(merged[":address"], edn::read(R"({:city "Bergen", :zip "0150", :floor 3})"));
  // A nested value that is not a map (written by hand) becomes the struct's.
  const Value odd = merge_into(edn::read(R"({:address "Oslo"})"), p);
  EXPECT_EQ(odd[":address"], edn::read(R"({:city "Bergen", :zip "0150"})"));
}

TEST(State, TypedHandlersKeepUntypedKeys) {
  Registry reg;
  reg.define<Person>("t/person").on("birthday", [](Ctx<Person>& c) { ++c->age; });
  Step s = start_conversation(reg, "t/person", {}, {});
  // A key Person does not declare survives a typed handler.
  const Value with_note =
      conv::put_instance(s.conv, top_iid(s.conv), top_frame(s.conv).assoc(kw("note"), "kept"));
  s = send_top(reg, with_note, Event{"birthday"});
  EXPECT_EQ(top_frame(s.conv)[":age"], Value(1));
  EXPECT_EQ(top_frame(s.conv)[":note"], Value("kept"));
  EXPECT_EQ(top_frame(s.conv)[":name"], Value(""));
}

// A typed hook may use the EDN accessors too: a write through them reaches
// the struct (it was overwritten by it when the hook returned).
TEST(State, ATypedContextsSetReachesItsFields) {
  Registry reg;
  reg.define<Person>("t/person").on("edit", [](Ctx<Person>& c) {
    ++c->age;
    c.set("name", "Grace");
    EXPECT_EQ(c["name"], Value("Grace"));
    EXPECT_EQ(c->age, 1) << "a write through set() undid c->age's";
    EXPECT_EQ(c->name, "Grace");
    c.set(":note", "kept");
    EXPECT_EQ(c[":note"], Value("kept"));
    // A value of the wrong type for a field is refused, naming it; the
    // context stays as it was.
    try {
      c.set("age", "old");
      ADD_FAILURE() << "a string age was taken";
    } catch (const edn::TypeError& e) {
      EXPECT_TRUE(contains(e.what(), "age")) << e.what();
    }
    EXPECT_EQ(c->age, 1);
    c.set_state(c.state().assoc(kw("admin"), true));
    EXPECT_TRUE(c->admin);
    EXPECT_EQ(c->name, "Grace");
  });
  Step s = start_conversation(reg, "t/person", {}, {});
  s = send_top(reg, s.conv, Event{"edit"});
  EXPECT_EQ(top_frame(s.conv)[":age"], Value(1));
  EXPECT_EQ(top_frame(s.conv)[":name"], Value("Grace"));
  EXPECT_EQ(top_frame(s.conv)[":note"], Value("kept"));
  EXPECT_EQ(top_frame(s.conv)[":admin"], Value(true));
}

// Without an init hook a typed component, like an untyped one, takes map
// arguments as its state; a field of the wrong kind is refused, naming it.
TEST(State, WithoutInitATypedComponentTakesItsMapArguments) {
  Registry reg;
  reg.define<Person>("t/person");
  const Step s = start_conversation(reg, "t/person", edn::read(R"({:name "Ada", :age 36})"), {});
  EXPECT_EQ(top_frame(s.conv)[":name"], Value("Ada"));
  EXPECT_EQ(top_frame(s.conv)[":age"], Value(36));
  EXPECT_EQ(top_frame(s.conv)[":score"], Value(0.5));
  EXPECT_EQ(top_frame(start_conversation(reg, "t/person", Value(7), {}).conv)[":name"], Value(""));
  try {
    (void)start_conversation(reg, "t/person", edn::read(R"({:age "old"})"), {});
    ADD_FAILURE() << "a string age was taken";
  } catch (const edn::TypeError& e) {
    EXPECT_TRUE(contains(e.what(), "age")) << e.what();
  }
}

TEST(Html, TextAndAttributeValuesAreEscaped) {
  using namespace html;
  const Html h = div(attr("title", "a\"b<c>'&"), "1 < 2 & \"3\"", span("x"));
  EXPECT_EQ(h.str(),
            "<div title=\"a&quot;b&lt;c&gt;&#39;&amp;\">1 &lt; 2 &amp; "
            "&quot;3&quot;<span>x</span></div>");
}

TEST(Html, ValuesNumbersAndListsOfChildren) {
  using namespace html;
  std::vector<Html> items{li("a"), li("b")};
  EXPECT_EQ(ul(items).str(), "<ul><li>a</li><li>b</li></ul>");
  EXPECT_EQ(p(42, " ", Value(kw("k")), " ", Value("s<")).str(), "<p>42 :k s&lt;</p>");
  EXPECT_EQ(p(Value()).str(), "<p></p>");
  EXPECT_EQ(input(attr("type", "text"), flag("disabled")).str(), "<input type=\"text\" disabled>");
  EXPECT_EQ(Html::unsafe_raw("<b>trusted</b>").str(), "<b>trusted</b>");
}

TEST(Html, InlineScriptHandlersAndBadNamesAreRefused) {
  using namespace html;
  EXPECT_THROW(attr("onclick", "x()"), std::invalid_argument);
  EXPECT_THROW(attr("OnLoad", "x()"), std::invalid_argument);
  EXPECT_THROW(attr("a b", "x"), std::invalid_argument);
  EXPECT_THROW(attr("x\"y", "x"), std::invalid_argument);
  EXPECT_THROW(element("scr ipt"), std::invalid_argument);
}

TEST(Html, OnPostsTheEventWithAnEncodedPayload) {
  const Wire wire{"/base", "cv-1"};
  const Self self("ix-1", edn::map({}), &wire);
  const html::Attr a = self.on("click", "pick", edn::vec({1, "it's"}));
  EXPECT_EQ(a.name(), "data-on-click");
  EXPECT_TRUE(contains(a.value(), "@post('/base/event/cv-1/ix-1/pick?p="));
  EXPECT_EQ(a.value().find('\'', 7), a.value().find("', {"));  // no quote inside the URL
  EXPECT_THROW(self.on("click", "bad name"), std::invalid_argument);
  EXPECT_THROW(self.on("cl'ick", "x"), std::invalid_argument);
}

// A payload the server would refuse on every click (too deep, too long for
// a URL, a live object) is refused when the view is rendered instead.
TEST(Html, OnRefusesAPayloadTheServerCouldNotTakeBack) {
  const Wire wire{"", "cv-1"};
  const Self self("ix-1", edn::map({}), &wire);
  const auto refusal_of = [&](const Value& payload) {
    try {
      (void)self.on("click", "pick", payload);
      return std::string();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
  };
  Value deep = Value(1);
  for (std::size_t i = 0; i < kMaxPayloadDepth; ++i) deep = edn::vec({deep});
  EXPECT_EQ(refusal_of(deep), "") << "as deep as the server reads";
  EXPECT_TRUE(contains(refusal_of(edn::vec({deep})), "nests 65 levels deep"));
  std::vector<Value> many(400, Value("some text"));
  EXPECT_TRUE(contains(refusal_of(edn::vec(many)), "bytes in the URL, over kMaxPayloadUrlBytes"));
  const Value live = Value::opaque(std::make_shared<int>(1), "my/thing");
  EXPECT_TRUE(contains(refusal_of(edn::map({{kw("x"), live}})), "a live C++ object"));
}

TEST(Html, BindUsesThePerInstanceSignalNamespace) {
  const Wire wire{"", "cv-1"};
  const Self self("ix-a_b", edn::map({}), &wire);
  EXPECT_EQ(self.bind("answer").value(), "ix-a_0b.answer");
  EXPECT_THROW(self.bind("_local"), std::invalid_argument);
  EXPECT_THROW(self.bind("a__b"), std::invalid_argument);
}

// Ids from a hand-edited store record: a quote would close the script's
// string and run what follows on the page.
TEST(Html, OnAndBindRefuseIdsThatAreNotIds) {
  const Wire good{"", "cv-1"};
  const Self forged("x',alert(document.cookie),'", edn::map({}), &good);
  EXPECT_THROW(forged.on("click", "yes"), std::invalid_argument);
  EXPECT_THROW(forged.bind("answer"), std::invalid_argument);
  const Wire bad{"", "cv-1');alert(1);('"};
  const Self self("ix-1", edn::map({}), &bad);
  EXPECT_THROW(self.on("click", "yes"), std::invalid_argument);
  EXPECT_THROW(self.bind("answer"), std::invalid_argument);
  try {
    (void)forged.on("click", "yes");
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), "invalid instance id")) << e.what();
  }
}

}  // namespace
}  // namespace stube::test
