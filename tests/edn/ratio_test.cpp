// Ratios too big for 64 bits: read as Clojure's reader reads them (reduced to
// lowest terms, a zero denominator refused), and bounded for hostile input.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <charconv>
#include <cstdint>
#include <numeric>
#include <string>

#include "edn/edn_test_support.hpp"

namespace edn = stube::edn;
using edn::Kind;
using edn::Value;

namespace {

// digits * m in decimal (test-side arithmetic, independent of the library).
std::string times(const std::string& digits, std::uint32_t m) {
  std::string out(digits.size(), '0');
  std::uint64_t carry = 0;
  for (std::size_t i = digits.size(); i-- > 0;) {
    const std::uint64_t x = static_cast<std::uint64_t>(digits[i] - '0') * m + carry;
    out[i] = static_cast<char>('0' + static_cast<int>(x % 10));
    carry = x / 10;
  }
  while (carry != 0) {
    out.insert(out.begin(), static_cast<char>('0' + static_cast<int>(carry % 10)));
    carry /= 10;
  }
  const auto first = out.find_first_not_of('0');
  return first == std::string::npos ? "0" : out.substr(first);
}

bool fits_int64(const std::string& text) {
  std::int64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

TEST(EdnRatio, ZeroDenominatorIsRejectedWhateverTheDigits) {
  for (const std::string den : {"0", "00", "0000000000000000000000000"}) {
    for (const std::string num :
         {"1", "-1", "0", "99999999999999999999", "-99999999999999999999"}) {
      const std::string reason = edn::test::parse_failure("[1 " + num + "/" + den + "]");
      EXPECT_EQ(reason.substr(0, 4), "1:4 ") << num << "/" << den;
      EXPECT_NE(reason.find("zero denominator"), std::string::npos) << reason;
    }
  }
}

TEST(EdnRatio, BigRatiosAreReducedAsClojureReducesThem) {
  // What Clojure 1.11's clojure.edn/read-string gives for each (pr-str).
  const std::pair<const char*, const char*> cases[] = {
      {"20000000000000000000/10000000000000000000", "2N"},
      {"-99999999999999999999/99999999999999999999", "-1N"},
      {"0/99999999999999999999", "0N"},
      {"-0/99999999999999999999", "0N"},
      {"9223372036854775808/1", "9223372036854775808N"},
      {"-9223372036854775808/1", "-9223372036854775808"},
      {"30000000000000000000/20000000000000000000", "3/2"},
      {"1/99999999999999999999", "1/99999999999999999999"},
      {"-6/99999999999999999999", "-2/33333333333333333333"},
      {"000000000000000000000000000000003/6", "1/2"},
      {"01/2", "1/2"},
      {"00/5", "0"},
      {"+4/2", "2"},
  };
  for (const auto& [text, printed] : cases) {
    const Value v = edn::test::read_exact(text);
    EXPECT_EQ(edn::write(v), printed) << text;
    EXPECT_EQ(edn::read(printed), v) << text;
  }
  EXPECT_EQ(edn::read("20000000000000000000/10000000000000000000"), Value::big_int("2"));
  EXPECT_EQ(edn::read("40000000000000000000/20000000000000000000"),
            edn::read("20000000000000000000/10000000000000000000"));
  EXPECT_EQ(edn::read("-9223372036854775808/1").kind(), Kind::Int);
  EXPECT_EQ(edn::read("1/99999999999999999999").kind(), Kind::Ratio);
}

TEST(EdnRatio, HugeRatiosAreRefusedWithTheirPosition) {
  const std::string digits(1000, '7');
  EXPECT_EQ(edn::test::read_exact(digits + "/" + digits), Value::big_int("1"));
  // Leading zeros do not count.
  EXPECT_EQ(edn::read("0000" + digits + "/1" + digits.substr(1)).kind(), Kind::Ratio);
  const std::string reason = edn::test::parse_failure("{:a\n " + digits + "7/2}");
  EXPECT_EQ(reason.substr(0, 4), "2:2 ") << reason;
  EXPECT_NE(reason.find("limited to 1000 digits"), std::string::npos) << reason;
  EXPECT_NE(edn::test::parse_failure("1/" + digits + "1"), "no error");
}

// n*k / d*k reads as n/d, whatever the size of k.
RC_GTEST_PROP(EdnRatioProperty, BigCommonFactorsCancel,
              (std::uint32_t n0, std::uint32_t d0, bool negative)) {
  const std::uint32_t n = n0, d = d0 == 0 ? 1 : d0;
  const std::string k = *rc::gen::map(
      rc::gen::container<std::string>(rc::gen::inRange('0', static_cast<char>('9' + 1))),
      [](std::string s) { return "1" + s; });
  const std::string num = std::string(negative ? "-" : "") + times(k, n), den = times(k, d);
  const std::string text = num + "/" + den;
  const std::uint32_t g = std::gcd(n, d);
  const std::int64_t sn = (negative ? -1 : 1) * static_cast<std::int64_t>(n / g);
  // Clojure divides longs when both parts are longs, else BigInts.
  const bool longs = fits_int64(num) && fits_int64(den);
  Value expected = Value::ratio(sn, static_cast<std::int64_t>(d / g));
  if (!longs && expected.is(Kind::Int)) expected = Value::big_int(std::to_string(sn));
  RC_ASSERT(edn::read(text) == expected);
}

}  // namespace
