// Hostile input: deep nesting, huge strings, truncated and mutated documents,
// random bytes and invalid UTF-8. The reader must answer with a value or a
// ParseError, never crash, hang, over-read or throw anything else.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/small_stack.hpp"
#include "edn/edn_generators.hpp"

namespace edn = stube::edn;
using edn::Value;

namespace {

std::string hex_dump(std::string_view bytes) {
  std::string out;
  char buf[4];
  for (unsigned char c : bytes.substr(0, 300)) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "%02X", c);
      out += "\\x";
      out += buf;
    }
  }
  if (bytes.size() > 300) out += "...";
  return out;
}

// The outcome of reading hostile bytes: a value, or no value for a
// ParseError. `problem` describes anything else (another exception type, a
// ParseError without position or reason).
struct Outcome {
  std::optional<Value> value;
  std::string problem;
};

Outcome outcome(std::string_view text, const edn::ReadOptions& options = {}) {
  try {
    return {edn::test::read_exact(text, options), {}};
  } catch (const edn::ParseError& e) {
    if (e.line() < 1 || e.column() < 1 || e.reason().empty())
      return {std::nullopt, std::string("ParseError without position or reason: ") + e.what() +
                                " for input " + hex_dump(text)};
    // Messages end up in logs and JSON answers, which need valid UTF-8.
    if (!edn::test::valid_utf8(e.what()))
      return {std::nullopt, "ParseError message is not valid UTF-8: " + hex_dump(e.what()) +
                                " for input " + hex_dump(text)};
    return {};
  } catch (const std::exception& e) {
    return {std::nullopt,
            std::string("non-ParseError exception ") + e.what() + " for input " + hex_dump(text)};
  }
}

// Empty when `text` reads to a value that prints and reads back equal, or is
// a clean ParseError; otherwise what went wrong.
std::string problem_with(std::string_view text) {
  Outcome o = outcome(text);
  if (!o.problem.empty() || !o.value) return o.problem;
  try {
    const std::string printed = edn::write(*o.value);
    if (edn::read(printed) != *o.value)
      return "input " + hex_dump(text) + " printed as " + printed + " which reads back different";
  } catch (const std::exception& e) {
    return "input " + hex_dump(text) + " parsed, but printing/reading back threw " + e.what();
  }
  return {};
}

std::string repeat(std::string_view unit, std::size_t n) {
  std::string out;
  out.reserve(unit.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += unit;
  return out;
}

constexpr std::size_t kMillion = 1000000;

void expect_depth_error(const std::string& text) {
  try {
    (void)edn::read(text);
    FAIL() << "deeply nested input parsed";
  } catch (const edn::ParseError& e) {
    EXPECT_TRUE(edn::test::contains_ci(e.what(), "depth")) << e.what();
  }
}

// --- deep nesting -------------------------------------------------------------

TEST(EdnHostile, MillionNestedVectorsIsDepthError) {
  const std::string text = repeat("[", kMillion);
  expect_depth_error(text);
  try {
    (void)edn::read(text);
  } catch (const edn::ParseError& e) {
    EXPECT_EQ(e.line(), 1u);
    EXPECT_EQ(e.column(), 1001u) << "the 1001st '[' is the first one too deep";
  }
}

TEST(EdnHostile, MillionNestedClosedVectorsIsDepthError) {
  expect_depth_error(repeat("[", kMillion) + "1" + repeat("]", kMillion));
}

TEST(EdnHostile, MillionNestedMapsIsDepthError) {
  expect_depth_error(repeat("{", kMillion));
}

TEST(EdnHostile, MillionNestedMapValuesIsDepthError) {
  expect_depth_error(repeat("{:k ", kMillion) + "1" + repeat("}", kMillion));
}

TEST(EdnHostile, MillionNestedListsIsDepthError) {
  expect_depth_error(repeat("(", kMillion));
}

TEST(EdnHostile, MillionNestedSetsIsDepthError) {
  expect_depth_error(repeat("#{", kMillion));
}

TEST(EdnHostile, MillionTagChainIsDepthError) {
  expect_depth_error(repeat("#my/tag ", kMillion) + "1");
}

TEST(EdnHostile, MillionNamespacedMapsIsDepthError) {
  expect_depth_error(repeat("#:a{:k ", kMillion) + "1" + repeat("}", kMillion));
}

// Within max_depth, the stack of the reading thread is the limit: the
// reader stops well before it runs out, with its own error (the text is
// fine, and reads on a thread with a larger stack).
TEST(EdnHostile, ASmallStackStopsTheReaderWithStackExhausted) {
  const std::string text = repeat("[", 1000) + repeat("]", 1000);
  std::string what;
  stube::test::run_with_stack(128 * 1024, [&] {
    try {
      (void)edn::read(text);
      what = "read";
    } catch (const edn::StackExhausted& e) {
      what = e.what();
    } catch (const std::exception& e) {
      what = std::string("another error: ") + e.what();
    }
  });
  EXPECT_NE(what.find("exceeds what this thread's stack can hold"), std::string::npos) << what;
  EXPECT_EQ(edn::read(text).depth(), 1000u);  // this thread's stack holds it
  // Invalid text is invalid on any stack: a plain ParseError.
  stube::test::run_with_stack(128 * 1024, [&] {
    try {
      (void)edn::read(text + " \xff");
    } catch (const edn::StackExhausted&) {
      what = "StackExhausted";
    } catch (const edn::ParseError& e) {
      what = e.what();
    }
  });
  EXPECT_NE(what.find("invalid UTF-8"), std::string::npos) << what;
}

TEST(EdnHostile, MillionNestedInsideDiscardIsStillBounded) {
  // The discarded form is read too, so its depth must be bounded as well.
  expect_depth_error("#_ " + repeat("[", kMillion) + " 1");
}

TEST(EdnHostile, MillionChainedDiscardsDoNotOverflow) {
  // "#_ #_ a b c" discards a and b. A million of them either read (to the one
  // form left over) or are rejected; they must not blow the stack.
  const std::string text = repeat("#_ ", kMillion) + repeat("1 ", kMillion) + "2";
  const auto o = outcome(text);
  EXPECT_EQ(o.problem, "");
  if (o.value) {
    EXPECT_EQ(*o.value, Value(2));
  }
}

TEST(EdnHostile, DepthLimitIsConfigurable) {
  const std::string text = repeat("[", 5000) + repeat("]", 5000);
  EXPECT_THROW(edn::read(text), edn::ParseError);
  const Value v = edn::read(text, edn::ReadOptions{5000});
  std::size_t depth = 0;
  for (const Value* p = &v; p->is(edn::Kind::Vector); p = &p->at(0)) {
    ++depth;
    if (p->empty()) break;
  }
  EXPECT_EQ(depth, 5000u);
}

TEST(EdnHostile, HugeDepthLimitStillDoesNotCrash) {
  // Whatever limit the caller asks for, the reader must answer with a value or
  // a ParseError rather than overflow the stack.
  const std::size_t n = 200000;
  const std::string text = repeat("[", n) + repeat("]", n);
  const auto o = outcome(text, edn::ReadOptions{n});
  EXPECT_EQ(o.problem, "");
}

// A duplicate key too deep for write() (allowed by a raised limit) or huge:
// still a ParseError with its position, and a message of bounded size.
TEST(EdnHostile, DuplicateKeysTooDeepOrTooLargeToPrintAreParseErrors) {
  const std::string deep = repeat("[", 1001) + repeat("]", 1001);
  const std::string huge = "\"" + std::string(kMillion, 'k') + "\"";
  const std::string accents =
      "\"" + repeat("\xC3\xA9", 40) + "\"";  // é, cut mid-character at 60 bytes
  for (const std::string& key : {deep, huge, accents}) {
    try {
      (void)edn::read("{" + key + " 1, " + key + " 2}", edn::ReadOptions{5000});
      ADD_FAILURE() << "a duplicate key read";
    } catch (const edn::ParseError& e) {
      EXPECT_EQ(e.line(), 1u);
      EXPECT_EQ(e.column(), 1u);
      EXPECT_TRUE(e.reason().starts_with("duplicate key ")) << e.reason();
      EXPECT_LT(e.reason().size(), 120u) << e.reason().substr(0, 200);
      EXPECT_NO_THROW((void)Value(std::string_view(e.reason()))) << "valid UTF-8";
    }
  }
}

// --- huge strings ---------------------------------------------------------------

// An error quotes at most 40 bytes of a token (cut between characters): a
// megabyte-long one in an HTTP payload makes no megabyte-long 400.
TEST(EdnHostile, ErrorsQuoteLongTokensShortened) {
  const std::string big = "\xC3\xA9" + std::string(1 << 20, 'a');
  for (const std::string& text :
       {"::" + big, "#" + big + ": 1", "##" + big, "#" + big, "#" + big + " ]", ":" + big + ":",
        "#inst \"" + big + "\"", "#:" + big + " 1", "#:" + big + ": {}", "\\" + big}) {
    try {
      edn::read(text);
      ADD_FAILURE() << "read " << text.substr(0, 4) << "..." << text.substr(text.size() - 6);
    } catch (const edn::ParseError& e) {
      const std::string what = e.what();
      EXPECT_LT(what.size(), 300u) << what.substr(0, 120);
      EXPECT_NE(what.find("\xC3\xA9" + std::string(38, 'a') + "..."), std::string::npos)
          << what.substr(0, 120);
    }
  }
}

TEST(EdnHostile, HundredMegabyteString) {
  // Each chunk holds escapes and multi-byte text so the slow paths run too.
  const std::string chunk_text = "The quick \\\"brown\\\" fox \xC3\xA9\\n\\u00e9 jumps\\t";
  const std::string chunk_value = "The quick \"brown\" fox \xC3\xA9\n\xC3\xA9 jumps\t";
  const std::size_t chunks = 100 * kMillion / chunk_text.size();
  std::string text;
  text.reserve(chunks * chunk_text.size() + 2);
  text += '"';
  for (std::size_t i = 0; i < chunks; ++i) text += chunk_text;
  text += '"';

  {
    const Value v = edn::read(text);
    const std::string_view s = v.as_string();
    ASSERT_EQ(s.size(), chunks * chunk_value.size());
    for (std::size_t i = 0; i < chunks; i += 997)
      ASSERT_EQ(s.substr(i * chunk_value.size(), chunk_value.size()), chunk_value) << "chunk " << i;
    EXPECT_EQ(s.substr(s.size() - chunk_value.size()), chunk_value);
  }

  // Dropping the closing quote makes it unterminated.
  try {
    (void)edn::read(std::string_view(text).substr(0, text.size() - 1));
    FAIL() << "unterminated 100 MB string parsed";
  } catch (const edn::ParseError& e) {
    EXPECT_TRUE(edn::test::contains_ci(e.what(), "unterminated")) << e.what();
  }
}

// --- truncation and mutation of a realistic document --------------------------------

const char* const kSample =
    R"edn(; a conversation as the store writes it, plus every syntax the reader knows
{:conv/id "cv-7f3a"
 :conv/created #inst "2024-03-01T12:34:56.789+01:00"
 :conv/updated #inst "2024-03-01T11:40:00.123456789Z"
 :conv/uuid #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
 :conv/flags #{:pinned :shared "legacy"}
 :conv/meta #:meta{:owner "ann", :_/plain true, :other/k -1}
 :conv/numbers [0 -1 9223372036854775807 -9223372036854775808 123456789012345678901234567890N
                1.5 -0.0 1.0E10 6.02e23 1e-5 ##Inf ##-Inf ##NaN 3.14159M 1/3 -22/7]
 :conv/chars [\a \newline \space \tab \return \formfeed \backspace \u00e9 \λ \\ \"]
 :conv/strings ["plain" "esc \" \\ \n \t \r \b \f" "\u00e9\uD83D\uDE00" "raw é 😀 ∑"
                "multi
line"]
 :conv/instances {"ix-1" {:state :running, :step 3, :frames ()
                          :history [{:at #inst "2024-03-01T12:00:00Z" :event :start}
                                    {:at #inst "2024-03-01T12:00:01.5Z" :event :tick #_#_ :ignored 1}]}
                  "ix-2" {:state :done :result #my.app/result {:ok? true :value (1 2 3)}}}
 #_ :discarded #_ {:not "here"}
 :conv/symbols [foo my.ns/bar / + - a->b *ok* x']
 ; a comment between entries, with commas ,,,
 :conv/empty [[] {} #{} () ""]
 :conv/events [{:event/type :user-message
                :event/at #inst "2024-03-01T12:34:57.000-00:00"
                :event/payload {:text "Hello, \"world\"!\n\tIndented line; not a comment"
                                :lang :en, :tokens 17, :score 0.875}}
               {:event/type :tool-call
                :event/at #inst "2024-03-01T12:34:58.250+00:00"
                :event/payload {:tool my.tools/search
                                :args {"query" "edn reader", "limit" 10, "filters" #{:a :b}}
                                :id #uuid "0f8fad5b-d9cb-469f-a165-70867728950e"}}
               {:event/type :answer
                :event/at #inst "2024-03-01T12:35:00-00:00"
                :event/payload {:text "Ünïcødé ✓ \u2713 \uD83D\uDE80", :ratio 3/4
                                :big 18446744073709551616
                                :nested [[1 [2 [3 [4 [5]]]]] {:deep {:deeper {:deepest #{[]}}}}]}}]
 :conv/nil nil, :conv/bools [true false]}
)edn";

Value sample_value() {
  return edn::read(kSample);
}

TEST(EdnHostile, SampleIsRealistic) {
  const std::string_view text = kSample;
  EXPECT_GT(text.size(), 1800u);
  const Value v = sample_value();
  EXPECT_EQ(v[":conv/id"], Value("cv-7f3a"));
  EXPECT_EQ(v.get_in({edn::kw("conv/meta"), edn::kw("plain")}), Value(true));
  EXPECT_EQ(v.get_in({edn::kw("conv/instances"), "ix-2", edn::kw("result")}).tag(),
            "my.app/result");
  EXPECT_EQ(v[":conv/events"][2][":event/payload"][":big"], Value::big_int("18446744073709551616"));
  EXPECT_EQ(edn::read(edn::write(v)), v);
}

// Every proper prefix of a document whose top-level map ends at its last byte
// is incomplete, so it must be a ParseError (and nothing else).
void expect_every_prefix_rejected(std::string_view whole) {
  ASSERT_FALSE(whole.empty());
  for (std::size_t n = 0; n < whole.size(); ++n) {
    const std::string_view prefix = whole.substr(0, n);
    const auto o = outcome(prefix);
    EXPECT_EQ(o.problem, "");
    if (o.value) {
      ADD_FAILURE() << "prefix of " << n << " bytes parsed to " << testing::PrintToString(*o.value)
                    << ": " << hex_dump(prefix);
    }
  }
  EXPECT_TRUE(outcome(whole).value.has_value());
}

TEST(EdnHostile, EveryTruncationOfSampleIsParseError) {
  std::string_view text = kSample;
  text.remove_suffix(1);  // the final newline: the map's '}' is now the last byte
  ASSERT_EQ(text.back(), '}');
  expect_every_prefix_rejected(text);
}

TEST(EdnHostile, EveryTruncationOfPrintedSampleIsParseError) {
  expect_every_prefix_rejected(edn::write(sample_value()));
}

TEST(EdnHostile, EveryTruncationOfPrettySampleIsParseError) {
  std::string text = edn::pretty(sample_value());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  expect_every_prefix_rejected(text);
}

// Reports the first few problems only: one bug tends to show at many offsets.
constexpr int kMaxReported = 5;

TEST(EdnHostile, EverySingleByteMutationOfSampleIsValueOrParseError) {
  const std::string text = kSample;
  int reported = 0;
  for (std::size_t i = 0; i < text.size() && reported < kMaxReported; ++i) {
    for (char replacement : {'"', '}', '\\', '#', ' ', '\xFF', '\x80', '\0'}) {
      std::string mutated = text;
      mutated[i] = replacement;
      const std::string problem = problem_with(mutated);
      if (!problem.empty() && reported++ < kMaxReported)
        ADD_FAILURE() << "byte " << i << " replaced by " << hex_dump({&replacement, 1}) << ": "
                      << problem;
    }
  }
}

TEST(EdnHostile, EveryByteDeletionOfSampleIsValueOrParseError) {
  const std::string text = kSample;
  int reported = 0;
  for (std::size_t i = 0; i < text.size() && reported < kMaxReported; ++i) {
    std::string mutated = text;
    mutated.erase(i, 1);
    const std::string problem = problem_with(mutated);
    if (!problem.empty() && reported++ < kMaxReported)
      ADD_FAILURE() << "byte " << i << " deleted: " << problem;
  }
}

// --- random bytes ------------------------------------------------------------------

const std::vector<std::string>& edn_tokens() {
  static const std::vector<std::string> tokens = {"[",
                                                  "]",
                                                  "{",
                                                  "}",
                                                  "(",
                                                  ")",
                                                  "#{",
                                                  "#_",
                                                  "#:a",
                                                  "#:a{",
                                                  "#inst",
                                                  "#uuid",
                                                  "#my/t",
                                                  "##",
                                                  "##Inf",
                                                  "##NaN",
                                                  "\"",
                                                  "\\",
                                                  "\\u",
                                                  "\\uD800",
                                                  "\\newline",
                                                  "1",
                                                  "-",
                                                  "+",
                                                  "0",
                                                  "9N",
                                                  "M",
                                                  "/",
                                                  ".",
                                                  "e",
                                                  "E",
                                                  ":",
                                                  "::",
                                                  "a",
                                                  "b/c",
                                                  " ",
                                                  ",",
                                                  ";",
                                                  "\n",
                                                  "\r",
                                                  "\t",
                                                  "nil",
                                                  "true",
                                                  "\"2020-01-01T00:00:00Z\"",
                                                  "\"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"",
                                                  "\xFF",
                                                  "\xC3",
                                                  "\xA9",
                                                  "\xF0\x9F\x98\x80",
                                                  "\xED\xA0\x80",
                                                  "\\\"",
                                                  "\\x",
                                                  "1/2",
                                                  "1/0",
                                                  "#!",
                                                  "#?",
                                                  "#=",
                                                  "'",
                                                  "^",
                                                  "@",
                                                  "`",
                                                  "~",
                                                  "%"};
  return tokens;
}

std::string random_buffer(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> length(0, 300), byte(0, 255), coin(0, 1);
  const auto& tokens = edn_tokens();
  std::uniform_int_distribution<std::size_t> pick(0, tokens.size() - 1);
  std::string out;
  const int n = length(rng);
  if (coin(rng) == 0) {
    for (int i = 0; i < n; ++i) out += static_cast<char>(byte(rng));
  } else {
    for (int i = 0; i < n / 3; ++i) out += tokens[pick(rng)];
  }
  return out;
}

TEST(EdnHostile, RandomBuffersFromFixedSeed) {
  std::mt19937_64 rng(0x5eed'ed11);
  int reported = 0;
  for (int i = 0; i < 4000 && reported < kMaxReported; ++i) {
    const std::string problem = problem_with(random_buffer(rng));
    if (!problem.empty() && reported++ < kMaxReported) ADD_FAILURE() << problem;
  }
}

// Inputs the fuzzers once found (or that sit next to such findings).
TEST(EdnHostile, TrickyInputsAreValueOrParseError) {
  const char* inputs[] = {"#:a{/ 1}",
                          "#:a{_/ 1}",
                          "#:a{_/x 1}",
                          "#:_{:x 1}",
                          "#:a{:_/_ 1}",
                          "#:a{nil 1}",
                          "#:a{+1 1}",
                          "#:a{- 1}",
                          "#:nil{:x 1}",
                          "#:a{:b/ 1}",
                          "#true 1",
                          "#nil [1]",
                          "#false x",
                          "#_x 1",
                          "#inst 1",
                          "#uuid nil",
                          "#a/b",
                          "#:a",
                          "#:a{",
                          "\\u",
                          "\\uD800",
                          "\\o",
                          "\\o400",
                          "\"\\u",
                          "\"\\uD800\\",
                          "\"\\uD83D\\uDE0",
                          "1/0",
                          "-1/0",
                          "0/0",
                          "9223372036854775808/2",
                          "1/9223372036854775808",
                          "-9223372036854775808/-1",
                          "1e99999",
                          "1M/2",
                          "1N/2"};
  for (const char* text : inputs) {
    const std::string problem = problem_with(text);
    EXPECT_TRUE(problem.empty()) << problem;
  }
}

RC_GTEST_PROP(EdnHostileProperty, ArbitraryBytesAreValueOrParseError, (const std::string& bytes)) {
  RC_ASSERT(problem_with(bytes) == "");
}

RC_GTEST_PROP(EdnHostileProperty, TokenSoupIsValueOrParseError, ()) {
  const auto picks =
      *rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(edn_tokens()));
  std::string text;
  for (const auto& p : picks) text += p;
  RC_ASSERT(problem_with(text) == "");
}

RC_GTEST_PROP(EdnHostileProperty, MutatedPrintedValuesAreValueOrParseError, ()) {
  const Value v = *edn::test::gen_value(3);
  std::string text = edn::write(v);
  RC_PRE(!text.empty());
  const auto at = *rc::gen::inRange<std::size_t>(0, text.size());
  const auto byte = *rc::gen::arbitrary<char>();
  text[at] = byte;
  RC_ASSERT(problem_with(text) == "");
  RC_ASSERT(problem_with(std::string_view(text).substr(0, at)) == "");
}

// --- invalid UTF-8 -----------------------------------------------------------------

struct BadUtf8 {
  const char* name;
  std::string bytes;
};

const std::vector<BadUtf8>& bad_utf8() {
  static const std::vector<BadUtf8> cases = {
      {"lone 0xFF", "\xFF"},
      {"lone 0xFE", "\xFE"},
      {"lone continuation", "\x80"},
      {"overlong slash 2 bytes", "\xC0\xAF"},
      {"overlong 0xC1", "\xC1\xBF"},
      {"overlong slash 3 bytes", "\xE0\x80\xAF"},
      {"overlong slash 4 bytes", "\xF0\x80\x80\xAF"},
      {"overlong NUL", "\xC0\x80"},
      {"UTF-8 encoded high surrogate", "\xED\xA0\x80"},
      {"UTF-8 encoded low surrogate", "\xED\xBF\xBF"},
      {"CESU-8 surrogate pair", "\xED\xA0\xBD\xED\xB8\x80"},
      {"truncated 2-byte", "\xC3"},
      {"truncated 3-byte", "\xE2\x82"},
      {"truncated 4-byte", "\xF0\x9F\x98"},
      {"above U+10FFFF", "\xF4\x90\x80\x80"},
      {"0xF5 lead", "\xF5\x80\x80\x80"},
      {"5-byte form", "\xF8\x88\x80\x80\x80"},
      {"lead then ASCII", "\xC3("},
  };
  return cases;
}

void expect_utf8_error(const std::string& text, const char* what) {
  try {
    const Value v = edn::test::read_exact(text);
    ADD_FAILURE() << what << ": parsed to " << testing::PrintToString(v) << " from "
                  << hex_dump(text);
  } catch (const edn::ParseError& e) {
    EXPECT_TRUE(edn::test::contains_ci(e.what(), "UTF-8")) << what << ": " << hex_dump(e.what());
    EXPECT_TRUE(edn::test::valid_utf8(e.what())) << what << ": " << hex_dump(e.what());
  }
}

TEST(EdnHostile, InvalidUtf8InStringsIsError) {
  for (const auto& c : bad_utf8()) {
    expect_utf8_error("\"a" + c.bytes + "b\"", c.name);
    expect_utf8_error("\"" + c.bytes + "\"", c.name);
    expect_utf8_error("[\"ok\" \"x" + c.bytes + "\"]", c.name);
  }
}

TEST(EdnHostile, InvalidUtf8InSymbolsKeywordsAndCharsIsError) {
  for (const auto& c : bad_utf8()) {
    expect_utf8_error("abc" + c.bytes, c.name);
    expect_utf8_error("[:k" + c.bytes + " 1]", c.name);
    expect_utf8_error("\\" + c.bytes, c.name);
    expect_utf8_error("#my/t" + c.bytes + " 1", c.name);
  }
}

TEST(EdnHostile, InvalidUtf8OutsideTokensIsError) {
  for (const auto& c : bad_utf8()) {
    expect_utf8_error("[1 " + c.bytes + "]", c.name);
    expect_utf8_error("; comment " + c.bytes + "\n1", c.name);
  }
}

TEST(EdnHostile, ValidUtf8EdgesAreAccepted) {
  const std::vector<std::string> edges = {
      "\xC2\x80",          // U+0080
      "\xDF\xBF",          // U+07FF
      "\xE0\xA0\x80",      // U+0800
      "\xED\x9F\xBF",      // U+D7FF
      "\xEE\x80\x80",      // U+E000
      "\xEF\xBF\xBF",      // U+FFFF
      "\xF0\x90\x80\x80",  // U+10000
      "\xF4\x8F\xBF\xBF",  // U+10FFFF
  };
  for (const auto& e : edges) {
    const Value v = edn::test::read_exact("\"" + e + "\"");
    EXPECT_EQ(v.as_string(), e) << hex_dump(e);
    EXPECT_EQ(edn::read(edn::write(v)), v) << hex_dump(e);
  }
}

}  // namespace
