// Properties over arbitrary EDN values: printing and reading are inverse,
// printing is stable, equal values hash equally, pretty output reads back.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "edn/edn_generators.hpp"

namespace edn = stube::edn;
using edn::Value;

namespace {

// Deep enough for every kind of nesting, small enough for 100 cases per
// property to stay fast under sanitizers.
constexpr int kDepth = 4;

// The same value rebuilt with its map entries and set elements in reverse
// order, all the way down.
Value rebuilt_reversed(const Value& v) {
  switch (v.kind()) {
    case edn::Kind::Map: {
      std::vector<edn::MapEntry> es;
      for (const auto& e : v.entries())
        es.push_back({rebuilt_reversed(e.key), rebuilt_reversed(e.val)});
      std::reverse(es.begin(), es.end());
      return edn::map(std::span<const edn::MapEntry>(es));
    }
    case edn::Kind::Set:
    case edn::Kind::Vector:
    case edn::Kind::List: {
      std::vector<Value> xs;
      for (const auto& x : v.items()) xs.push_back(rebuilt_reversed(x));
      if (v.is(edn::Kind::Set)) {
        std::reverse(xs.begin(), xs.end());
        return edn::set(std::span<const Value>(xs));
      }
      return v.is(edn::Kind::List) ? edn::list(std::span<const Value>(xs))
                                   : edn::vec(std::span<const Value>(xs));
    }
    case edn::Kind::Tagged:
      return Value::tagged(v.tag(), rebuilt_reversed(v.tagged_value()));
    default:
      return v;
  }
}

RC_GTEST_PROP(EdnProperty, ReadOfWriteIsEqual, ()) {
  const Value v = *edn::test::gen_value(kDepth);
  const std::string text = edn::write(v);
  RC_LOG() << text << "\n";
  RC_ASSERT(edn::read(text) == v);
}

// A stream of printed values, each followed by whitespace, a comment or a
// discarded form, reads back as those values (stube-edn's files).
RC_GTEST_PROP(EdnProperty, ReadAllOfWrittenValuesIsThoseValues, ()) {
  const auto values = *rc::gen::container<std::vector<Value>>(edn::test::gen_value(kDepth));
  const std::vector<std::string> gaps{" ", "\n", ",", " ; note\n", " #_ [1 2] ", "\r\n"};
  std::string text;
  for (const Value& v : values) text += edn::write(v) + *rc::gen::elementOf(gaps);
  RC_LOG() << text << "\n";
  RC_ASSERT(edn::read_all(text) == values);
}

// depth() is exactly the max_depth that reading the printed value needs.
RC_GTEST_PROP(EdnProperty, DepthIsWhatTheReaderNeeds, ()) {
  const Value v = *edn::test::gen_value(kDepth);
  const std::string text = edn::write(v);
  RC_LOG() << text << " depth " << v.depth() << "\n";
  RC_ASSERT(edn::read(text, {.max_depth = v.depth()}).depth() == v.depth());
  if (v.depth() > 0)
    RC_ASSERT_THROWS_AS(edn::read(text, {.max_depth = v.depth() - 1}), edn::ParseError);
}

RC_GTEST_PROP(EdnProperty, WriteIsStableThroughRead, ()) {
  const Value v = *edn::test::gen_value(kDepth);
  const std::string text = edn::write(v);
  RC_LOG() << text << "\n";
  RC_ASSERT(edn::write(edn::read(text)) == text);
}

RC_GTEST_PROP(EdnProperty, EqualValuesHaveEqualHashesAndText, ()) {
  const Value v = *edn::test::gen_value(kDepth);
  RC_LOG() << edn::write(v) << "\n";
  const Value back = edn::read(edn::write(v));
  RC_ASSERT(back == v);
  RC_ASSERT(back.hash() == v.hash());
  RC_ASSERT(compare(back, v) == 0);
  const Value reordered = rebuilt_reversed(v);
  RC_ASSERT(reordered == v);
  RC_ASSERT(reordered.hash() == v.hash());
  RC_ASSERT(compare(reordered, v) == 0);
  RC_ASSERT(edn::write(reordered) == edn::write(v));
}

RC_GTEST_PROP(EdnProperty, EqualityMatchesCompareAndHash, ()) {
  const Value a = *edn::test::gen_value(2);
  const Value b = *edn::test::gen_value(2);
  RC_LOG() << edn::write(a) << " vs " << edn::write(b) << "\n";
  RC_ASSERT((a == b) == (compare(a, b) == 0));
  RC_ASSERT((compare(a, b) < 0) == (compare(b, a) > 0));
  if (a == b) RC_ASSERT(a.hash() == b.hash());
  // Different values must print differently, or read could not invert write.
  // (The converse does not hold: 0.0 and -0.0 are equal, as in Clojure.)
  if (edn::write(a) == edn::write(b)) RC_ASSERT(a == b);
}

RC_GTEST_PROP(EdnProperty, PrettyReadsBackEqual, ()) {
  const Value v = *edn::test::gen_value(kDepth);
  const auto width = *rc::gen::element<std::size_t>(0, 1, 10, 40, 80, 200);
  const std::string text = edn::pretty(v, width);
  RC_LOG() << text << "\n";
  RC_ASSERT(edn::read(text) == v);
}

RC_GTEST_PROP(EdnProperty, StringsRoundTrip, ()) {
  const std::string s = *edn::test::gen_weird_string();
  const std::string text = edn::write(Value(s));
  RC_LOG() << text << "\n";
  RC_ASSERT(edn::read(text).as_string() == s);
}

RC_GTEST_PROP(EdnProperty, DoublesRoundTripBitExactExceptNaN, ()) {
  const double d = *edn::test::gen_double();
  const std::string text = edn::write(Value(d));
  RC_LOG() << text << "\n";
  const double back = edn::read(text).as_double();
  if (std::isnan(d)) {
    RC_ASSERT(std::isnan(back));
  } else {
    RC_ASSERT(std::bit_cast<std::uint64_t>(back) == std::bit_cast<std::uint64_t>(d));
  }
}

}  // namespace
