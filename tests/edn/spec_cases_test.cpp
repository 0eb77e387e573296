// The EDN spec as a table: (input text, expected value built with the C++
// API, expected printed text), plus every reader error with its position and
// reason. Expected printed forms follow Clojure's pr-str.
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "edn/edn_test_support.hpp"

namespace edn = stube::edn;
using edn::Value;
using namespace edn::literals;

namespace {

struct SpecCase {
  std::string name;
  std::string input;
  std::function<Value()> expected;
  // Exact pr-str text. Empty for maps/sets with several entries, whose order
  // is canonical but unspecified; those are checked order-independently.
  std::string printed;
};

// Only the name: ctest names are built from this text and must stay plain.
void PrintTo(const SpecCase& c, std::ostream* os) {
  *os << c.name;
}

Value big(std::string_view digits) {
  return Value::big_int(digits);
}
Value ch(char32_t c) {
  return Value::character(c);
}
Value inst(std::int64_t seconds, std::uint32_t nanos) {
  return Value(edn::Instant{seconds, nanos});
}

constexpr std::int64_t k2020 = 1577836800;  // 2020-01-01T00:00:00Z

std::vector<SpecCase> scalar_cases() {
  const double inf = std::numeric_limits<double>::infinity();
  return {
      {"nil", "nil", [] { return Value(); }, "nil"},
      {"true", "true", [] { return Value(true); }, "true"},
      {"false", "false", [] { return Value(false); }, "false"},
      {"zero", "0", [] { return Value(0); }, "0"},
      {"int", "42", [] { return Value(42); }, "42"},
      {"negative_int", "-17", [] { return Value(-17); }, "-17"},
      {"plus_sign_int", "+5", [] { return Value(5); }, "5"},
      {"int64_max", "9223372036854775807",
       [] { return Value(std::numeric_limits<std::int64_t>::max()); }, "9223372036854775807"},
      {"int64_min", "-9223372036854775808",
       [] { return Value(std::numeric_limits<std::int64_t>::min()); }, "-9223372036854775808"},
      {"bigint_n", "123456789012345678901234567890N",
       [] { return big("123456789012345678901234567890"); }, "123456789012345678901234567890N"},
      {"small_bigint_n", "42N", [] { return big("42"); }, "42N"},
      {"negative_bigint_n", "-98765432109876543210N", [] { return big("-98765432109876543210"); },
       "-98765432109876543210N"},
      {"int64_overflow_promotes", "9223372036854775808", [] { return big("9223372036854775808"); },
       "9223372036854775808N"},
      {"int64_underflow_promotes", "-9223372036854775809",
       [] { return big("-9223372036854775809"); }, "-9223372036854775809N"},
      {"double_one", "1.0", [] { return Value(1.0); }, "1.0"},
      {"double_fraction", "1.5", [] { return Value(1.5); }, "1.5"},
      {"double_negative", "-2.5", [] { return Value(-2.5); }, "-2.5"},
      {"double_tenth", "0.1", [] { return Value(0.1); }, "0.1"},
      {"double_hundred", "100.0", [] { return Value(100.0); }, "100.0"},
      {"double_exp_lower", "1e10", [] { return Value(1e10); }, "1.0E10"},
      {"double_exp_upper", "1.0E10", [] { return Value(1e10); }, "1.0E10"},
      {"double_exp_negative", "1E-5", [] { return Value(1e-5); }, "1.0E-5"},
      {"double_exp_plus", "1.5e+3", [] { return Value(1500.0); }, "1500.0"},
      {"double_thousandth", "0.001", [] { return Value(0.001); }, "0.001"},
      {"double_thousandth_exp", "1.0e-3", [] { return Value(0.001); }, "0.001"},
      {"double_below_thousandth", "0.0001", [] { return Value(0.0001); }, "1.0E-4"},
      {"double_below_1e7", "1234567.0", [] { return Value(1234567.0); }, "1234567.0"},
      {"double_just_below_1e7", "9999999.0", [] { return Value(9999999.0); }, "9999999.0"},
      {"double_1e7", "10000000.0", [] { return Value(1e7); }, "1.0E7"},
      {"double_sci", "12345678.0", [] { return Value(12345678.0); }, "1.2345678E7"},
      {"double_sci_fraction", "123.456e5", [] { return Value(12345600.0); }, "1.23456E7"},
      {"double_max", "1.7976931348623157E308",
       [] { return Value(std::numeric_limits<double>::max()); }, "1.7976931348623157E308"},
      // Java's Double.toString gives two digits where one would do.
      {"double_min_subnormal", "4.9E-324",
       [] { return Value(std::numeric_limits<double>::denorm_min()); }, "4.9E-324"},
      {"double_min_subnormal_one_digit", "-5e-324",
       [] { return Value(-std::numeric_limits<double>::denorm_min()); }, "-4.9E-324"},
      {"negative_zero", "-0.0", [] { return Value(-0.0); }, "-0.0"},
      {"inf", "##Inf", [inf] { return Value(inf); }, "##Inf"},
      {"negative_inf", "##-Inf", [inf] { return Value(-inf); }, "##-Inf"},
      {"nan", "##NaN", [] { return Value(std::nan("")); }, "##NaN"},
      // As Clojure, which reads the value after ## as it reads any form.
      {"inf_after_space", "## Inf", [inf] { return Value(inf); }, "##Inf"},
      {"nan_after_comma", "##,NaN", [] { return Value(std::nan("")); }, "##NaN"},
      {"decimal", "1.50M", [] { return Value::decimal("1.50"); }, "1.50M"},
      {"decimal_integer", "12M", [] { return Value::decimal("12"); }, "12M"},
      {"decimal_largest_exponent", "1e2147483647M", [] { return Value::decimal("1e2147483647"); },
       "1e2147483647M"},
      {"decimal_exponent_leading_zeros", "1.5e-00000000000002M",
       [] { return Value::decimal("1.5e-00000000000002"); }, "1.5e-00000000000002M"},
      {"decimal_negative", "-0.5M", [] { return Value::decimal("-0.5"); }, "-0.5M"},
      {"ratio", "1/2", [] { return Value::ratio(1, 2); }, "1/2"},
      {"ratio_normalised", "2/4", [] { return Value::ratio(1, 2); }, "1/2"},
      {"ratio_to_int", "4/2", [] { return Value(2); }, "2"},
      {"ratio_negative", "-6/4", [] { return Value::ratio(-3, 2); }, "-3/2"},
  };
}

std::vector<SpecCase> text_cases() {
  return {
      {"char_a", "\\a", [] { return ch('a'); }, "\\a"},
      {"char_newline", "\\newline", [] { return ch('\n'); }, "\\newline"},
      {"char_space", "\\space", [] { return ch(' '); }, "\\space"},
      {"char_tab", "\\tab", [] { return ch('\t'); }, "\\tab"},
      {"char_return", "\\return", [] { return ch('\r'); }, "\\return"},
      {"char_formfeed", "\\formfeed", [] { return ch('\f'); }, "\\formfeed"},
      {"char_backspace", "\\backspace", [] { return ch('\b'); }, "\\backspace"},
      {"char_unicode_ascii", "\\u0041", [] { return ch('A'); }, "\\A"},
      {"char_unicode_escape", "\\u00e9", [] { return ch(0xE9); }, "\\\xC3\xA9"},
      {"char_unicode_upper_hex", "\\u03BB", [] { return ch(0x3BB); }, "\\\xCE\xBB"},
      {"char_non_ascii_literal", "\\\xC3\xA9", [] { return ch(0xE9); }, "\\\xC3\xA9"},
      {"char_control", "\\u0001", [] { return ch(1); }, "\\u0001"},
      {"char_last_bmp", "\\uFFFD", [] { return ch(0xFFFD); }, "\\\xEF\xBF\xBD"},
      {"comment_ended_by_carriage_return", "[1 ; note\r 2]",
       [] {
         return edn::vec({1, 2});
       },
       "[1 2]"},
      {"string_octal_escape_ended_by_space", R"("\1 x")", [] { return Value("\x01 x"); },
       "\"\x01 x\""},
      {"string_octal_escape_ended_by_macro_character", R"("\1#x")", [] { return Value("\x01#x"); },
       "\"\x01#x\""},
      {"string_octal_escape_three_digits_then_digit", R"("\1234")", [] { return Value("S4"); },
       "\"S4\""},
      {"char_backslash", "\\\\", [] { return ch('\\'); }, "\\\\"},
      {"char_paren", "\\(", [] { return ch('('); }, "\\("},
      {"char_quote", "\\\"", [] { return ch('"'); }, "\\\""},
      {"string_empty", R"("")", [] { return Value(""); }, R"("")"},
      {"string_plain", R"("hello world")", [] { return Value("hello world"); }, R"("hello world")"},
      {"string_escape_quote", R"("a\"b")", [] { return Value("a\"b"); }, R"("a\"b")"},
      {"string_escape_backslash", R"("a\\b")", [] { return Value("a\\b"); }, R"("a\\b")"},
      {"string_escape_newline", R"("a\nb")", [] { return Value("a\nb"); }, R"("a\nb")"},
      {"string_escape_tab", R"("a\tb")", [] { return Value("a\tb"); }, R"("a\tb")"},
      {"string_escape_return", R"("a\rb")", [] { return Value("a\rb"); }, R"("a\rb")"},
      {"string_escape_backspace", R"("a\bb")", [] { return Value("a\bb"); }, R"("a\bb")"},
      {"string_escape_formfeed", R"("a\fb")", [] { return Value("a\fb"); }, R"("a\fb")"},
      {"string_escape_unicode", R"("caf\u00e9")", [] { return Value("caf\xC3\xA9"); },
       "\"caf\xC3\xA9\""},
      {"string_escape_unicode_control", R"("a\u0001b")",
       [] {
         return Value(
             "a\x01"
             "b");
       },
       "\"a\x01"
       "b\""},
      {"string_surrogate_pair", R"("\uD83D\uDE00")", [] { return Value("\xF0\x9F\x98\x80"); },
       "\"\xF0\x9F\x98\x80\""},
      {"string_raw_utf8", "\"\xE2\x82\xAC \xF0\x9F\x98\x80\"",
       [] { return Value("\xE2\x82\xAC \xF0\x9F\x98\x80"); }, "\"\xE2\x82\xAC \xF0\x9F\x98\x80\""},
      {"string_raw_control",
       "\"a\x01\x1F\x7F"
       "b\"",
       [] {
         return Value(
             "a\x01\x1F\x7F"
             "b");
       },
       "\"a\x01\x1F\x7F"
       "b\""},
      {"string_raw_newline", "\"a\nb\tc\"", [] { return Value("a\nb\tc"); }, R"("a\nb\tc")"},
      {"string_all_escapes", R"("\"\\\n\t\r\b\f")", [] { return Value("\"\\\n\t\r\b\f"); },
       R"("\"\\\n\t\r\b\f")"},
      {"symbol", "foo", [] { return edn::sym("foo"); }, "foo"},
      {"symbol_namespaced", "my.ns/bar", [] { return edn::sym("my.ns/bar"); }, "my.ns/bar"},
      {"symbol_slash", "/", [] { return edn::sym("/"); }, "/"},
      {"symbol_plus", "+", [] { return edn::sym("+"); }, "+"},
      {"symbol_minus", "-", [] { return edn::sym("-"); }, "-"},
      {"symbol_arrow", "a->b", [] { return edn::sym("a->b"); }, "a->b"},
      {"symbol_quote_char", "x'", [] { return edn::sym("x'"); }, "x'"},
      {"symbol_earmuffs", "*ok*", [] { return edn::sym("*ok*"); }, "*ok*"},
      {"symbol_dash_prefix", "-foo", [] { return edn::sym("-foo"); }, "-foo"},
      {"symbol_non_ascii", "\xCE\xBB", [] { return edn::sym("\xCE\xBB"); }, "\xCE\xBB"},
      {"keyword", ":foo", [] { return "foo"_kw; }, ":foo"},
      {"keyword_namespaced", ":conv/id", [] { return "conv/id"_kw; }, ":conv/id"},
      {"keyword_dotted_ns", ":a.b/c-d", [] { return edn::kw("a.b/c-d"); }, ":a.b/c-d"},
      {"keyword_question", ":ok?", [] { return edn::kw("ok?"); }, ":ok?"},
  };
}

std::vector<SpecCase> collection_cases() {
  return {
      {"list_empty", "()", [] { return edn::list({}); }, "()"},
      {"list", "(1 2 3)",
       [] {
         return edn::list({1, 2, 3});
       },
       "(1 2 3)"},
      {"list_nested", "(a (b) [c])",
       [] {
         return edn::list({"a"_sym, edn::list({"b"_sym}), edn::vec({"c"_sym})});
       },
       "(a (b) [c])"},
      {"vector_empty", "[]", [] { return edn::vec({}); }, "[]"},
      {"vector_mixed", R"([1 "two" :three nil 4.0])",
       [] {
         return edn::vec({1, "two", "three"_kw, nullptr, 4.0});
       },
       R"([1 "two" :three nil 4.0])"},
      {"vector_nested_empty", "[[] [[]]]",
       [] {
         return edn::vec({edn::vec({}), edn::vec({edn::vec({})})});
       },
       "[[] [[]]]"},
      {"map_empty", "{}", [] { return edn::map({}); }, "{}"},
      {"map_one", "{:a 1}",
       [] {
         return edn::map({{"a"_kw, 1}});
       },
       "{:a 1}"},
      {"map_collection_key", "{[1 2] {:x nil}}",
       [] {
         return edn::map({{edn::vec({1, 2}), edn::map({{"x"_kw, nullptr}})}});
       },
       "{[1 2] {:x nil}}"},
      {"map_several", R"({:a 1 :b "two" "c" [3]})",
       [] {
         return edn::map({{"a"_kw, 1}, {"b"_kw, "two"}, {"c", edn::vec({3})}});
       },
       ""},
      {"map_int_and_double_keys_differ", "{1 :int 1.0 :double}",
       [] {
         return edn::map({{1, "int"_kw}, {1.0, "double"_kw}});
       },
       ""},
      {"set_empty", "#{}", [] { return edn::set({}); }, "#{}"},
      {"set_one", "#{:x}", [] { return edn::set({"x"_kw}); }, "#{:x}"},
      {"set_several", "#{1 2 3 \"x\"}",
       [] {
         return edn::set({3, "x", 2, 1});
       },
       ""},
      {"set_of_maps_order_free", "#{{:a 1 :b 2} {:a 1}}",
       [] {
         return edn::set({edn::map({{"b"_kw, 2}, {"a"_kw, 1}}), edn::map({{"a"_kw, 1}})});
       },
       ""},
  };
}

std::vector<SpecCase> tagged_cases() {
  const std::string epoch = "#inst \"2020-01-01T00:00:00.000-00:00\"";
  return {
      {"inst_utc", epoch, [] { return inst(k2020, 0); }, epoch},
      {"inst_positive_offset", "#inst \"2020-01-01T01:00:00.000+01:00\"",
       [] { return inst(k2020, 0); }, epoch},
      {"inst_negative_offset", "#inst \"2019-12-31T19:00:00-05:00\"", [] { return inst(k2020, 0); },
       epoch},
      {"inst_zulu_no_fraction", "#inst \"2020-01-01T00:00:00Z\"", [] { return inst(k2020, 0); },
       epoch},
      {"inst_nanoseconds", "#inst \"2020-01-01T00:00:00.123456789Z\"",
       [] { return inst(k2020, 123456789); }, "#inst \"2020-01-01T00:00:00.123456789-00:00\""},
      {"inst_microseconds", "#inst \"2020-01-01T00:00:00.000001Z\"",
       [] { return inst(k2020, 1000); }, "#inst \"2020-01-01T00:00:00.000001000-00:00\""},
      {"inst_finer_than_nanoseconds_dropped", "#inst \"2020-01-01T00:00:00.1234567891Z\"",
       [] { return inst(k2020, 123456789); }, "#inst \"2020-01-01T00:00:00.123456789-00:00\""},
      {"inst_one_fraction_digit", "#inst \"2020-01-01T00:00:00.5Z\"",
       [] { return inst(k2020, 500000000); }, "#inst \"2020-01-01T00:00:00.500-00:00\""},
      {"inst_half_hour_offset", "#inst \"2020-02-29T12:34:56.789+05:30\"",
       [] { return inst(1582959896, 789000000); }, "#inst \"2020-02-29T07:04:56.789-00:00\""},
      {"inst_before_epoch", "#inst \"1969-12-31T23:59:59.999-00:00\"",
       [] { return inst(-1, 999000000); }, "#inst \"1969-12-31T23:59:59.999-00:00\""},
      {"inst_year_one", "#inst \"0001-01-01T00:00:00Z\"", [] { return inst(-62135596800, 0); },
       "#inst \"0001-01-01T00:00:00.000-00:00\""},
      {"inst_year_9999", "#inst \"9999-12-31T23:59:59.999Z\"",
       [] { return inst(253402300799, 999000000); }, "#inst \"9999-12-31T23:59:59.999-00:00\""},
      {"uuid_uppercase_in", "#uuid \"F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6\"",
       [] { return Value(edn::Uuid::parse("f81d4fae-7dec-11d0-a765-00a0c91e6bf6")); },
       "#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\""},
      {"tagged_unknown", "#my/tag [1 2]",
       [] {
         return Value::tagged("my/tag", edn::vec({1, 2}));
       },
       "#my/tag [1 2]"},
      {"tagged_no_namespace", "#foo 1", [] { return Value::tagged("foo", 1); }, "#foo 1"},
      {"tagged_nested", "#my/a #my/b {:k \"v\"}",
       [] {
         return Value::tagged("my/a", Value::tagged("my/b", edn::map({{"k"_kw, "v"}})));
       },
       "#my/a #my/b {:k \"v\"}"},
      {"tagged_non_ascii_tag", "#\xCE\xBB/t 1", [] { return Value::tagged("\xCE\xBB/t", 1); },
       "#\xCE\xBB/t 1"},
      {"tagged_latin1_tag", "#\xC3\xA9/t 1", [] { return Value::tagged("\xC3\xA9/t", 1); },
       "#\xC3\xA9/t 1"},
      {"tagged_holding_inst", "#my/t #inst \"2020-01-01T00:00:00Z\"",
       [] { return Value::tagged("my/t", inst(k2020, 0)); }, "#my/t " + epoch},
  };
}

std::vector<SpecCase> syntax_cases() {
  return {
      {"discard_in_vector", "[1 #_ 2 3]",
       [] {
         return edn::vec({1, 3});
       },
       "[1 3]"},
      {"discard_skips_tag_handling", "#_ #inst \"garbage\" 5", [] { return Value(5); }, "5"},
      {"discard_bad_uuid", "[1 #_#uuid \"nope\"]", [] { return edn::vec({1}); }, "[1]"},
      {"discard_twice", "[#_ #_ 1 2 3]", [] { return edn::vec({3}); }, "[3]"},
      {"discard_collection", "#_[1 {:a 1}] :k", [] { return "k"_kw; }, ":k"},
      {"discard_map_entry", "{:a 1 #_ :b #_ 2}",
       [] {
         return edn::map({{"a"_kw, 1}});
       },
       "{:a 1}"},
      {"comment_lines", "; leading comment\n42 ; trailing comment", [] { return Value(42); }, "42"},
      {"comment_inside", "[1 ; two\n 3]",
       [] {
         return edn::vec({1, 3});
       },
       "[1 3]"},
      {"comment_at_eof_no_newline", "7;", [] { return Value(7); }, "7"},
      {"commas_as_whitespace", ",,[1,2,,3],,",
       [] {
         return edn::vec({1, 2, 3});
       },
       "[1 2 3]"},
      {"whitespace_around", " \t\r\n 42 \r\n", [] { return Value(42); }, "42"},
      {"namespaced_map", "#:conv{:id \"x\"}",
       [] {
         return edn::map({{"conv/id"_kw, "x"}});
       },
       "{:conv/id \"x\"}"},
      {"namespaced_map_plain_key", "#:conv{:_/plain 1}",
       [] {
         return edn::map({{"plain"_kw, 1}});
       },
       "{:plain 1}"},
      {"namespaced_map_other_ns_kept", "#:conv{:other/k 1}",
       [] {
         return edn::map({{"other/k"_kw, 1}});
       },
       "{:other/k 1}"},
      {"namespaced_map_mixed", "#:conv{:id \"x\", :_/plain 1, \"s\" 2}",
       [] {
         return edn::map({{"conv/id"_kw, "x"}, {"plain"_kw, 1}, {"s", 2}});
       },
       ""},
      {"no_space_between_forms", "[1\"a\":b[]{}()#{}]",
       [] {
         return edn::vec({1, "a", "b"_kw, edn::vec({}), edn::map({}), edn::list({}), edn::set({})});
       },
       "[1 \"a\" :b [] {} () #{}]"},
  };
}

std::vector<SpecCase> all_cases() {
  std::vector<SpecCase> all;
  for (auto part :
       {scalar_cases(), text_cases(), collection_cases(), tagged_cases(), syntax_cases()})
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

class SpecCaseTest : public testing::TestWithParam<SpecCase> {};

TEST_P(SpecCaseTest, ReadsToExpectedValue) {
  const SpecCase& c = GetParam();
  const Value expected = c.expected();
  const Value got = edn::test::read_exact(c.input);
  EXPECT_EQ(got.kind(), expected.kind())
      << "got kind " << edn::kind_name(got.kind()) << ", want " << edn::kind_name(expected.kind());
  EXPECT_EQ(got, expected);
  EXPECT_EQ(got.hash(), expected.hash());
}

TEST_P(SpecCaseTest, PrintsLikePrStr) {
  const SpecCase& c = GetParam();
  const Value expected = c.expected();
  const std::string text = edn::write(expected);
  if (!c.printed.empty()) {
    EXPECT_EQ(text, c.printed);
    EXPECT_EQ(edn::write(edn::test::read_exact(c.input)), c.printed);
  }
  EXPECT_EQ(edn::test::read_exact(text), expected) << "printed: " << text;
}

std::string case_name(const testing::TestParamInfo<SpecCase>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Edn, SpecCaseTest, testing::ValuesIn(all_cases()), case_name);

// --- printing details that the table cannot express ---------------------------

TEST(EdnPrint, MultiEntryMapSeparatesEntriesWithCommaSpace) {
  const Value m = edn::read("{:a 1 :b 2 :c 3}");
  const std::string text = edn::write(m);
  ASSERT_EQ(text.size(), std::string("{:a 1, :b 2, :c 3}").size()) << text;
  EXPECT_EQ(text.front(), '{');
  EXPECT_EQ(text.back(), '}');
  std::size_t commas = 0;
  for (std::size_t i = 0; i + 1 < text.size(); ++i)
    if (text[i] == ',') {
      ++commas;
      EXPECT_EQ(text[i + 1], ' ') << text;
    }
  EXPECT_EQ(commas, 2u) << text;
  for (const char* entry : {":a 1", ":b 2", ":c 3"})
    EXPECT_NE(text.find(entry), std::string::npos) << text;
}

TEST(EdnPrint, SetSeparatesElementsWithSpaceOnly) {
  const std::string text = edn::write(edn::set({1, 2, 3}));
  ASSERT_EQ(text.size(), std::string("#{1 2 3}").size()) << text;
  EXPECT_EQ(text.substr(0, 2), "#{");
  EXPECT_EQ(text.find(','), std::string::npos) << text;
  EXPECT_EQ(edn::read(text), edn::set({1, 2, 3}));
}

TEST(EdnPrint, MapOrderDoesNotDependOnInsertionOrder) {
  std::vector<edn::MapEntry> entries;
  for (int i = 0; i < 50; ++i)
    entries.push_back({Value::keyword("k" + std::to_string(i)), Value(std::to_string(i))});
  const Value forward = edn::map(std::span<const edn::MapEntry>(entries));
  std::reverse(entries.begin(), entries.end());
  const Value backward = edn::map(std::span<const edn::MapEntry>(entries));
  Value assoced;
  for (int i = 49; i >= 0; i -= 2) assoced = assoced.assoc(entries[i].key, entries[i].val);
  for (int i = 48; i >= 0; i -= 2) assoced = assoced.assoc(entries[i].key, entries[i].val);
  EXPECT_EQ(edn::write(forward), edn::write(backward));
  EXPECT_EQ(edn::write(forward), edn::write(assoced));
  EXPECT_EQ(edn::write(edn::read(edn::write(forward))), edn::write(forward));
}

TEST(EdnPrint, SetOrderDoesNotDependOnInsertionOrder) {
  Value up = edn::set({}), down = edn::set({});
  for (int i = 0; i < 40; ++i) up = up.conj(Value("s" + std::to_string(i)));
  for (int i = 39; i >= 0; --i) down = down.conj(Value("s" + std::to_string(i)));
  EXPECT_EQ(up, down);
  EXPECT_EQ(edn::write(up), edn::write(down));
}

TEST(EdnPrint, ControlCharactersInCharsUseUnicodeEscape) {
  for (char32_t c : {U'\0', U'\x01', U'\x1b', U'\x1f'}) {
    const std::string text = edn::write(Value::character(c));
    char expected[8];
    std::snprintf(expected, sizeof expected, "\\u%04x", static_cast<unsigned>(c));
    EXPECT_EQ(edn::test::lower(text), expected);
    EXPECT_EQ(edn::read(text), Value::character(c)) << text;
  }
}

// What Clojure's printer makes of a string: the seven escapes, nothing else.
std::string clojure_printed(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += c;
    }
  }
  return out + '"';
}

TEST(EdnPrint, StringsEscapeOnlyTheSevenClojureEscapes) {
  std::string all;
  for (int c = 1; c < 0x80; ++c) all += static_cast<char>(c);
  const std::string text = edn::write(Value(all));
  EXPECT_EQ(text, clojure_printed(all));
  EXPECT_EQ(edn::read(text), Value(all));
}

// The writer copies strings a word (8 bytes) at a time and escapes byte by
// byte only in a word that needs it: every ASCII character and some
// multi-byte ones, at every position within and across words, must come out
// as Clojure prints them.
TEST(EdnPrint, EveryCharacterIsPrintedRightAtEveryPositionInAWord) {
  std::vector<std::string> specials;
  for (int c = 0; c < 0x80; ++c) specials.emplace_back(1, static_cast<char>(c));
  for (const char* multi : {"\u00e9", "\u20ac", "\U0001F600"}) specials.emplace_back(multi);
  for (const std::string& special : specials) {
    for (std::size_t before = 0; before <= 17; ++before) {
      for (std::size_t after = 0; after <= 9; ++after) {
        for (const char tail : {'b', '"'}) {
          const std::string s = std::string(before, 'a') + special + std::string(after, tail);
          ASSERT_EQ(edn::write(Value(s)), clojure_printed(s))
              << "character " << edn::write(Value(special)) << " after " << before;
        }
      }
    }
  }
}

TEST(EdnPrint, StringWithNulByteRoundTrips) {
  const Value v(std::string_view("a\0b", 3));
  EXPECT_EQ(v.as_string().size(), 3u);
  EXPECT_EQ(edn::read(edn::write(v)), v);
}

TEST(EdnPrint, UuidPrintsLowercase) {
  const Value v = edn::read("#uuid \"AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE\"");
  EXPECT_EQ(edn::write(v), "#uuid \"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\"");
}

TEST(EdnPrint, WriteAppendsToExistingText) {
  std::string out = "prefix:";
  edn::write(edn::vec({1, "x"}), out);
  EXPECT_EQ(out, "prefix:[1 \"x\"]");
}

TEST(EdnRead, EqualInstantsFromDifferentOffsetsAreEqualAndHashEqual) {
  const Value a = edn::read("#inst \"2020-01-01T01:00:00.000+01:00\"");
  const Value b = edn::read("#inst \"2020-01-01T00:00:00.000-00:00\"");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(a.as_inst(), (edn::Instant{k2020, 0}));
}

TEST(EdnRead, NamespacedMapDoesNotTouchSymbolOrStringKeysValues) {
  const Value v = edn::read("#:conv{:id :x/y}");
  EXPECT_EQ(v, edn::map({{"conv/id"_kw, "x/y"_kw}}));
}

TEST(EdnRead, BigIntTextKeepsDigits) {
  EXPECT_EQ(edn::read("123456789012345678901234567890N").number_text(),
            "123456789012345678901234567890");
  EXPECT_EQ(edn::read("9223372036854775808").number_text(), "9223372036854775808");
  EXPECT_EQ(edn::read("1.50M").number_text(), "1.50");
  EXPECT_EQ(edn::read("2/4").number_text(), "1/2");
}

// Clojure reads -0N as 0N: one value, equal, printed 0N (and so in range
// of an unsigned state field, which refused "-0").
TEST(EdnRead, MinusZeroBigIntIsZero) {
  EXPECT_EQ(edn::read("-0N"), edn::read("0N"));
  EXPECT_EQ(edn::write(edn::read("-0N")), "0N");
  EXPECT_EQ(Value::big_int("-0"), Value::big_int("0"));
}

// Java's BigDecimal has no negative zero either: Clojure prints -0.0M as
// 0.0M and refuses #{0.0M -0.0M} as a duplicate. Other decimals keep their
// sign and text.
TEST(EdnRead, MinusZeroDecimalIsZero) {
  EXPECT_EQ(edn::write(edn::read("-0.0M")), "0.0M");
  EXPECT_EQ(edn::write(edn::read("-0M")), "0M");
  EXPECT_EQ(edn::write(edn::read("-0.00e5M")), "0.00e5M");
  EXPECT_EQ(Value::decimal("-0.0"), Value::decimal("0.0"));
  EXPECT_THROW(edn::read("#{0.0M -0.0M}"), edn::ParseError);
  EXPECT_EQ(edn::write(edn::read("-0.01M")), "-0.01M");
  EXPECT_EQ(edn::write(edn::read("-10M")), "-10M");
}

TEST(EdnRead, UnknownTagKeepsTagAndInner) {
  const Value v = edn::read("#my.app/thing {:a [1 2]}");
  ASSERT_EQ(v.kind(), edn::Kind::Tagged);
  EXPECT_EQ(v.tag(), "my.app/thing");
  EXPECT_EQ(v.tagged_value(), edn::map({{"a"_kw, edn::vec({1, 2})}}));
}

// --- errors ---------------------------------------------------------------------

struct ErrorCase {
  std::string name;
  std::string input;
  // what() must contain one of these (case-insensitive).
  std::vector<std::string> reasons;
  // Accepted (line, column) positions, 1-based: where the offending construct
  // starts or where the reader noticed the problem.
  std::vector<std::pair<std::size_t, std::size_t>> positions;
  std::size_t max_depth = 1000;
};

// Only the name: ctest names are built from this text and must stay plain.
void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

std::vector<ErrorCase> error_cases() {
  return {
      {"unterminated_string", "[1\n  \"abc", {"unterminated"}, {{2, 3}, {2, 7}}},
      {"unterminated_string_after_escape", "\"ab\\", {"unterminated"}, {{1, 1}, {1, 4}, {1, 5}}},
      {"unterminated_list", "(1 2", {"unterminated"}, {{1, 1}, {1, 5}}},
      {"unterminated_vector", "[1\n2", {"unterminated"}, {{1, 1}, {2, 2}}},
      {"unterminated_map", "{:a 1", {"unterminated"}, {{1, 1}, {1, 6}}},
      {"unterminated_set", "#{1", {"unterminated"}, {{1, 1}, {1, 2}, {1, 4}}},
      {"unterminated_nested",
       "{:a [1 2}",
       {"unterminated", "unexpected", "mismatch", "unmatched"},
       {{1, 5}, {1, 9}}},
      {"odd_map", "{:a 1 :b}", {"odd", "even"}, {{1, 1}, {1, 7}, {1, 9}}},
      // The closer of another collection names the one that is open.
      {"mismatched_vector_closer",
       "[1 2}",
       {"unexpected '}': the vector opened at line 1, column 1 ends with ']'"},
       {{1, 5}}},
      {"mismatched_list_closer",
       "(1\n ]",
       {"unexpected ']': the list opened at line 1, column 1 ends with ')'"},
       {{2, 2}}},
      {"mismatched_set_closer",
       "#{1 )",
       {"the set opened at line 1, column 1 ends with '}'"},
       {{1, 5}}},
      {"mismatched_map_closer_at_key", "{:a 1 ]", {"the map opened at line 1, column 1"}, {{1, 7}}},
      {"mismatched_map_closer_at_value",
       "{:a )}",
       {"the map opened at line 1, column 1"},
       {{1, 5}}},
      {"stray_closer", "}", {"no collection is open here"}, {{1, 1}}},
      // A closer where #_ or a tag still needs its form names that prefix.
      {"closer_after_discard",
       "[#_ }",
       {"unexpected '}': expected a form after #_ (at line 1, column 2)"},
       {{1, 5}}},
      {"closer_after_nested_discard",
       "[#_ #_ 1]",
       {"unexpected ']': expected a form after #_ (at line 1, column 2)"},
       {{1, 9}}},
      {"closer_after_tag",
       "{:a #inst\n}",
       {"unexpected '}': expected a value after the tag #inst (at line 1, column 5)"},
       {{2, 1}}},
      {"odd_namespaced_map", "#:conv{:a}", {"odd", "even"}, {{1, 1}, {1, 7}, {1, 8}, {1, 10}}},
      {"duplicate_map_key", "{:a 1\n :a 2}", {"duplicate"}, {{1, 1}, {2, 2}}},
      {"duplicate_map_key_order_free",
       "{{:x 1 :y 2} 1 {:y 2 :x 1} 2}",
       {"duplicate"},
       {{1, 1}, {1, 16}}},
      {"duplicate_namespaced_key",
       "#:conv{:id 1 :conv/id 2}",
       {"duplicate"},
       {{1, 1}, {1, 7}, {1, 14}}},
      {"duplicate_set_element", "#{1 2 1}", {"duplicate"}, {{1, 1}, {1, 2}, {1, 7}}},
      {"duplicate_set_element_named",
       "#{:a \"x\" :a}",
       {"duplicate element :a in the set opened here"},
       {{1, 1}}},
      // The key's own position, not where the reader stands after it.
      {"bad_namespaced_key", "#:a{:x 1\n :1 2}", {"invalid key in namespaced map"}, {{2, 2}}},
      // Java's BigDecimal (Clojure's M numbers) keeps exponent and scale in
      // 32-bit ints.
      {"decimal_exponent_digits", "1e99999999999M", {"exponent is beyond a 32-bit int"}, {{1, 1}}},
      {"decimal_exponent_overflow", "1e2147483648M", {"exponent is beyond a 32-bit int"}, {{1, 1}}},
      {"decimal_scale_out_of_range", "[1e-2147483648M]", {"scale"}, {{1, 2}}},
      {"decimal_fraction_scale", "1.5e-2147483647M", {"scale"}, {{1, 1}}},
      {"bad_inst_leap_second_past_9999",
       "#inst \"9999-12-31T23:59:60Z\"",
       {"the leap second moves it past 9999-12-31"},
       {{1, 1}, {1, 7}}},
      {"duplicate_set_element_nested",
       "#{[1 #{2 3}] [1 #{3 2}]}",
       {"duplicate"},
       {{1, 1}, {1, 2}, {1, 14}}},
      {"invalid_utf8_in_string",
       "\"ab\xFF"
       "c\"",
       {"UTF-8"},
       {{1, 1}, {1, 4}}},
      {"invalid_utf8_in_symbol", "ab\xC3", {"UTF-8"}, {{1, 1}, {1, 3}}},
      {"depth_exceeded", "[[[[1]]]]", {"depth"}, {{1, 4}}, 3},
      {"depth_exceeded_tags", "#a/b #a/b #a/b #a/b 1", {"depth"}, {{1, 16}, {1, 21}}, 3},
      {"depth_exceeded_line2", "{:a\n (#{[1]})}", {"depth"}, {{2, 5}}, 3},
      {"unknown_escape", "\"a\\qb\"", {"escape"}, {{1, 3}, {1, 4}}},
      {"bad_unicode_escape", "\"\\u12G4\"", {"escape", "unicode", "hex"}, {{1, 2}, {1, 3}, {1, 6}}},
      {"bad_char_name", "\\foo", {"char"}, {{1, 1}}},
      {"bad_char_unicode", "\\u12", {"char"}, {{1, 1}}},
      {"bad_char_surrogate", "\\uD800", {"char", "surrogate"}, {{1, 1}}},
      {"bad_char_at_eof", "\\", {"char", "end of input", "unterminated"}, {{1, 1}, {1, 2}}},
      {"bad_inst_garbage", "#inst \"garbage\"", {"inst"}, {{1, 1}, {1, 7}}},
      {"bad_inst_month", "#inst \"2020-13-01T00:00:00Z\"", {"inst"}, {{1, 1}, {1, 7}}},
      {"bad_inst_leap_day", "#inst \"2021-02-29T00:00:00Z\"", {"inst"}, {{1, 1}, {1, 7}}},
      {"bad_inst_not_string", "#inst 42", {"inst"}, {{1, 1}, {1, 7}}},
      {"bad_inst_offset", "#inst \"2020-01-01T00:00:00+25:00\"", {"inst"}, {{1, 1}, {1, 7}}},
      {"tag_is_true", "#true 1", {"tag", "symbol"}, {{1, 1}, {1, 2}}},
      {"tag_is_nil", "#nil [1]", {"tag", "symbol"}, {{1, 1}, {1, 2}}},
      {"bad_uuid", "#uuid \"not-a-uuid\"", {"uuid"}, {{1, 1}, {1, 7}}},
      {"bad_uuid_short",
       "#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf\"",
       {"uuid"},
       {{1, 1}, {1, 7}}},
      {"bad_uuid_not_string", "#uuid [1]", {"uuid"}, {{1, 1}, {1, 7}}},
      {"trailing_content", "1 2", {"trailing", "after", "extra"}, {{1, 3}}},
      {"trailing_close",
       "[1]]",
       {"trailing", "after", "extra", "unexpected", "unmatched"},
       {{1, 4}}},
      {"empty_input", "", {"empty", "end of input", "no value", "nothing"}, {{1, 1}}},
      {"only_whitespace_and_comment",
       "  , ; nothing here\n",
       {"empty", "end of input", "no value", "nothing"},
       {{1, 1}, {2, 1}}},
      {"only_discard", "#_ 1", {"empty", "end of input", "no value", "nothing"}, {{1, 1}, {1, 5}}},
      {"lone_high_surrogate", "\"\\uD800\"", {"surrogate"}, {{1, 1}, {1, 2}, {1, 8}}},
      {"lone_low_surrogate", "\"x\\uDC00\"", {"surrogate"}, {{1, 1}, {1, 3}}},
      {"octal_escape_then_letter", "\"\\1a\"", {"invalid digit 'a' in octal escape"}, {{1, 2}}},
      {"octal_escape_then_8", "\"\\18\"", {"invalid digit '8' in octal escape"}, {{1, 2}}},
      {"octal_escape_then_at_sign", "\"\\1@\"", {"invalid digit '@' in octal escape"}, {{1, 2}}},
      {"error_line_after_lone_carriage_return", "; a\r; b\r\n  ]", {"unexpected"}, {{3, 3}}},
      {"high_surrogate_then_non_low",
       "\"\\uD83D\\u0041\"",
       {"surrogate"},
       {{1, 1}, {1, 2}, {1, 8}}},
  };
}

class ErrorCaseTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ErrorCaseTest, ThrowsParseErrorWithPositionAndReason) {
  const ErrorCase& c = GetParam();
  try {
    const Value v = edn::test::read_exact(c.input, edn::ReadOptions{c.max_depth});
    ADD_FAILURE() << "parsed to " << testing::PrintToString(v);
  } catch (const edn::ParseError& e) {
    const std::string what = e.what();
    bool reason_found = false;
    for (const auto& r : c.reasons) reason_found = reason_found || edn::test::contains_ci(what, r);
    EXPECT_TRUE(reason_found) << "what(): " << what;
    const auto pos = std::make_pair(e.line(), e.column());
    EXPECT_NE(std::find(c.positions.begin(), c.positions.end(), pos), c.positions.end())
        << "position line " << e.line() << ", column " << e.column() << "; what(): " << what;
    const std::string prefix =
        "line " + std::to_string(e.line()) + ", column " + std::to_string(e.column()) + ": ";
    EXPECT_EQ(what.substr(0, prefix.size()), prefix);
    EXPECT_EQ(what.substr(std::min(prefix.size(), what.size())), e.reason());
  }
}

std::string error_name(const testing::TestParamInfo<ErrorCase>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Edn, ErrorCaseTest, testing::ValuesIn(error_cases()), error_name);

// Inputs that must be rejected; the exact reason is not pinned down.
TEST(EdnRead, RejectsMalformedInput) {
  const char* bad[] = {
      ")",         "]",         "}",   "[1 2)",   "(1 2]",     "#",          "##Foo",
      "##",        "::foo",     ":",   "[1 #_]",  "#:conv[1]", "#:conv 1",   "#{1 2",
      "1.2.3",     "12abc",     "1/0", "1e",      "\"\\u\"",   "#inst",      "#my/tag",
      "[#my/tag]", "{:a 1 :b}", "#_",  "\\uZZZZ", "\"\\x41\"", "#:{:a 1}",   "#^{:a 1} x",
      "@x",        "`x",        "~x",  "#'x",     "#(+ 1 %)",  "#\"regex\"", "#?(:clj 1)",
      "#!shebang", "^x y",      "1N2", "1.5MM",   "1/2/3",     "0x",         "#=(+ 1 2)",
  };
  for (const char* text : bad) {
    EXPECT_THROW(edn::test::read_exact(text), edn::ParseError) << "input: " << text;
  }
}

// EDN allows no leading zero in an integer, with or without N: Clojure would
// read 007 and 007N as octal, a value other than the digits say.
TEST(EdnRead, LeadingZerosAreRefusedWithOrWithoutN) {
  for (const char* text : {"007", "007N", "-007N", "+01N", "00N", "08"}) {
    try {
      edn::test::read_exact(text);
      ADD_FAILURE() << "read " << text;
    } catch (const edn::ParseError& e) {
      EXPECT_NE(std::string(e.what()).find("leading zeros"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(edn::read("0N").number_text(), "0");
  EXPECT_EQ(edn::read("-0N").number_text(), "0");  // Clojure's -0N is 0N
}

TEST(EdnRead, DepthAtLimitIsAccepted) {
  EXPECT_EQ(edn::read("[[[1]]]", edn::ReadOptions{3}), edn::vec({edn::vec({edn::vec({1})})}));
  EXPECT_THROW(edn::read("[[[[1]]]]", edn::ReadOptions{3}), edn::ParseError);
  EXPECT_EQ(edn::read("#a/b #a/b #a/b 1", edn::ReadOptions{3}),
            Value::tagged("a/b", Value::tagged("a/b", Value::tagged("a/b", 1))));
}

// The reason quotes the input, control bytes as \xNN: one line on a
// terminal, and what() is not cut short at a NUL.
TEST(EdnRead, AnErrorQuotesControlBytesEscaped) {
  const auto reason_of = [](std::string_view text) {
    try {
      edn::read(text);
    } catch (const edn::ParseError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string nul = reason_of(std::string_view("[1\0x 2]", 7));
  EXPECT_NE(nul.find("'1\\x00x'"), std::string::npos) << nul;  // what() went on past it
  const std::string newline = reason_of("\"\\\n\"");
  EXPECT_EQ(newline.find('\n'), std::string::npos) << newline;
  EXPECT_NE(newline.find("\\x0A"), std::string::npos) << newline;
}

// A stream: zero or more values, as clojure.edn reads a file; an error is
// placed in the whole text, and so is the collection it names.
TEST(EdnReadAll, ReadsEveryValueOfAStream) {
  EXPECT_TRUE(edn::read_all("").empty());
  EXPECT_TRUE(edn::read_all(" ; nothing\n #_ :gone ,").empty());
  EXPECT_EQ(edn::read_all("1 \"x\"[2]:k ## Inf #_ 3 #foo ## -Inf"),
            (std::vector<Value>{Value(1), Value("x"), edn::read("[2]"), edn::read(":k"),
                                edn::read("##Inf"), edn::read("#foo ##-Inf")}));
  try {
    edn::read_all("{:x 1}\n{:a 1\n :b [1 2}");
    FAIL() << "no error";
  } catch (const edn::ParseError& e) {
    EXPECT_EQ(e.line(), 3u);
    EXPECT_EQ(e.column(), 9u);
    EXPECT_NE(std::string(e.reason()).find("opened at line 3, column 5"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(edn::read_all("1 #_"), edn::ParseError);
  EXPECT_THROW(edn::read_all("1 )"), edn::ParseError);
}

TEST(EdnRead, ErrorLineCountsNewlines) {
  try {
    edn::read("[1\n2\n\n  \"bad \\q\"]");
    FAIL() << "no error";
  } catch (const edn::ParseError& e) {
    EXPECT_EQ(e.line(), 4u);
    EXPECT_GE(e.column(), 3u);
    EXPECT_LE(e.column(), 8u);
  }
}

}  // namespace
