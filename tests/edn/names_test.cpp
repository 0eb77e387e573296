// Symbols and keywords: the reader takes the names Clojure's reader takes and
// rejects the ones it rejects (each list below was checked against Clojure
// 1.11's clojure.edn/read-string).
#include <gtest/gtest.h>

#include <string>

#include "edn/edn_test_support.hpp"

namespace edn = stube::edn;
using edn::Kind;
using edn::Value;

namespace {

TEST(EdnNames, ClojureRejectsTheseAndSoDoesStube) {
  const char* rejected[] = {
      ":a:",  "a::b", ":a::b", "a:",     "a::",  ":a::", "a/b:", ":a/b:", "a/b::c",
      "a/::", "a/:",  ":a/:",  ":a/b::", "x:/y", "a:/b", "a/",   ":a/",   "/a",
      "://",  "a.b/", "a/1",   ":a/1b",  "a//:", "::a",  "+1a",
  };
  for (const char* text : rejected) {
    try {
      edn::test::read_exact(std::string("[1 ") + text + "]");
      ADD_FAILURE() << text << " was read";
    } catch (const edn::ParseError& e) {
      EXPECT_EQ(e.line(), 1u) << text;
      EXPECT_EQ(e.column(), 4u) << text << ": " << e.what();
    }
  }
  EXPECT_THROW(Value::keyword("a:"), edn::TypeError);
  EXPECT_THROW(Value::keyword("a::b"), edn::TypeError);
  EXPECT_THROW(Value::keyword("a/1"), edn::TypeError);
  EXPECT_THROW(Value::symbol("a::b"), edn::TypeError);
  EXPECT_THROW(Value::symbol("a:/b"), edn::TypeError);
}

TEST(EdnNames, ClojureReadsTheseAndSoDoesStube) {
  // {text, namespace, name}
  const char* accepted[][3] = {
      {"clojure.core//", "clojure.core", "/"},
      {":clojure.core//", "clojure.core", "/"},
      {"a//", "a", "/"},
      {"/", "", "/"},
      {":/", "", "/"},
      {"a/:b", "a", ":b"},
      {":a/:b", "a", ":b"},
      {"a:b", "", "a:b"},
      {":a:b", "", "a:b"},
      {"a:b:c", "", "a:b:c"},
      {"a/b:c", "a", "b:c"},
      {":a:b/c", "a:b", "c"},
      {":1", "", "1"},
      {":1/a", "1", "a"},
      {"a/-1", "a", "-1"},
      {":a/-1", "a", "-1"},
      {"a/#b", "a", "#b"},
      {":#a", "", "#a"},
      {"a'b", "", "a'b"},
  };
  for (const auto& [text, ns, name] : accepted) {
    const Value v = edn::test::read_exact(text);
    EXPECT_EQ(v.kind(), text[0] == ':' ? Kind::Keyword : Kind::Symbol) << text;
    EXPECT_EQ(v.ns(), ns) << text;
    EXPECT_EQ(v.name(), name) << text;
    EXPECT_EQ(edn::write(v), text);
    EXPECT_EQ(edn::read(edn::write(edn::vec({v, v}))), edn::vec({v, v})) << text;
  }
  EXPECT_EQ(Value::symbol("clojure.core//"), edn::read("clojure.core//"));
  EXPECT_EQ(Value::keyword("clojure.core", "/"), edn::read(":clojure.core//"));
}

}  // namespace
