// stube/state.hpp — C++ structs as EDN component state.
//
//   struct Wizard { std::string name; std::vector<std::string> items; int step = 0; };
//   STUBE_STATE(Wizard, name, items, step)   // after the struct, in its namespace
//
// to_edn(w) gives {:name "…", :items […], :step 0}; from_edn<Wizard>(v) reads
// it back (missing keys keep their defaults; a key of the wrong kind, or an
// integer outside its field's range, throws edn::TypeError naming the field). Supported field
// types: bool, integers, double, std::string, edn::Value, std::optional<T>, std::vector<T>,
// std::map<std::string, T> and other STUBE_STATE structs.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "stube/edn.hpp"

namespace stube {

namespace detail {
template <class S, class T>
struct Field {
  const char* name;
  T S::*member;
};
template <class S, class T>
constexpr Field<S, T> field(const char* name, T S::*member) {
  return {name, member};
}
template <class T>
concept Described = requires(const T* p) {
  stube_fields(p);
};
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class T>
struct is_string_map<std::map<std::string, T>> : std::true_type {};
// A state field holds text as std::string, not as characters.
using edn::detail::is_character_v;
[[noreturn]] void state_field_error(const char* field, const edn::TypeError& e);
// fn(), whose TypeError names `field` ("state field 'x': …"): reading,
// writing and merging a struct all say which field was wrong.
template <class F>
decltype(auto) naming_field(const char* field, F&& fn) {
  try {
    return fn();
  } catch (const edn::TypeError& e) {
    state_field_error(field, e);
  }
}
// The double that prints as the float's shortest text (0.1f is 0.1, not
// 0.10000000149011612) and converts back to the same float.
double float_as_double(float f) noexcept;
}  // namespace detail

// What a type that fits none of to_edn's cases gets (the compiler names
// the type in the instantiation above the message). A macro: static_assert
// takes a string literal only. Undefined at the end of this header.
#define STUBE_NOT_A_FIELD_TYPE                                                         \
  "not a state field type. A field is a bool, an integer, a float or double, "         \
  "std::string, std::optional, std::vector or std::map<std::string, ...> of fields, "  \
  "stube::edn::Value, or a struct declared with STUBE_STATE(Type, fields...) in the "  \
  "struct's own namespace (an enum, std::set, std::array or a map with other keys is " \
  "none of these)"

template <class T>
edn::Value to_edn(const T& v);
template <class T>
T from_edn(const edn::Value& v);

template <class T>
edn::Value to_edn(const T& v) {
  if constexpr (std::is_same_v<T, edn::Value>) {
    return v;
  } else if constexpr (std::is_same_v<T, bool>) {
    return edn::Value(v);
  } else if constexpr (std::is_integral_v<T>) {
    static_assert(!detail::is_character_v<T>,
                  "a character type (char, wchar_t, char8_t, char16_t, char32_t) is not a state "
                  "field type: use std::string for text, or an integer type such as std::int8_t");
    // An unsigned value past the 64-bit signed range is a big integer
    // (18446744073709551615N), as Clojure would print it, not a wrapped one.
    if constexpr (std::is_unsigned_v<T>)
      if (!std::in_range<long long>(v)) return edn::Value::big_int(std::to_string(v));
    return edn::Value(static_cast<long long>(v));
  } else if constexpr (std::is_same_v<T, float>) {
    return edn::Value(detail::float_as_double(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    return edn::Value(static_cast<double>(v));
  } else if constexpr (std::is_same_v<T, std::string>) {
    return edn::Value(std::string_view(v));
  } else if constexpr (detail::is_optional<T>::value) {
    return v ? to_edn(*v) : edn::Value();
  } else if constexpr (detail::is_vector<T>::value) {
    std::vector<edn::Value> items;
    items.reserve(v.size());
    for (const auto& x : v) items.push_back(to_edn(x));
    return edn::vec(items);
  } else if constexpr (detail::is_string_map<T>::value) {
    std::vector<edn::MapEntry> entries;
    for (const auto& [k, x] : v) entries.push_back({edn::Value(std::string_view(k)), to_edn(x)});
    return edn::map(entries);
  } else {
    static_assert(detail::Described<T>, STUBE_NOT_A_FIELD_TYPE);
    std::vector<edn::MapEntry> entries;
    std::apply(
        [&](const auto&... f) {
          (entries.push_back({edn::Value::keyword(f.name),
                              detail::naming_field(f.name, [&] { return to_edn(v.*(f.member)); })}),
           ...);
        },
        stube_fields(static_cast<const T*>(nullptr)));
    return edn::map(entries);
  }
}

namespace detail {
[[noreturn]] void integer_range_error(std::int64_t n, std::int64_t min, std::uint64_t max);
// A map field's two keys of one text (:a and "a"): one would be lost.
[[noreturn]] void duplicate_key_error(const std::string& key);
// The value of a big integer (what to_edn writes for a large unsigned
// value, what Clojure writes as 5N); TypeError unless it is in 0..max,
// min..max.
std::uint64_t unsigned_from_big_int(const edn::Value& v, std::uint64_t max);
std::int64_t signed_from_big_int(const edn::Value& v, std::int64_t min, std::int64_t max);
// A number as a double: an integer of any size (a browser writes 1e20 as
// 100000000000000000000, which reads as a big integer) as the nearest
// double, a double as it is.
double double_from_edn(const edn::Value& v);
// As a float: TypeError for a finite value beyond a float's range (it
// would become an infinity the browser cannot hold).
float float_from_edn(const edn::Value& v);
template <class T>
void read_fields(T& out, const edn::Value& v);
}  // namespace detail

template <class T>
T from_edn(const edn::Value& v) {
  if constexpr (std::is_same_v<T, edn::Value>) {
    return v;
  } else if constexpr (std::is_same_v<T, bool>) {
    return v.as_bool();
  } else if constexpr (std::is_integral_v<T>) {
    static_assert(!detail::is_character_v<T>,
                  "a character type (char, wchar_t, char8_t, char16_t, char32_t) is not a state "
                  "field type: use std::string for text, or an integer type such as std::int8_t");
    // A value that does not fit (a browser's -1 for an unsigned field) is an
    // error, not a silently wrapped number.
    if (v.is(edn::Kind::BigInt)) {
      if constexpr (std::is_unsigned_v<T>)
        return static_cast<T>(detail::unsigned_from_big_int(v, std::numeric_limits<T>::max()));
      else
        return static_cast<T>(detail::signed_from_big_int(v, std::numeric_limits<T>::min(),
                                                          std::numeric_limits<T>::max()));
    }
    const std::int64_t n = v.as_int();
    if (!std::in_range<T>(n))
      detail::integer_range_error(n, static_cast<std::int64_t>(std::numeric_limits<T>::min()),
                                  static_cast<std::uint64_t>(std::numeric_limits<T>::max()));
    return static_cast<T>(n);
  } else if constexpr (std::is_same_v<T, float>) {
    return detail::float_from_edn(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(detail::double_from_edn(v));
  } else if constexpr (std::is_same_v<T, std::string>) {
    return std::string(v.as_string());
  } else if constexpr (detail::is_optional<T>::value) {
    if (v.is_nil()) return T{};
    return T{from_edn<typename T::value_type>(v)};
  } else if constexpr (detail::is_vector<T>::value) {
    T out;
    for (const edn::Value& x : v.items()) out.push_back(from_edn<typename T::value_type>(x));
    return out;
  } else if constexpr (detail::is_string_map<T>::value) {
    T out;
    // Keys are strings as to_edn writes them; the browser's signals bring
    // them back as keywords (src/server/signals.hpp), which count as their
    // text.
    for (const edn::MapEntry& e : v.entries()) {
      std::string key(e.key.is(edn::Kind::Keyword) ? e.key.as_keyword() : e.key.as_string());
      if (!out.emplace(key, from_edn<typename T::mapped_type>(e.val)).second)
        detail::duplicate_key_error(key);
    }
    return out;
  } else {
    static_assert(detail::Described<T>, STUBE_NOT_A_FIELD_TYPE);
    T out{};
    detail::read_fields(out, v);
    return out;
  }
}

// Reads the fields `v` names into `out`; the others keep their values. A
// nested STUBE_STATE field is read into as well, so that the defaults the
// enclosing struct gives it (Prefs prefs{"light", 14}) stay where `v` names
// none, rather than the nested type's own. nil names none.
template <class T>
void detail::read_fields(T& out, const edn::Value& v) {
  if (v.is_nil()) return;
  // find() would look members of a set up as keys: only a map is a struct.
  if (!v.is(edn::Kind::Map)) static_cast<void>(v.entries());  // throws, naming the kind
  std::apply(
      [&](const auto&... f) {
        (
            [&] {
              if (const edn::Value* x = v.find(edn::Value::keyword(f.name))) {
                detail::naming_field(f.name, [&] {
                  auto& member = out.*(f.member);
                  using Member = std::remove_cvref_t<decltype(member)>;
                  if constexpr (Described<Member>)
                    detail::read_fields(member,
                                        *x);  // qualified: no lookup in the user's namespace
                  else
                    member = from_edn<Member>(*x);
                });
              }
            }(),
            ...);
      },
      stube_fields(static_cast<const T*>(nullptr)));
}

// `state` with the fields of `typed` written over it. Keys the struct does
// not declare are kept, in the maps of its STUBE_STATE fields (optional or
// not) too: keys a newer version of the struct or another program added.
// Any other field (a vector of structs included) is written whole.
template <class T>
[[nodiscard]] edn::Value merge_into(const edn::Value& state, const T& typed) {
  if constexpr (detail::Described<T>) {
    edn::Value out = state.is(edn::Kind::Map) ? state : edn::map({});
    std::apply(
        [&](const auto&... f) {
          (
              [&] {
                const edn::Value key = edn::Value::keyword(f.name);
                out = detail::naming_field(f.name, [&] {
                  return out.assoc(key, merge_into(out.get(key), typed.*(f.member)));
                });
              }(),
              ...);
        },
        stube_fields(static_cast<const T*>(nullptr)));
    return out;
  } else if constexpr (detail::is_optional<T>::value) {
    return typed ? merge_into(state, *typed) : edn::Value();
  } else {
    return to_edn(typed);
  }
}

}  // namespace stube

namespace stube::detail {
// STUBE_STATE with more fields than it takes: a message, not a macro mess.
template <class T>
int too_many_fields() {
  static_assert(sizeof(T) == 0,
                "STUBE_STATE takes at most 32 fields: group some of them in a struct of their own "
                "(a field may be a described struct)");
  return 0;
}
}  // namespace stube::detail

// --- STUBE_STATE(Type, field, ...) : up to 32 fields --------------------------
#define STUBE_PP_CAT_(a, b) a##b
#define STUBE_PP_CAT(a, b) STUBE_PP_CAT_(a, b)
// The number of arguments, 1 to 32; from 33 to 48: TOO_MANY.
#define STUBE_PP_NARG_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, \
                       _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32,  \
                       _33, _34, _35, _36, _37, _38, _39, _40, _41, _42, _43, _44, _45, _46, _47,  \
                       _48, N, ...)                                                                \
  N
#define STUBE_PP_NARG(...)                                                                       \
  STUBE_PP_NARG_(__VA_ARGS__, TOO_MANY, TOO_MANY, TOO_MANY, TOO_MANY, TOO_MANY, TOO_MANY,        \
                 TOO_MANY, TOO_MANY, TOO_MANY, TOO_MANY, TOO_MANY, TOO_MANY, TOO_MANY, TOO_MANY, \
                 TOO_MANY, TOO_MANY, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, \
                 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
#define STUBE_FIELD_(T, f) ::stube::detail::field(#f, &T::f)
#define STUBE_FE_TOO_MANY(T, ...) ::stube::detail::too_many_fields<T>()
#define STUBE_FE_1(T, a) STUBE_FIELD_(T, a)
#define STUBE_FE_2(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_1(T, __VA_ARGS__)
#define STUBE_FE_3(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_2(T, __VA_ARGS__)
#define STUBE_FE_4(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_3(T, __VA_ARGS__)
#define STUBE_FE_5(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_4(T, __VA_ARGS__)
#define STUBE_FE_6(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_5(T, __VA_ARGS__)
#define STUBE_FE_7(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_6(T, __VA_ARGS__)
#define STUBE_FE_8(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_7(T, __VA_ARGS__)
#define STUBE_FE_9(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_8(T, __VA_ARGS__)
#define STUBE_FE_10(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_9(T, __VA_ARGS__)
#define STUBE_FE_11(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_10(T, __VA_ARGS__)
#define STUBE_FE_12(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_11(T, __VA_ARGS__)
#define STUBE_FE_13(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_12(T, __VA_ARGS__)
#define STUBE_FE_14(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_13(T, __VA_ARGS__)
#define STUBE_FE_15(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_14(T, __VA_ARGS__)
#define STUBE_FE_16(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_15(T, __VA_ARGS__)
#define STUBE_FE_17(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_16(T, __VA_ARGS__)
#define STUBE_FE_18(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_17(T, __VA_ARGS__)
#define STUBE_FE_19(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_18(T, __VA_ARGS__)
#define STUBE_FE_20(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_19(T, __VA_ARGS__)
#define STUBE_FE_21(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_20(T, __VA_ARGS__)
#define STUBE_FE_22(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_21(T, __VA_ARGS__)
#define STUBE_FE_23(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_22(T, __VA_ARGS__)
#define STUBE_FE_24(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_23(T, __VA_ARGS__)
#define STUBE_FE_25(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_24(T, __VA_ARGS__)
#define STUBE_FE_26(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_25(T, __VA_ARGS__)
#define STUBE_FE_27(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_26(T, __VA_ARGS__)
#define STUBE_FE_28(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_27(T, __VA_ARGS__)
#define STUBE_FE_29(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_28(T, __VA_ARGS__)
#define STUBE_FE_30(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_29(T, __VA_ARGS__)
#define STUBE_FE_31(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_30(T, __VA_ARGS__)
#define STUBE_FE_32(T, a, ...) STUBE_FIELD_(T, a), STUBE_FE_31(T, __VA_ARGS__)
#define STUBE_STATE(Type, ...)                                                   \
  [[maybe_unused]] inline auto stube_fields(const Type*) {                       \
    return std::make_tuple(                                                      \
        STUBE_PP_CAT(STUBE_FE_, STUBE_PP_NARG(__VA_ARGS__))(Type, __VA_ARGS__)); \
  }

#undef STUBE_NOT_A_FIELD_TYPE
