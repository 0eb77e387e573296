// The examples of docs/edn.md, compiled and run; each test asserts what the
// doc's comments and prose say the code gives. The marked regions must stay
// byte-identical to the doc's blocks (tests/kernel/docs_test.cpp checks), so
// they are left unformatted and unindented; the names a block uses without
// defining (conv from "Building values", text, buffer, v) are set up just
// before it.
#include <gtest/gtest.h>

#include <memory>
#include <string>

// clang-format off
// snippet: edn-api
#include "stube/edn.hpp"
namespace edn = stube::edn;
using namespace stube::edn::literals;  // "conv/id"_kw, "a/b"_sym
// end snippet
// clang-format on

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The conversation of "Building values", which the later blocks look into.
edn::Value doc_conv() {
  // clang-format off
// snippet: edn-build
edn::Value conv = edn::map({
    {"conv/id"_kw, "cv-1"},
    {"conv/stack"_kw, edn::vec({"ix-1"})},
    {"conv/instances"_kw,
     edn::map({{"ix-1", edn::map({{"instance/id"_kw, "ix-1"}, {"count"_kw, 0}})}})},
    {"conv/created"_kw, edn::Instant{1700000000, 0}},
});

edn::kw("conv/id");                      // :conv/id (also ":conv/id")
edn::Value::keyword("conv", "id");       // :conv/id
edn::sym("a/b");                         // a/b
edn::Value::character(U'é');             // \é
edn::Value::big_int("123456789012345678901234567890");
edn::Value::decimal("1.50");             // 1.50M
edn::Value::ratio(6, 4);                 // 3/2
edn::Value::tagged("my/point", edn::vec({1, 2}));     // #my/point [1 2]
edn::Value(edn::Uuid::random());         // #uuid "…" (version 4)
edn::Value(edn::Instant::now());         // #inst "…"
edn::set({3, 1, 2});  edn::list({1, 2});
// end snippet
  // clang-format on
  return conv;
}

TEST(EdnDocs, TheLiteralsAreKeywordsAndSymbols) {
  EXPECT_EQ("conv/id"_kw, edn::kw("conv/id"));
  EXPECT_EQ("a/b"_sym, edn::sym("a/b"));
  EXPECT_EQ(edn::write("a/b"_sym), "a/b");
}

TEST(EdnDocs, BuildingValues) {
  EXPECT_EQ(doc_conv(), edn::read(R"({:conv/id "cv-1", :conv/stack ["ix-1"],
      :conv/instances {"ix-1" {:instance/id "ix-1", :count 0}},
      :conv/created #inst "2023-11-14T22:13:20Z"})"));
  EXPECT_EQ(edn::write(edn::kw("conv/id")), ":conv/id");
  EXPECT_EQ(edn::kw(":conv/id"), edn::kw("conv/id"));
  EXPECT_EQ(edn::Value::keyword("conv", "id"), edn::kw("conv/id"));
  EXPECT_EQ(edn::write(edn::sym("a/b")), "a/b");
  EXPECT_TRUE(edn::sym("a/b").is(edn::Kind::Symbol));
  EXPECT_EQ(edn::write(edn::Value::character(U'é')), "\\é");
  EXPECT_EQ(edn::write(edn::Value::big_int("123456789012345678901234567890")),
            "123456789012345678901234567890N");
  EXPECT_EQ(edn::write(edn::Value::decimal("1.50")), "1.50M");
  EXPECT_EQ(edn::write(edn::Value::ratio(6, 4)), "3/2");
  EXPECT_EQ(edn::write(edn::Value::tagged("my/point", edn::vec({1, 2}))), "#my/point [1 2]");
  const std::string uuid = edn::write(edn::Value(edn::Uuid::random()));
  ASSERT_EQ(uuid.size(), 44u) << uuid;  // #uuid "8-4-4-4-12"
  EXPECT_EQ(uuid.substr(0, 7), "#uuid \"") << uuid;
  EXPECT_EQ(uuid[7 + 14], '4') << uuid;  // the version digit
  EXPECT_EQ(edn::write(edn::Value(edn::Instant::now())).substr(0, 7), "#inst \"");
  EXPECT_EQ(edn::set({3, 1, 2}), edn::read("#{1 2 3}"));
  EXPECT_EQ(edn::list({1, 2}), edn::read("(1 2)"));
  // The prose: a repeated key keeps the later entry; a bad name throws.
  EXPECT_EQ(edn::map({{"a"_kw, 1}, {"a"_kw, 2}}), edn::read("{:a 2}"));
  EXPECT_THROW(edn::kw("a b"), edn::TypeError);
}

TEST(EdnDocs, LookingThingsUp) {
  const edn::Value conv = doc_conv();
  int entries = 0, ids = 0;
  // The loops' bodies are the doc's placeholder comments.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-variable"
  // clang-format off
// snippet: edn-lookup
conv[":conv/id"].as_string();            // "cv-1": a leading ':' means keyword
conv[":conv/instances"]["ix-1"][":count"].as_int();   // 0: "ix-1" is a string key
conv.get_in({"conv/instances"_kw, "ix-1", "count"_kw}).as_int();  // the same
conv[":conv/stack"][0].as_string();      // "ix-1": vectors and lists by index
conv[":missing"].is_nil();               // true: absent keys give nil
conv.get(edn::Value(42));                // any key: get / find / contains
for (const edn::MapEntry& e : conv.entries()) { /* e.key, e.val */ }
for (const edn::Value& id : conv[":conv/stack"]) { /* vectors, lists, sets */ }
// end snippet
// clang-format on
#pragma GCC diagnostic pop
  for ([[maybe_unused]] const edn::MapEntry& e : conv.entries()) ++entries;
  for ([[maybe_unused]] const edn::Value& id : conv[":conv/stack"]) ++ids;
  EXPECT_EQ(entries, 4);
  EXPECT_EQ(ids, 1);
  EXPECT_EQ(conv[":conv/id"].as_string(), "cv-1");
  EXPECT_EQ(conv[":conv/instances"]["ix-1"][":count"].as_int(), 0);
  EXPECT_TRUE(conv[":conv/instances"][":ix-1"].is_nil());  // not a keyword key
  EXPECT_EQ(conv.get_in({"conv/instances"_kw, "ix-1", "count"_kw}).as_int(), 0);
  EXPECT_EQ(conv[":conv/stack"][0].as_string(), "ix-1");
  EXPECT_TRUE(conv[":missing"].is_nil());
  EXPECT_TRUE(conv.get(edn::Value(42)).is_nil());
  EXPECT_EQ(conv.get("conv/id"_kw), edn::Value("cv-1"));
  // The prose: lookups through nil give nil; an index out of range throws.
  EXPECT_TRUE(conv[":missing"][":deeper"]["x"].is_nil());
  EXPECT_THROW(conv[":conv/stack"][1], edn::TypeError);
}

TEST(EdnDocs, TypedAccessorsThrowTypeError) {
  const edn::Value conv = doc_conv();
  // clang-format off
// snippet: edn-type-error
try {
  conv[":conv/id"].as_int();
} catch (const edn::TypeError& e) {
  e.what();  // "edn: expected integer, got string"
}
// end snippet
  // clang-format on
  try {
    conv[":conv/id"].as_int();
    ADD_FAILURE() << "as_int of a string did not throw";
  } catch (const edn::TypeError& e) {
    EXPECT_STREQ(e.what(), "edn: expected integer, got string");
  }
  // The prose: as_double takes floats only; truthiness is Clojure's.
  EXPECT_THROW(edn::Value(1).as_double(), edn::TypeError);
  EXPECT_TRUE(static_cast<bool>(edn::Value(0)));
  EXPECT_FALSE(static_cast<bool>(edn::Value(false)));
  EXPECT_FALSE(static_cast<bool>(edn::Value(nullptr)));
}

TEST(EdnDocs, UpdatesLeaveTheOriginalUntouched) {
  const edn::Value conv = doc_conv();
  // clang-format off
// snippet: edn-update
edn::Value next = conv.assoc_in({"conv/instances"_kw, "ix-1", "count"_kw}, 1);
// conv still has :count 0; next has :count 1; both share :conv/stack etc.
edn::Value same = conv.assoc("n"_kw, 4).dissoc("n"_kw);  // equal to conv
edn::Value three = edn::vec({1, 2}).conj(3);   // [1 2 3]
edn::Value zero = edn::list({1, 2}).conj(0);   // (0 1 2)
edn::Value two = edn::set({1}).conj(2).disj(1);  // #{2}
edn::Value v = edn::vec({"a", "b", "c", "d"});
edn::Value abc = v.pop(), xbcd = v.set_at(0, "x"), bc = v.subvec(1, 3);
// The result is the point: ignoring one is a compile warning ([[nodiscard]]).
// end snippet
  // clang-format on
  EXPECT_EQ(conv[":conv/instances"]["ix-1"][":count"], edn::Value(0));
  EXPECT_EQ(next[":conv/instances"]["ix-1"][":count"], edn::Value(1));
  EXPECT_EQ(next.dissoc("conv/instances"_kw), conv.dissoc("conv/instances"_kw));
  EXPECT_EQ(conv.assoc("n"_kw, 4)[":n"], edn::Value(4));
  EXPECT_EQ(same, conv);
  EXPECT_EQ(three, edn::read("[1 2 3]"));
  EXPECT_EQ(zero, edn::read("(0 1 2)"));
  EXPECT_EQ(two, edn::read("#{2}"));
  EXPECT_EQ(abc, edn::read(R"(["a" "b" "c"])"));
  EXPECT_EQ(xbcd, edn::read(R"(["x" "b" "c" "d"])"));
  EXPECT_EQ(bc, edn::read(R"(["b" "c"])"));
  EXPECT_EQ(v, edn::read(R"(["a" "b" "c" "d"])"));
  // The prose: assoc on nil treats it as {}, so assoc_in creates levels.
  EXPECT_EQ(edn::Value().assoc_in({"a"_kw, "b"_kw}, 1), edn::read("{:a {:b 1}}"));
}

TEST(EdnDocs, OpaqueValuesAreNotPrintable) {
  const edn::Value conv = doc_conv();
  // clang-format off
// snippet: edn-opaque
struct Flow { int step = 0; };
auto flow = std::make_shared<Flow>();
edn::Value live = conv.assoc("flow"_kw, edn::Value::opaque(flow, "app.flow/checkout"));
live.printable();                     // false (conv.printable() is true)
live[":flow"].as_opaque<Flow>();      // the same shared_ptr<Flow>; TypeError for another type
edn::write(live);                     // ... :flow #object[app.flow/checkout "0x…"] ...
// end snippet
  // clang-format on
  EXPECT_FALSE(live.printable());
  EXPECT_TRUE(conv.printable());
  EXPECT_EQ(live[":flow"].as_opaque<Flow>(), flow);
  EXPECT_THROW(live[":flow"].as_opaque<int>(), edn::TypeError);
  const std::string text = edn::write(live);
  EXPECT_TRUE(contains(text, ":flow #object[app.flow/checkout \"0x")) << text;
  // Equal only to itself.
  EXPECT_EQ(live, live);
  EXPECT_NE(live, conv.assoc("flow"_kw, edn::Value::opaque(flow, "app.flow/checkout")));
}

TEST(EdnDocs, ReadingAndWriting) {
  const std::string text =
      R"({:name "Ann", :langs ["C++" "Clojure"], :born #inst "1990-01-02T03:04:05Z"})";
  std::string buffer = "saved: ";
  // clang-format off
// snippet: edn-read-write
edn::Value v = edn::read(text);                      // exactly one value
edn::Value w = edn::read(text, {.max_depth = 100});  // with options
std::vector<edn::Value> all = edn::read_all(text);   // a stream: zero or more
std::string compact = edn::write(v);                 // one line
edn::write(v, buffer);                               // append to a std::string
std::string people = edn::pretty(v, 80);             // indented, several lines
// end snippet
  // clang-format on
  EXPECT_EQ(v, w);
  EXPECT_EQ(all, std::vector<edn::Value>{v});
  EXPECT_EQ(v[":name"], edn::Value("Ann"));
  EXPECT_FALSE(contains(compact, "\n")) << compact;
  EXPECT_EQ(buffer, "saved: " + compact);
  EXPECT_EQ(edn::read(compact), v);
  EXPECT_EQ(edn::read(people), v);
  EXPECT_TRUE(contains(edn::pretty(v, 20), "\n"));
  // The prose: exactly one value; whitespace, commas, comments and
  // discards around it are fine.
  EXPECT_EQ(edn::read(" , ; a comment\n #_ :skipped 1 #_(x) ,"), edn::Value(1));
  try {
    edn::read("1 2");
    ADD_FAILURE() << "two values read";
  } catch (const edn::ParseError& e) {
    EXPECT_TRUE(contains(e.reason(), "unexpected '2' after the value")) << e.what();
  }
}

TEST(EdnDocs, ParseErrorsPointAtTheProblem) {
  // clang-format off
// snippet: edn-parse-error
try {
  edn::read("{:a 1\n :a 2}");
} catch (const edn::ParseError& e) {
  e.what();    // "line 1, column 1: duplicate key :a in the map opened here"
  e.line();    // 1
  e.reason();  // "duplicate key :a in the map opened here"
}
// end snippet
  // clang-format on
  try {
    edn::read("{:a 1\n :a 2}");
    ADD_FAILURE() << "a duplicate key read";
  } catch (const edn::ParseError& e) {
    EXPECT_STREQ(e.what(), "line 1, column 1: duplicate key :a in the map opened here");
    EXPECT_EQ(e.line(), 1u);
    EXPECT_EQ(e.column(), 1u);
    EXPECT_EQ(e.reason(), "duplicate key :a in the map opened here");
    // Both errors derive from edn::Error and std::runtime_error.
    const edn::Error& base = e;
    const std::runtime_error& std_base = base;
    EXPECT_STREQ(std_base.what(), e.what());
  }
}

}  // namespace
