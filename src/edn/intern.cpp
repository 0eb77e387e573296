// Interning of keyword and symbol names.
//
// Names are few and repeated endlessly (every map key of every conversation
// is a keyword), so each distinct name gets one node that lives as long as
// the process. Values holding it skip reference counting altogether: copying
// or dropping a keyword is then a plain copy, not an atomic operation on a
// node that every thread shares. The table is bounded, so hostile input
// cannot grow memory without limit; names beyond the bound are ordinary
// reference-counted nodes.
#include <mutex>
#include <unordered_map>

#include "edn/names.hpp"
#include "edn/node.hpp"

namespace stube::edn::detail {

namespace {

constexpr std::size_t kMaxNames = std::size_t{1} << 16;
constexpr std::size_t kMaxNameBytes = std::size_t{4} << 20;

struct NameKey {
  Kind kind;
  std::string_view text;
  bool operator==(const NameKey&) const = default;
};

struct NameKeyHash {
  std::size_t operator()(const NameKey& k) const noexcept { return text_hash(k.kind, k.text); }
};

// The process-wide table behind the per-thread caches.
class NameTable {
 public:
  // The immortal node for a valid name, or nullptr once the table is full.
  const TextNode* intern(Kind k, std::string_view text, std::uint32_t ns_len) {
    const std::lock_guard lock(mutex_);
    if (const auto it = names_.find(NameKey{k, text}); it != names_.end()) return it->second;
    if (names_.size() >= kMaxNames || bytes_ + text.size() > kMaxNameBytes) return nullptr;
    // Plain operator new, never freed (not the node pool, whose blocks are
    // recycled per thread).
    void* mem = ::operator new(sizeof(TextNode) + text.size());
    auto* node = new (mem) TextNode(k, static_cast<std::uint32_t>(text.size()), ns_len);
    std::memcpy(node->data(), text.data(), text.size());
    node->hash_cache.store(text_hash(k, text), std::memory_order_relaxed);
    names_.emplace(NameKey{k, node->text()}, node);
    bytes_ += text.size();
    return node;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<NameKey, const TextNode*, NameKeyHash> names_;
  std::size_t bytes_ = 0;
};

NameTable& table() {
  // Never destroyed: static Values elsewhere may hold its names until exit.
  static NameTable* const t = new NameTable;
  return *t;
}

// Picks a per-thread cache slot from the length and the first and last 8
// bytes: far cheaper than hashing the whole name; a collision costs a miss.
std::uint64_t slot_hash(Kind k, std::string_view text) noexcept {
  std::uint64_t head = 0, tail = 0;
  const std::size_t n = text.size();
  if (n >= 8) {
    std::memcpy(&head, text.data(), 8);
    std::memcpy(&tail, text.data() + n - 8, 8);
  } else {
    std::memcpy(&head, text.data(), n);
  }
  return mix(head * 31 + tail + n * 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(k));
}

}  // namespace

const char* make_name(Kind k, std::string_view text, Value* out) {
  // Immortal nodes only, so the cache needs no reference counts and no
  // destructor; found names skip validation and the table's lock.
  constexpr std::size_t kSlots = 512;
  thread_local const TextNode* cache[kSlots] = {};
  const TextNode*& slot = cache[slot_hash(k, text) % kSlots];
  if (slot && slot->kind == k && slot->text() == text) {
    *out = Value::from_immortal_node(k, slot);
    return nullptr;
  }
  std::uint32_t ns_len = 0;
  if (const char* why = check_name(text, k == Kind::Keyword, &ns_len)) return why;
  if (const TextNode* immortal = table().intern(k, text, ns_len)) {
    slot = immortal;
    *out = Value::from_immortal_node(k, immortal);
    return nullptr;
  }
  TextNode* node = new_text(k, text, ns_len);
  node->hash_cache.store(text_hash(k, text), std::memory_order_relaxed);
  *out = Value::from_node(k, node);
  return nullptr;
}

}  // namespace stube::edn::detail
