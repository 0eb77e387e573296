// Allocation, destruction and canonical ordering of heap nodes.
#include "edn/node.hpp"

#include <algorithm>
#include <array>

namespace stube::edn::detail {

namespace {

void* allocate(std::size_t header, std::size_t payload) { return ::operator new(header + payload); }

}  // namespace

TextNode* new_text(Kind k, std::string_view text, std::uint32_t ns_len) {
  if (text.size() > UINT32_MAX) throw TypeError("edn: text longer than 4 GiB");
  void* mem = allocate(sizeof(TextNode), text.size());
  auto* n = new (mem) TextNode(k, static_cast<std::uint32_t>(text.size()), ns_len);
  if (!text.empty()) std::memcpy(n->data(), text.data(), text.size());
  return n;
}

SeqNode* new_seq(Kind k, std::size_t count) {
  void* mem = allocate(sizeof(SeqNode), count * sizeof(Value));
  auto* n = new (mem) SeqNode(k, count);
  std::uninitialized_default_construct_n(n->items(), count);
  return n;
}

MapNode* new_map(std::size_t count) {
  void* mem = allocate(sizeof(MapNode), count * sizeof(MapEntry));
  auto* n = new (mem) MapNode(count);
  std::uninitialized_default_construct_n(n->entries(), count);
  return n;
}

void destroy(Node* n) noexcept {
  switch (n->kind) {
    case Kind::List:
    case Kind::Vector:
    case Kind::Set: {
      auto* s = static_cast<SeqNode*>(n);
      std::destroy_n(s->items(), s->size);
      s->~SeqNode();
      break;
    }
    case Kind::Map: {
      auto* m = static_cast<MapNode*>(n);
      std::destroy_n(m->entries(), m->size);
      m->~MapNode();
      break;
    }
    case Kind::Tagged:
      static_cast<TaggedNode*>(n)->~TaggedNode();
      break;
    case Kind::Uuid:
      static_cast<UuidNode*>(n)->~UuidNode();
      break;
    case Kind::Opaque:
      static_cast<OpaqueNode*>(n)->~OpaqueNode();
      break;
    default:
      static_cast<TextNode*>(n)->~TextNode();
      break;
  }
  ::operator delete(static_cast<void*>(n));
}

// --- hashing --------------------------------------------------------------
// A small multiply-xorshift hash; deterministic across runs and machines
// because map order (and so printed text) depends on it.

std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  return x;
}

std::uint64_t hash_bytes(const void* data, std::size_t n, std::uint64_t seed) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
  while (n >= 8) {
    std::uint64_t k;
    std::memcpy(&k, p, 8);
    h = (h ^ mix(k)) * 0x9e3779b97f4a7c15ULL;
    p += 8;
    n -= 8;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  return mix(h ^ mix(tail + n));
}

std::uint64_t text_hash(Kind k, std::string_view text) noexcept {
  const std::uint64_t h = hash_bytes(text.data(), text.size(), kind_seed(k));
  return h ? h : 1;
}

// --- names ----------------------------------------------------------------

Value make_name(Kind k, std::string_view text, std::uint32_t ns_len) {
  struct Slot {
    Value v;
  };
  constexpr std::size_t kSlots = 512;
  thread_local std::array<Slot, kSlots> cache;
  const std::uint64_t h = text_hash(k, text);
  Slot& slot = cache[h % kSlots];
  if (slot.v.kind() == k) {
    const auto* t = static_cast<const TextNode*>(slot.v.node());
    if (t->text() == text) return slot.v;
  }
  TextNode* node = new_text(k, text, ns_len);
  node->hash_cache.store(h, std::memory_order_relaxed);
  Value v = Value::from_node(k, node);
  slot.v = v;
  return v;
}

// --- canonical collections ------------------------------------------------

namespace {

bool canonical_less(const Value& a, std::uint64_t ha, const Value& b, std::uint64_t hb) noexcept {
  if (ha != hb) return ha < hb;
  return compare(a, b) < 0;
}

template <class T, class KeyOf>
void sort_canonical(T* first, std::size_t n, KeyOf key_of) {
  // Hashes are cached in heap nodes but scalars recompute them; sorting pairs
  // of (hash, index) keeps the comparator cheap either way.
  if (n < 2) return;
  if (n <= 16) {
    for (std::size_t i = 1; i < n; ++i) {
      T x = std::move(first[i]);
      const std::uint64_t hx = key_of(x).hash();
      std::size_t j = i;
      while (j > 0 && canonical_less(key_of(x), hx, key_of(first[j - 1]), key_of(first[j - 1]).hash())) {
        first[j] = std::move(first[j - 1]);
        --j;
      }
      first[j] = std::move(x);
    }
    return;
  }
  std::sort(first, first + n, [&](const T& a, const T& b) {
    return canonical_less(key_of(a), key_of(a).hash(), key_of(b), key_of(b).hash());
  });
}

}  // namespace

Value make_seq(Kind k, Value* first, std::size_t n) {
  SeqNode* node = new_seq(k, n);
  bool printable = true;
  for (std::size_t i = 0; i < n; ++i) {
    printable = printable && first[i].printable();
    node->items()[i] = std::move(first[i]);
  }
  node->printable = printable;
  return Value::from_node(k, node);
}

Value make_set(Value* first, std::size_t n, bool* had_duplicate) {
  sort_canonical(first, n, [](const Value& v) -> const Value& { return v; });
  std::size_t out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (out > 0 && first[out - 1] == first[i]) {
      if (had_duplicate) *had_duplicate = true;
      continue;
    }
    if (out != i) first[out] = std::move(first[i]);
    ++out;
  }
  return make_seq(Kind::Set, first, out);
}

Value make_map(MapEntry* first, std::size_t n, bool* had_duplicate, Value* duplicate_key) {
  // Stable order among equal keys keeps "last wins" well defined.
  if (n > 16) {
    std::stable_sort(first, first + n, [](const MapEntry& a, const MapEntry& b) {
      return canonical_less(a.key, a.key.hash(), b.key, b.key.hash());
    });
  } else {
    sort_canonical(first, n, [](const MapEntry& e) -> const Value& { return e.key; });
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (out > 0 && first[out - 1].key == first[i].key) {
      if (had_duplicate && !*had_duplicate) {
        *had_duplicate = true;
        if (duplicate_key) *duplicate_key = first[i].key;
      }
      first[out - 1].val = std::move(first[i].val);
      continue;
    }
    if (out != i) first[out] = std::move(first[i]);
    ++out;
  }
  MapNode* node = new_map(out);
  bool printable = true;
  for (std::size_t i = 0; i < out; ++i) {
    printable = printable && first[i].key.printable() && first[i].val.printable();
    node->entries()[i] = std::move(first[i]);
  }
  node->printable = printable;
  return Value::from_node(Kind::Map, node);
}

}  // namespace stube::edn::detail
