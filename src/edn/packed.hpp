// Packed allocation of the nodes of values that live and die together.
// Internal to the library.
//
// Loading a store reads thousands of documents of hundreds of small nodes
// each, and the whole set is usually dropped at once (a restart, a reload).
// Node by node through the general allocator that is millions of mallocs and
// frees whose bookkeeping (glibc consolidating its fast bins, arenas handing
// chunks between threads) costs more than parsing. While a PackedAllocation
// is alive on a thread, the nodes read on that thread are cut from 32 KiB
// chunks instead: an allocation is a pointer bump, a free is one decrement
// of the chunk's live count, and the chunk is free again when its last node
// dies, on whatever thread that happens (its memory is kept for the next
// load up to 64 MiB, the rest goes back to the kernel).
//
// The price: a chunk stays allocated while any of its nodes lives. That is
// the right trade for a set of documents that stay together (restored
// conversations), not for everyday values, so packing is opt-in per scope.
#pragma once

#include <chrono>
#include <cstddef>

namespace stube::edn::detail {

struct Node;

// Packs the nodes allocated on this thread until destroyed. Scopes nest.
class PackedAllocation {
 public:
  PackedAllocation() noexcept;
  ~PackedAllocation();
  PackedAllocation(const PackedAllocation&) = delete;
  PackedAllocation& operator=(const PackedAllocation&) = delete;
};

// `bytes` of memory from the thread's current chunk, or nullptr when no
// scope is active or the node is too large to pack (the caller then uses
// the ordinary allocator).
void* packed_allocate(std::size_t bytes) noexcept;

// Releases a packed node of `bytes` bytes (as passed to packed_allocate)
// whose destructor has run.
void packed_free(Node* n, std::size_t bytes) noexcept;

// Chunks currently allocated, in the whole process (for tests and leak
// checks).
std::size_t packed_chunks_live() noexcept;

// Empty chunks whose memory is kept for the next load.
std::size_t packed_spare_chunks() noexcept;

// How many empty chunks keep their memory (default 64 MiB worth) once no
// chunk has been taken for `keep` (default 1 s). For tests; returns the
// previous limits.
struct PackedSpareLimits {
  std::size_t max_chunks;
  std::chrono::nanoseconds keep;
};
PackedSpareLimits set_packed_spare_limits(PackedSpareLimits limits);

}  // namespace stube::edn::detail
