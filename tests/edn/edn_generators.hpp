// rapidcheck generators for arbitrary printable EDN values (every kind except
// opaque), with bounded depth and collection size.
#pragma once

#include <rapidcheck.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "edn/edn_test_support.hpp"

namespace stube::edn::test {

namespace gen = rc::gen;

// Pieces a name may be built from; multi-byte letters are whole pieces so
// names stay valid UTF-8.
inline const std::vector<std::string>& name_first_pieces() {
  static const std::vector<std::string> pieces = {
      "a",       "b", "c", "x", "y", "z", "K", "Q",
      "*",       "!", "?", "<", ">", "=", "_", "\xCE\xBB" /* λ */,
      "\xC3\xA9" /* é */};
  return pieces;
}

inline const std::vector<std::string>& name_rest_pieces() {
  static const std::vector<std::string> pieces = {
      "a", "m", "z", "Q", "0", "7", "9", "*", "+",        "!",
      "-", "_", "?", "<", ">", "=", ".", "'", "\xCE\xBB", "\xE2\x82\xAC" /* € */};
  return pieces;
}

inline rc::Gen<std::string> gen_pieces(const std::vector<std::string>& first,
                                       const std::vector<std::string>& rest) {
  return gen::apply(
      [](std::string head, std::vector<std::string> tail) {
        for (const auto& t : tail) head += t;
        return head;
      },
      gen::elementOf(first), gen::mapcat(gen::inRange(0, 8), [&rest](int n) {
        return gen::container<std::vector<std::string>>(static_cast<std::size_t>(n),
                                                        gen::elementOf(rest));
      }));
}

// A name part starting with a letter: safe as a namespace, a tag or a name.
inline rc::Gen<std::string> gen_alpha_name() {
  static const std::vector<std::string> letters = {"a", "b", "n", "x", "Z", "\xCE\xBB", "\xC3\xA9"};
  return gen_pieces(letters, name_rest_pieces());
}

inline rc::Gen<std::string> gen_symbol_text() {
  auto plain =
      gen::suchThat(gen_pieces(name_first_pieces(), name_rest_pieces()),
                    [](const std::string& s) { return s != "nil" && s != "true" && s != "false"; });
  auto qualified =
      gen::apply([](std::string ns, std::string n) { return ns + "/" + n; }, gen_alpha_name(),
                 gen_pieces(name_first_pieces(), name_rest_pieces()));
  return gen::weightedOneOf<std::string>(
      {{4, plain}, {2, qualified}, {1, gen::just(std::string("/"))}});
}

inline rc::Gen<std::string> gen_keyword_text() {
  // A keyword may start with a digit (:1), but not its name after a
  // namespace (Clojure rejects :a/1).
  auto name = gen_pieces(name_first_pieces(), name_rest_pieces());
  auto qualified = gen::apply([](std::string ns, std::string n) { return ns + "/" + n; },
                              gen_alpha_name(), name);
  return gen::oneOf(name, gen_pieces({"1", "2", "9"}, name_rest_pieces()), qualified);
}

// Any Unicode scalar value, biased towards the characters printers get wrong.
inline rc::Gen<char32_t> gen_scalar() {
  auto range = [](std::uint32_t lo, std::uint32_t hi) {
    return gen::map(gen::inRange<std::uint32_t>(lo, hi + 1),
                    [](std::uint32_t c) { return static_cast<char32_t>(c); });
  };
  return gen::weightedOneOf<char32_t>({
      {8, range(0x20, 0x7E)},
      {3, range(0x00, 0x1F)},
      {2, gen::element<char32_t>(U'"', U'\\', U'\x7f', U'\n', U'\t', U'\r', U'\b', U'\f')},
      {2, range(0x80, 0x7FF)},
      {2, range(0x800, 0xD7FF)},
      {1, range(0xE000, 0xFFFF)},
      {2, range(0x10000, 0x10FFFF)},
  });
}

inline rc::Gen<std::string> gen_weird_string() {
  return gen::map(gen::container<std::vector<char32_t>>(gen_scalar()),
                  [](const std::vector<char32_t>& cs) {
                    std::string s;
                    for (char32_t c : cs) s += utf8(c);
                    return s;
                  });
}

// Characters as Clojure has them: one UTF-16 unit, never a surrogate.
inline rc::Gen<char32_t> gen_char() {
  return gen::suchThat(gen_scalar(),
                       [](char32_t c) { return c < 0xD800 || (c > 0xDFFF && c < 0x10000); });
}

inline rc::Gen<double> gen_double() {
  const double inf = std::numeric_limits<double>::infinity();
  return gen::weightedOneOf<double>({
      {4, gen::arbitrary<double>()},
      {2, gen::map(gen::arbitrary<std::uint64_t>(),
                   [](std::uint64_t bits) { return std::bit_cast<double>(bits); })},
      {2,
       gen::element(inf, -inf, std::numeric_limits<double>::quiet_NaN(), -0.0, 0.0, 1.0, 1e7, 1e-3,
                    9999999.999, 0.001 - 1e-19, std::numeric_limits<double>::max(),
                    std::numeric_limits<double>::min(), std::numeric_limits<double>::denorm_min(),
                    std::numeric_limits<double>::lowest(), 0.1 + 0.2, 1e21, 1e22, 123456789.0)},
      {2, gen::map(gen::inRange(-100000, 100000), [](int i) { return i / 8.0; })},
  });
}

inline rc::Gen<std::string> gen_digits(int max_extra) {
  return gen::apply(
      [](bool negative, int first, std::vector<int> rest) {
        std::string s = negative ? "-" : "";
        s += static_cast<char>('0' + first);
        for (int d : rest) s += static_cast<char>('0' + d);
        return s;
      },
      gen::arbitrary<bool>(), gen::inRange(1, 10),
      gen::mapcat(gen::inRange(0, max_extra), [](int n) {
        return gen::container<std::vector<int>>(static_cast<std::size_t>(n), gen::inRange(0, 10));
      }));
}

inline rc::Gen<Value> gen_decimal() {
  auto fraction = gen::container<std::vector<int>>(gen::inRange(0, 10));
  return gen::apply(
      [](std::string whole, bool has_point, std::vector<int> frac) {
        if (has_point) {
          whole += '.';
          for (int d : frac) whole += static_cast<char>('0' + d);
          if (frac.empty()) whole += '0';
        }
        return Value::decimal(whole);
      },
      gen::oneOf(gen_digits(30), gen::just(std::string("0"))), gen::arbitrary<bool>(), fraction);
}

inline rc::Gen<Value> gen_inst() {
  constexpr std::int64_t year1 = -62135596800, year9999 = 253402300799;
  auto nanos = gen::weightedOneOf<std::uint32_t>({
      {2, gen::just(0u)},
      {2, gen::map(gen::inRange(0u, 1000u), [](std::uint32_t ms) { return ms * 1000000u; })},
      {3, gen::inRange(0u, 1000000000u)},
  });
  return gen::apply(
      [](std::int64_t s, std::uint32_t n) {
        return Value(Instant{s, n});
      },
      gen::inRange(year1, year9999 + 1), nanos);
}

inline rc::Gen<Value> gen_uuid() {
  return gen::map(gen::arbitrary<std::array<std::uint8_t, 16>>(),
                  [](std::array<std::uint8_t, 16> b) {
                    Uuid u;
                    u.bytes = b;
                    return Value(u);
                  });
}

inline rc::Gen<Value> gen_scalar_value() {
  constexpr auto i64min = std::numeric_limits<std::int64_t>::min();
  constexpr auto i64max = std::numeric_limits<std::int64_t>::max();
  return gen::weightedOneOf<Value>({
      {1, gen::just(Value())},
      {1, gen::map(gen::arbitrary<bool>(), [](bool b) { return Value(b); })},
      {3, gen::map(gen::arbitrary<std::int64_t>(), [](std::int64_t i) { return Value(i); })},
      {1, gen::map(gen::element(i64min, i64max, std::int64_t{0}, std::int64_t{-1}),
                   [](std::int64_t i) { return Value(i); })},
      {3, gen::map(gen_double(), [](double d) { return Value(d); })},
      {1, gen::map(gen_digits(40), [](const std::string& d) { return Value::big_int(d); })},
      {1, gen_decimal()},
      {1, gen::apply([](std::int64_t n, std::int64_t d) { return Value::ratio(n, d); },
                     gen::inRange<std::int64_t>(-1000000000000, 1000000000000),
                     gen::inRange<std::int64_t>(1, 1000000000000))},
      {2, gen::map(gen_char(), [](char32_t c) { return Value::character(c); })},
      {4, gen::map(gen_weird_string(), [](const std::string& s) { return Value(s); })},
      {2, gen::map(gen_symbol_text(), [](const std::string& s) { return Value::symbol(s); })},
      {3, gen::map(gen_keyword_text(), [](const std::string& s) { return Value::keyword(s); })},
      {1, gen_inst()},
      {1, gen_uuid()},
  });
}

inline rc::Gen<std::vector<Value>> gen_items(const rc::Gen<Value>& child) {
  return gen::mapcat(gen::inRange(0, 6), [child](int n) {
    return gen::container<std::vector<Value>>(static_cast<std::size_t>(n), child);
  });
}

inline rc::Gen<std::string> gen_tag() {
  auto qualified = gen::apply([](std::string ns, std::string n) { return ns + "/" + n; },
                              gen_alpha_name(), gen_alpha_name());
  auto plain = gen::suchThat(gen_alpha_name(),
                             [](const std::string& s) { return s != "inst" && s != "uuid"; });
  return gen::weightedOneOf<std::string>({{3, qualified}, {1, plain}});
}

// A value at most `depth` collections deep.
inline rc::Gen<Value> gen_value(int depth) {
  const auto scalar = gen_scalar_value();
  if (depth <= 0) return scalar;
  const auto child = gen_value(depth - 1);
  const auto items = gen_items(child);
  auto as = [](Value (*build)(std::span<const Value>)) {
    return [build](const std::vector<Value>& xs) { return build(std::span<const Value>(xs)); };
  };
  auto entries = gen::mapcat(gen::inRange(0, 6), [child](int n) {
    return gen::container<std::vector<std::pair<Value, Value>>>(static_cast<std::size_t>(n),
                                                                gen::pair(child, child));
  });
  return gen::weightedOneOf<Value>({
      {5, scalar},
      {1, gen::map(items, as(&list))},
      {2, gen::map(items, as(&vec))},
      {1, gen::map(items, as(&set))},
      {2, gen::map(entries,
                   [](const std::vector<std::pair<Value, Value>>& kvs) {
                     std::vector<MapEntry> es;
                     for (const auto& [k, v] : kvs) es.push_back({k, v});
                     return map(std::span<const MapEntry>(es));
                   })},
      {1, gen::apply([](const std::string& tag, Value inner) { return Value::tagged(tag, inner); },
                     gen_tag(), child)},
  });
}

}  // namespace stube::edn::test
