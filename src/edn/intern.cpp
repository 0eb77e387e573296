// Interning of keyword and symbol names.
//
// Names are few and repeated endlessly (every map key of every conversation
// is a keyword), so each distinct name gets one node that lives as long as
// the process. Values holding it skip reference counting altogether: copying
// or dropping a keyword is then a plain copy, not an atomic operation on a
// node that every thread shares. The table is bounded, so hostile input
// cannot grow memory without limit; names beyond the bound are ordinary
// reference-counted nodes.
#include <map>
#include <mutex>

#include "edn/names.hpp"
#include "edn/node.hpp"

namespace stube::edn::detail {

namespace {

constexpr std::size_t kMaxNames = std::size_t{1} << 16;
constexpr std::size_t kMaxNameBytes = std::size_t{4} << 20;

struct NameKey {
  Kind kind;
  std::string_view text;
  auto operator<=>(const NameKey&) const = default;
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
  // Ordered, not hashed: text_hash is fixed and public, so names crafted to
  // share a hash bucket would make every lookup walk them all, under this
  // lock, for the life of the process.
  std::map<NameKey, const TextNode*> names_;
  std::size_t bytes_ = 0;
};

NameTable& table() {
  // Never destroyed: static Values elsewhere may hold its names until exit.
  static NameTable* const t = new NameTable;
  return *t;
}

constexpr std::size_t kSlotBits = 9;

// Picks a per-thread cache slot from the kind, the length and the first and
// last bytes (fixed-size loads, one multiply): far cheaper than hashing the
// whole name, and a collision only costs a miss.
std::size_t slot_of(Kind k, std::string_view text) noexcept {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::uint64_t head = 0, tail = 0;
  if (n >= 8) {
    std::memcpy(&head, p, 8);
    std::memcpy(&tail, p + n - 8, 8);
  } else if (n >= 4) {
    std::uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    head = a;
    tail = b;
  } else if (n > 0) {
    head = static_cast<unsigned char>(p[0]) | static_cast<unsigned char>(p[n / 2]) << 8 |
           static_cast<unsigned char>(p[n - 1]) << 16;
  }
  const std::uint64_t h =
      (head ^ (tail * 0x9e3779b97f4a7c15ULL) ^ (n << 8) ^ static_cast<std::uint64_t>(k)) *
      0xd6e8feb86659fd93ULL;
  return static_cast<std::size_t>(h >> (64 - kSlotBits));
}

// a == b for names: short ones (most) with two overlapping loads each
// instead of a call to memcmp.
bool same_text(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const auto load8 = [](const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  const auto load4 = [](const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8 && n <= 16)
    return load8(a.data()) == load8(b.data()) && load8(a.data() + n - 8) == load8(b.data() + n - 8);
  if (n >= 4 && n < 8)
    return load4(a.data()) == load4(b.data()) && load4(a.data() + n - 4) == load4(b.data() + n - 4);
  return a == b;
}

}  // namespace

const char* make_name(Kind k, std::string_view text, Value* out) {
  // Immortal nodes only, so the cache needs no reference counts and no
  // destructor; found names skip validation and the table's lock.
  thread_local const TextNode* cache[std::size_t{1} << kSlotBits] = {};
  const TextNode*& slot = cache[slot_of(k, text)];
  if (slot && slot->kind == k && same_text(slot->text(), text)) {
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
