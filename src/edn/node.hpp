// Heap representation behind edn::Value. Internal to the library.
//
// Every heap kind is one allocation: a Node header followed by its payload
// (text bytes, or an array of Values / MapEntries) in the same block, so a
// string or a vector costs a single malloc and is read with one indirection.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>

#include "stube/edn.hpp"

namespace stube::edn::detail {

// The depth of a container (or tag) whose deepest element is `inner` deep.
constexpr std::uint16_t depth_above(std::size_t inner) noexcept {
  return static_cast<std::uint16_t>(std::min<std::size_t>(inner + 1, 65535));
}

// String, Symbol, Keyword, BigInt, Decimal, Ratio: UTF-8 bytes follow.
struct TextNode : Node {
  std::uint32_t size;
  std::uint32_t ns_len;  // Symbol/Keyword: bytes before the '/', 0 if none
  TextNode(Kind k, std::uint32_t n, std::uint32_t ns) noexcept : Node(k), size(n), ns_len(ns) {}
  char* data() noexcept { return reinterpret_cast<char*>(this + 1); }
  const char* data() const noexcept { return reinterpret_cast<const char*>(this + 1); }
  std::string_view text() const noexcept { return {data(), size}; }
};

// List, Vector, Set: Values follow. Set items are in canonical order.
struct SeqNode : Node {
  std::size_t size;
  SeqNode(Kind k, std::size_t n) noexcept : Node(k), size(n) {}
  Value* items() noexcept { return reinterpret_cast<Value*>(this + 1); }
  const Value* items() const noexcept { return reinterpret_cast<const Value*>(this + 1); }
};

// Map: MapEntries follow, in canonical key order.
struct MapNode : Node {
  std::size_t size;
  explicit MapNode(std::size_t n) noexcept : Node(Kind::Map), size(n) {}
  MapEntry* entries() noexcept { return reinterpret_cast<MapEntry*>(this + 1); }
  const MapEntry* entries() const noexcept { return reinterpret_cast<const MapEntry*>(this + 1); }
};

struct TaggedNode : Node {
  Value tag;  // a Symbol
  Value inner;
  TaggedNode(Value t, Value v) noexcept
      : Node(Kind::Tagged), tag(std::move(t)), inner(std::move(v)) {
    printable = inner.printable();
    depth = depth_above(inner.depth());
  }
};

struct UuidNode : Node {
  Uuid uuid;
  explicit UuidNode(Uuid u) noexcept : Node(Kind::Uuid), uuid(u) { depth = 1; }  // #uuid
};

struct OpaqueNode : Node {
  std::shared_ptr<void> object;
  std::type_index type;
  std::string label;
  OpaqueNode(std::shared_ptr<void> o, std::type_index t, std::string_view l)
      : Node(Kind::Opaque), object(std::move(o)), type(t), label(l) {
    printable = false;
  }
};

// Allocation helpers. The returned node has one reference.
TextNode* new_text(Kind k, std::string_view text, std::uint32_t ns_len = 0);
SeqNode* new_seq(Kind k, std::size_t n);  // items default-constructed (nil)
MapNode* new_map(std::size_t n);          // entries default-constructed

// Keyword/symbol values (src/edn/intern.cpp). The first 65,536 distinct
// names (up to 4 MiB of text) are interned for the life of the process, so
// the same name is the same node (pointer-equal) and its values are not
// reference-counted; later names get ordinary nodes, so hostile input can
// never grow memory without bound. Returns the reason (and leaves *out
// alone) when text is not a valid name; names found in the per-thread cache
// skip validation.
const char* make_name(Kind k, std::string_view text, Value* out);

// Builds collections from a scratch range, taking ownership of the values.
// Sets/maps are sorted into canonical order; duplicates are reported through
// `dup` (index of a duplicated element in canonical order) when non-null,
// otherwise merged (maps: last wins).
Value make_seq(Kind k, Value* first, std::size_t n);
Value make_set(Value* first, std::size_t n, bool* had_duplicate, Value* duplicate = nullptr);
Value make_map(MapEntry* first, std::size_t n, bool* had_duplicate, Value* duplicate_key);

std::uint64_t hash_bytes(const void* data, std::size_t n, std::uint64_t seed) noexcept;
inline std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  return x;
}
inline std::uint64_t kind_seed(Kind k) noexcept {
  return static_cast<std::uint64_t>(k) * 0x9e3779b97f4a7c15ULL;
}
// The hash of a text kind (String, Keyword, ...), never 0.
std::uint64_t text_hash(Kind k, std::string_view text) noexcept;

}  // namespace stube::edn::detail
