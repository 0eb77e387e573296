// #inst values: every Value(Instant) prints text that reads back (in stube
// and in Clojure), and the reader takes the years Clojure's #inst reader
// takes, no more.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <climits>
#include <cstdint>
#include <string>

#include "edn/edn_test_support.hpp"

namespace edn = stube::edn;
using edn::Instant;
using edn::Value;

namespace {

constexpr std::int64_t kFirst = -62167219200;  // 0000-01-01T00:00:00Z
constexpr std::int64_t kLast = 253402300799;   // 9999-12-31T23:59:59Z

TEST(EdnInstant, NanosOfASecondOrMoreCarryIntoTheSeconds) {
  const Value v(Instant{0, 1500000000});
  EXPECT_EQ(v.as_inst(), (Instant{1, 500000000}));
  EXPECT_EQ(v, Value(Instant{1, 500000000}));
  EXPECT_EQ(edn::write(v), "#inst \"1970-01-01T00:00:01.500-00:00\"");
  EXPECT_EQ(edn::read(edn::write(v)), v);
  EXPECT_EQ(Value(Instant{-1, 4294967295u}).as_inst(), (Instant{3, 294967295}));
}

TEST(EdnInstant, YearsThatCannotBeReadBackAreRefused) {
  EXPECT_THROW(Value(Instant{LLONG_MAX / 2, 0}), edn::TypeError);
  EXPECT_THROW(Value(Instant{LLONG_MAX, 999999999}), edn::TypeError);
  EXPECT_THROW(Value(Instant{LLONG_MIN, 0}), edn::TypeError);
  EXPECT_THROW(Value(Instant{kLast + 1, 0}), edn::TypeError);
  EXPECT_THROW(Value(Instant{kLast, 1000000000}), edn::TypeError);
  EXPECT_THROW(Value(Instant{kFirst - 1, 999999999}), edn::TypeError);
  try {
    Value(Instant{kLast + 1, 0});
    FAIL() << "no error";
  } catch (const edn::TypeError& e) {
    EXPECT_NE(std::string(e.what()).find("253402300800"), std::string::npos) << e.what();
  }
  EXPECT_EQ(edn::write(Value(Instant{kFirst, 0})), "#inst \"0000-01-01T00:00:00.000-00:00\"");
  EXPECT_EQ(edn::write(Value(Instant{kLast, 999999999})),
            "#inst \"9999-12-31T23:59:59.999999999-00:00\"");
}

TEST(EdnInstant, ReaderTakesTheYearsClojureTakes) {
  // Each is refused by Clojure 1.11's clojure.edn/read-string too, except the
  // offsets that carry the instant out of the years 0000 to 9999 (Clojure
  // reads them, then prints a year it cannot read).
  for (const char* text :
       {"10000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z", "+2020-01-01T00:00:00Z",
        "2020-01-01T00:00:00z", "020-01-01", "2020-01-01T00:58:60Z", "9999-12-31T23:59:59-01:00",
        "0000-01-01T00:00:00+00:01"}) {
    const std::string reason = edn::test::parse_failure(std::string("[#inst \"") + text + "\"]");
    EXPECT_EQ(reason.substr(0, 4), "1:2 ") << text << ": " << reason;
    EXPECT_NE(reason.find("#inst"), std::string::npos) << reason;
  }
  EXPECT_EQ(edn::read("#inst \"2016-12-31T23:59:60Z\""),
            edn::read("#inst \"2017-01-01T00:00:00Z\""));  // a leap second
  EXPECT_EQ(edn::read("#inst \"0000-01-01T00:00:00Z\"").as_inst(), (Instant{kFirst, 0}));
  EXPECT_EQ(edn::read("#inst \"9999-12-31T23:59:59.999999999Z\"").as_inst(),
            (Instant{kLast, 999999999}));
  EXPECT_EQ(edn::read("#inst \"9999-12-31T23:59:59+01:00\"").as_inst(), (Instant{kLast - 3600, 0}));
}

// Whatever Value(Instant) accepts, write prints text that reads back equal.
RC_GTEST_PROP(EdnInstantProperty, EveryInstantValueReadsBack, (std::uint32_t nanos)) {
  const std::int64_t seconds =
      *rc::gen::oneOf(rc::gen::inRange(kFirst, kLast + 1),
                      rc::gen::element(kFirst, kLast, std::int64_t{0}, kLast - 1),
                      rc::gen::arbitrary<std::int64_t>());
  const Instant t{seconds, nanos};
  const std::int64_t carried = seconds + static_cast<std::int64_t>(nanos / 1000000000);
  const bool printable = seconds >= kFirst && seconds <= kLast && carried <= kLast;
  if (!printable) {
    RC_ASSERT_THROWS_AS(Value{t}, edn::TypeError);
    return;
  }
  const Value v(t);
  RC_ASSERT(v.as_inst() == (Instant{carried, nanos % 1000000000}));
  RC_ASSERT(edn::read(edn::write(v)) == v);
  RC_ASSERT(edn::read(edn::pretty(v, 20)) == v);
}

}  // namespace
