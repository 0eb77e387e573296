// Chunks for packed nodes: see packed.hpp.
#include "edn/packed.hpp"

#include <sys/mman.h>

#include <atomic>
#include <chrono>
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
constexpr std::size_t kChunkBytes = std::size_t{32} << 10;
// Larger nodes (long strings, big collections) are rare, and packing them
// would waste the rest of a chunk when they do not fit.
constexpr std::size_t kMaxPackedBytes = std::size_t{2} << 10;
constexpr std::size_t kGranule = 16;

constexpr std::size_t granules(std::size_t bytes) noexcept {
  return (bytes + kGranule - 1) / kGranule * kGranule;
}

// While its thread still cuts nodes from a chunk, the live count carries a
// bias that the nodes freed meanwhile cannot exhaust (a chunk holds at most
// kChunkBytes / kGranule nodes); retiring the chunk trades the bias for the
// number of nodes actually cut.
constexpr std::uint32_t kOpenBias = std::uint32_t{1} << 30;

struct alignas(kGranule) ChunkHeader {
  std::atomic<std::uint32_t> live{kOpenBias};
};

// Chunks are cut from 2 MiB slabs mapped straight from the kernel, with
// transparent huge pages asked for: a first load then takes one page fault
// per 2 MiB instead of one per 4 KiB (where the kernel's THP setting is
// `madvise` or `always`). A slab is never unmapped. An empty chunk keeps
// its memory for the next load; once no chunk has been taken for a second,
// whatever is kept beyond 64 MiB goes back to the kernel (MADV_DONTNEED)
// as chunks are freed, so a server's resident size follows its live
// conversations. (Giving memory back at once made repeated loads 1.3x
// slower; keeping none, 3x.)
class ChunkCache {
 public:
  static constexpr std::size_t kSlabBytes = std::size_t{2} << 20;
  static constexpr std::size_t kChunksPerSlab = kSlabBytes / kChunkBytes;

  void* take() {
    std::lock_guard<std::mutex> lock(mutex_);
    last_take_ = std::chrono::steady_clock::now();
    if (!resident_.empty()) return pop(resident_);
    if (released_.empty()) map_slab();
    return pop(released_);
  }

  // Never allocates: every chunk fits in the capacity map_slab() reserved.
  void give(void* chunk) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    resident_.push_back(chunk);
    if (resident_.size() <= max_resident_) return;
    if (std::chrono::steady_clock::now() - last_take_ < keep_while_loading_) return;
    while (resident_.size() > max_resident_) {
      void* spare = pop(resident_);
      ::madvise(spare, kChunkBytes, MADV_DONTNEED);  // a failure only keeps the pages
      released_.push_back(spare);
    }
  }

  PackedSpareLimits set_limits(PackedSpareLimits limits) {
    std::lock_guard<std::mutex> lock(mutex_);
    const PackedSpareLimits previous{max_resident_, keep_while_loading_};
    max_resident_ = limits.max_chunks;
    keep_while_loading_ = limits.keep;
    return previous;
  }

  std::size_t spare() {
    std::lock_guard<std::mutex> lock(mutex_);
    return resident_.size();
  }

  // Every chunk is either taken or in one of the two lists.
  std::size_t taken() {
    std::lock_guard<std::mutex> lock(mutex_);
    return chunks_ - resident_.size() - released_.size();
  }

 private:
  static void* pop(std::vector<void*>& from) {
    void* chunk = from.back();
    from.pop_back();
    return chunk;
  }

  void map_slab() {
    chunks_ += kChunksPerSlab;
    released_.reserve(chunks_);
    resident_.reserve(chunks_);
    // Twice the size, then the unaligned ends are unmapped again.
    void* mem =
        ::mmap(nullptr, 2 * kSlabBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
      chunks_ -= kChunksPerSlab;
      throw std::bad_alloc();
    }
    const auto start = reinterpret_cast<std::uintptr_t>(mem);
    const std::uintptr_t slab = (start + kSlabBytes - 1) & ~(kSlabBytes - 1);
    if (slab > start) ::munmap(mem, slab - start);
    if (const std::uintptr_t end = start + 2 * kSlabBytes; end > slab + kSlabBytes)
      ::munmap(reinterpret_cast<void*>(slab + kSlabBytes), end - (slab + kSlabBytes));
    ::madvise(reinterpret_cast<void*>(slab), kSlabBytes, MADV_HUGEPAGE);  // only a hint
    STUBE_POISON(reinterpret_cast<void*>(slab), kSlabBytes);
    for (std::size_t i = kChunksPerSlab; i-- > 0;)  // popped lowest address first
      released_.push_back(reinterpret_cast<void*>(slab + i * kChunkBytes));
  }

  std::mutex mutex_;
  std::size_t chunks_ = 0;  // in all slabs
  std::chrono::steady_clock::time_point last_take_{};
  std::size_t max_resident_ = (std::size_t{64} << 20) / kChunkBytes;
  std::chrono::nanoseconds keep_while_loading_ = std::chrono::seconds(1);
  std::vector<void*> resident_;
  std::vector<void*> released_;
};

ChunkCache& cache() {
  // Never destroyed: values in static storage may free their nodes after
  // the end of main.
  static ChunkCache* const c = new ChunkCache;
  return *c;
}

void free_chunk(ChunkHeader* h) noexcept {
  h->~ChunkHeader();
  STUBE_POISON(h, kChunkBytes);
  cache().give(h);
}

class ThreadChunk {
 public:
  ~ThreadChunk() { retire(); }

  unsigned scopes = 0;

  void* allocate(std::size_t bytes) {
    bytes = granules(bytes);
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
    void* mem = cache().take();  // all poisoned: fresh from a slab, or by free_chunk()
    STUBE_UNPOISON(mem, sizeof(ChunkHeader));
    chunk_ = new (mem) ChunkHeader;
    used_ = sizeof(ChunkHeader);
    cut_ = 0;
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
  STUBE_POISON(n, granules(bytes));
  if (h->live.fetch_sub(1, std::memory_order_acq_rel) == 1) free_chunk(h);
}

std::size_t packed_chunks_live() noexcept {
  return cache().taken();
}

std::size_t packed_spare_chunks() noexcept {
  return cache().spare();
}

PackedSpareLimits set_packed_spare_limits(PackedSpareLimits limits) {
  return cache().set_limits(limits);
}

}  // namespace stube::edn::detail
