// Allocation, destruction and canonical ordering of heap nodes.
#include "edn/node.hpp"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "edn/packed.hpp"

namespace stube::edn::detail {

namespace {

// Small nodes (most strings, names and small collections) are recycled
// through per-thread free lists by 16-byte size class: reading a document
// allocates hundreds of them and dropping one frees as many, a pattern
// where the general allocator's own caches run dry. Lists are bounded, so a
// thread never hoards more than a few MiB. Sanitizer builds use the plain
// allocator so that use-after-free stays detectable.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPoolEnabled = false;
#else
constexpr bool kPoolEnabled = true;
#endif

class NodePool {
 public:
  static constexpr std::size_t kGranule = 16;
  static constexpr std::size_t kClasses = 16;  // up to 256 bytes
  static constexpr std::uint32_t kMaxCached = 1024;

  ~NodePool() {
    dead_ = true;
    for (Free*& head : heads_)
      while (head) ::operator delete(std::exchange(head, head->next));
  }

  void* get(std::size_t n) {
    const std::size_t c = (n + kGranule - 1) / kGranule;
    if (!kPoolEnabled || dead_ || c >= kClasses || !heads_[c]) return ::operator new(c* kGranule);
    --counts_[c];
    return std::exchange(heads_[c], heads_[c]->next);
  }

  void put(void* p, std::size_t n) noexcept {
    const std::size_t c = (n + kGranule - 1) / kGranule;
    if (!kPoolEnabled || dead_ || c >= kClasses || counts_[c] >= kMaxCached) {
      ::operator delete(p);
      return;
    }
    ++counts_[c];
    heads_[c] = new (p) Free{heads_[c]};
  }

 private:
  struct Free {
    Free* next;
  };
  std::array<Free*, kClasses> heads_{};
  std::array<std::uint32_t, kClasses> counts_{};
  // Values held by other thread_locals may die after this pool: they then
  // go straight to the allocator.
  static thread_local bool dead_;
};
thread_local bool NodePool::dead_ = false;

NodePool& pool() {
  thread_local NodePool p;
  return p;
}

// Constructs a node of kind N with `payload` bytes after it, packed when a
// PackedAllocation is active on this thread, else from the pool.
template <class N, class... Args>
N* construct(std::size_t payload, Args... args) {
  const std::size_t bytes = sizeof(N) + payload;
  void* mem = packed_allocate(bytes);
  const bool packed = mem != nullptr;
  if (!packed) mem = pool().get(bytes);
  N* n = new (mem) N(args...);
  n->packed = packed;
  return n;
}

std::size_t allocated_size(const Node* n) noexcept {
  switch (n->kind) {
    case Kind::List:
    case Kind::Vector:
    case Kind::Set:
      return sizeof(SeqNode) + static_cast<const SeqNode*>(n)->size * sizeof(Value);
    case Kind::Map:
      return sizeof(MapNode) + static_cast<const MapNode*>(n)->size * sizeof(MapEntry);
    default:
      return sizeof(TextNode) + static_cast<const TextNode*>(n)->size;
  }
}

}  // namespace

TextNode* new_text(Kind k, std::string_view text, std::uint32_t ns_len) {
  if (text.size() > UINT32_MAX) throw TypeError("edn: text longer than 4 GiB");
  auto* n = construct<TextNode>(text.size(), k, static_cast<std::uint32_t>(text.size()), ns_len);
  if (!text.empty()) std::memcpy(n->data(), text.data(), text.size());
  return n;
}

SeqNode* new_seq(Kind k, std::size_t count) {
  auto* n = construct<SeqNode>(count * sizeof(Value), k, count);
  std::uninitialized_default_construct_n(n->items(), count);
  return n;
}

MapNode* new_map(std::size_t count) {
  auto* n = construct<MapNode>(count * sizeof(MapEntry), count);
  std::uninitialized_default_construct_n(n->entries(), count);
  return n;
}

namespace {

// Frees one node whose last reference is gone; dropping its children may
// call destroy() again.
void destroy_one(Node* n) noexcept {
  const Kind kind = n->kind;
  if (kind == Kind::Tagged || kind == Kind::Uuid || kind == Kind::Opaque) {
    // Allocated with plain new.
    if (kind == Kind::Tagged) delete static_cast<TaggedNode*>(n);
    if (kind == Kind::Uuid) delete static_cast<UuidNode*>(n);
    if (kind == Kind::Opaque) delete static_cast<OpaqueNode*>(n);
    return;
  }
  const std::size_t size = allocated_size(n);
  const bool packed = n->packed;
  switch (kind) {
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
    default:
      static_cast<TextNode*>(n)->~TextNode();
      break;
  }
  if (packed)
    packed_free(n, size);
  else
    pool().put(n, size);
}

// Dropping a value recurses once per level of nesting, and values built in
// code have no depth limit (a chain a million levels deep is a few lines):
// past kMaxNested levels, nodes wait in a list that the outermost destroy()
// of the thread works through, so the stack stays bounded at any depth. The
// list is threaded through the nodes' hash caches, dead like the rest of a
// node whose last reference is gone.
constexpr unsigned kMaxNested = 256;

struct DestroyState {
  unsigned nested = 0;
  Node* waiting = nullptr;
};

thread_local DestroyState destroying;

}  // namespace

void destroy(Node* n) noexcept {
  DestroyState& st = destroying;
  if (st.nested >= kMaxNested) {
    n->hash_cache.store(reinterpret_cast<std::uintptr_t>(st.waiting), std::memory_order_relaxed);
    st.waiting = n;
    return;
  }
  ++st.nested;
  destroy_one(n);
  if (st.nested == 1) {
    while (Node* next = st.waiting) {
      st.waiting = reinterpret_cast<Node*>(next->hash_cache.load(std::memory_order_relaxed));
      destroy_one(next);
    }
  }
  --st.nested;
}

// --- hashing --------------------------------------------------------------
// A small multiply-xorshift hash; deterministic across runs and machines
// because map order (and so printed text) depends on it.

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

// --- canonical collections ------------------------------------------------

namespace {

// Value::hash() with the cached case inlined.
std::uint64_t quick_hash(const Value& v) noexcept {
  if (const Node* n = v.node())
    if (const std::uint64_t h = n->hash_cache.load(std::memory_order_relaxed)) return h;
  return v.hash();
}

// Sorts into canonical order (key hash, then value order), stably, so that
// for duplicate map keys the later entry stays later ("last wins"). Text we
// printed ourselves arrives already sorted; that case costs one pass.
template <class T, class KeyOf>
void sort_canonical(T* first, std::size_t n, KeyOf key_of) {
  if (n < 2) return;
  struct Ref {
    std::uint64_t hash;
    std::size_t index;
  };
  constexpr std::size_t kSmall = 32;
  std::array<Ref, kSmall> small;
  std::vector<Ref> large;
  Ref* refs = small.data();
  if (n > kSmall) {
    large.resize(n);
    refs = large.data();
  }
  for (std::size_t i = 0; i < n; ++i) refs[i] = Ref{quick_hash(key_of(first[i])), i};
  auto less = [&](const Ref& a, const Ref& b) {
    if (a.hash != b.hash) return a.hash < b.hash;
    const int c = compare(key_of(first[a.index]), key_of(first[b.index]));
    return c != 0 ? c < 0 : a.index < b.index;
  };
  bool sorted = true;
  for (std::size_t i = 1; i < n && sorted; ++i) sorted = less(refs[i - 1], refs[i]);
  if (sorted) return;
  std::sort(refs, refs + n, less);
  std::vector<T> moved;
  moved.reserve(n);
  for (std::size_t i = 0; i < n; ++i) moved.push_back(std::move(first[refs[i].index]));
  std::move(moved.begin(), moved.end(), first);
}

}  // namespace

Value make_seq(Kind k, Value* first, std::size_t n) {
  auto* node = construct<SeqNode>(n * sizeof(Value), k, n);
  bool printable = true;
  std::size_t depth = 0;
  for (std::size_t i = 0; i < n; ++i) {
    printable = printable && first[i].printable();
    depth = std::max(depth, first[i].depth());
    new (node->items() + i) Value(std::move(first[i]));
  }
  node->printable = printable;
  node->depth = depth_above(depth);
  return Value::from_node(k, node);
}

Value make_set(Value* first, std::size_t n, bool* had_duplicate, Value* duplicate) {
  sort_canonical(first, n, [](const Value& v) -> const Value& { return v; });
  std::size_t out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (out > 0 && first[out - 1] == first[i]) {
      if (duplicate && !(had_duplicate && *had_duplicate)) *duplicate = first[i];
      if (had_duplicate) *had_duplicate = true;
      continue;
    }
    if (out != i) first[out] = std::move(first[i]);
    ++out;
  }
  return make_seq(Kind::Set, first, out);
}

namespace {

// The common case of reading text we printed: keys whose hashes strictly
// increase are distinct and already in canonical order, so the entries are
// moved straight into the node. Returns nil when the keys are not like that.
Value make_map_if_ordered(MapEntry* first, std::size_t n) {
  std::uint64_t previous = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t h = quick_hash(first[i].key);
    if (i > 0 && h <= previous) return Value();
    previous = h;
  }
  auto* node = construct<MapNode>(n * sizeof(MapEntry), n);
  bool printable = true;
  std::size_t depth = 0;
  for (std::size_t i = 0; i < n; ++i) {
    printable = printable && first[i].key.printable() && first[i].val.printable();
    depth = std::max({depth, first[i].key.depth(), first[i].val.depth()});
    new (node->entries() + i) MapEntry{std::move(first[i].key), std::move(first[i].val)};
  }
  node->printable = printable;
  node->depth = depth_above(depth);
  return Value::from_node(Kind::Map, node);
}

}  // namespace

Value make_map(MapEntry* first, std::size_t n, bool* had_duplicate, Value* duplicate_key) {
  if (Value ordered = make_map_if_ordered(first, n); !ordered.is_nil()) return ordered;
  sort_canonical(first, n, [](const MapEntry& e) -> const Value& { return e.key; });
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
  std::size_t depth = 0;
  for (std::size_t i = 0; i < out; ++i) {
    printable = printable && first[i].key.printable() && first[i].val.printable();
    depth = std::max({depth, first[i].key.depth(), first[i].val.depth()});
    node->entries()[i] = std::move(first[i]);
  }
  node->printable = printable;
  node->depth = depth_above(depth);
  return Value::from_node(Kind::Map, node);
}

}  // namespace stube::edn::detail
