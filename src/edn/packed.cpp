// Chunks for packed nodes: see packed.hpp.
#include "edn/packed.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
// Free parts of a chunk are poisoned, so a use after free of a packed node
// is reported like one of a malloc'ed node.
#define STUBE_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define STUBE_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define STUBE_POISON(p, n) ((void)(p), (void)(n))
#define STUBE_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace stube::edn::detail {

namespace {

// Chunks are aligned to their size, so a node finds its chunk's header by
// rounding its address down.
constexpr std::size_t kChunkBytes = std::size_t{64} << 10;
// Larger nodes (long strings, big collections) are rare, and packing them
// would waste the rest of a chunk when they do not fit.
constexpr std::size_t kMaxPackedBytes = std::size_t{2} << 10;
constexpr std::size_t kGranule = 16;

// While its thread still cuts nodes from a chunk, the live count carries a
// bias that the nodes freed meanwhile cannot exhaust (a chunk holds at most
// kChunkBytes / kGranule nodes); retiring the chunk trades the bias for the
// number of nodes actually cut.
constexpr std::uint32_t kOpenBias = std::uint32_t{1} << 30;

struct alignas(kGranule) ChunkHeader {
  std::atomic<std::uint32_t> live{kOpenBias};
};

std::atomic<std::size_t> chunks_live{0};

// Empty chunks are kept for the next load, up to 64 MiB. Handing them back
// to the allocator costs more than it seems: a load frees its chunks all at
// once, the allocator returns the emptied top of its heaps to the kernel,
// and the next load pays a page fault for every 4 KiB again.
class ChunkCache {
 public:
  static constexpr std::size_t kMaxChunks = (std::size_t{64} << 20) / kChunkBytes;

  void* take() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        void* mem = free_.back();
        free_.pop_back();
        return mem;
      }
    }
    return ::operator new (kChunkBytes, std::align_val_t{kChunkBytes});
  }

  void give(void* mem) noexcept {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (free_.size() < kMaxChunks) {
        free_.push_back(mem);  // capacity reserved: never throws
        return;
      }
    }
    STUBE_UNPOISON(mem, kChunkBytes);
    ::operator delete (mem, std::align_val_t{kChunkBytes});
  }

  ChunkCache() { free_.reserve(kMaxChunks); }
  ~ChunkCache() {
    for (void* mem : free_) {
      STUBE_UNPOISON(mem, kChunkBytes);
      ::operator delete (mem, std::align_val_t{kChunkBytes});
    }
  }

 private:
  std::mutex mutex_;
  std::vector<void*> free_;
};

ChunkCache& cache() {
  // Never destroyed: values in static storage may free their nodes after
  // the end of main.
  static ChunkCache* const c = new ChunkCache;
  return *c;
}

void free_chunk(ChunkHeader* h) noexcept {
  chunks_live.fetch_sub(1, std::memory_order_relaxed);
  h->~ChunkHeader();
  STUBE_POISON(h, kChunkBytes);
  cache().give(h);
}

class ThreadChunk {
 public:
  ~ThreadChunk() { retire(); }

  unsigned scopes = 0;

  void* allocate(std::size_t bytes) {
    bytes = (bytes + kGranule - 1) / kGranule * kGranule;
    if (!chunk_ || used_ + bytes > kChunkBytes) open_new();
    char* p = reinterpret_cast<char*>(chunk_) + used_;
    used_ += bytes;
    ++cut_;
    STUBE_UNPOISON(p, bytes);
    return p;
  }

  void retire() noexcept {
    if (!chunk_) return;
    const std::uint32_t drop = kOpenBias - cut_;
    if (chunk_->live.fetch_sub(drop, std::memory_order_acq_rel) == drop) free_chunk(chunk_);
    chunk_ = nullptr;
  }

 private:
  void open_new() {
    retire();
    void* mem = cache().take();
    STUBE_UNPOISON(mem, sizeof(ChunkHeader));
    chunk_ = new (mem) ChunkHeader;
    chunks_live.fetch_add(1, std::memory_order_relaxed);
    used_ = sizeof(ChunkHeader);
    cut_ = 0;
    STUBE_POISON(static_cast<char*>(mem) + used_, kChunkBytes - used_);
  }

  ChunkHeader* chunk_ = nullptr;
  std::size_t used_ = 0;
  std::uint32_t cut_ = 0;
};

thread_local ThreadChunk current;

}  // namespace

PackedAllocation::PackedAllocation() noexcept {
  ++current.scopes;
}

PackedAllocation::~PackedAllocation() {
  if (--current.scopes == 0) current.retire();
}

void* packed_allocate(std::size_t bytes) noexcept {
  if (current.scopes == 0 || bytes > kMaxPackedBytes) return nullptr;
  try {
    return current.allocate(bytes);
  } catch (const std::bad_alloc&) {
    return nullptr;  // the ordinary allocator reports it
  }
}

void packed_free(Node* n, std::size_t bytes) noexcept {
  const auto address = reinterpret_cast<std::uintptr_t>(n);
  auto* h = reinterpret_cast<ChunkHeader*>(address & ~(kChunkBytes - 1));
  STUBE_POISON(n, (bytes + kGranule - 1) / kGranule * kGranule);
  if (h->live.fetch_sub(1, std::memory_order_acq_rel) == 1) free_chunk(h);
}

std::size_t packed_chunks_live() noexcept {
  return chunks_live.load(std::memory_order_relaxed);
}

}  // namespace stube::edn::detail
