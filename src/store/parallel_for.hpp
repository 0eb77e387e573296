// Runs f(0) … f(n-1) on up to `threads` threads (the caller's included):
// the loop of every store's load_all.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <system_error>
#include <thread>
#include <vector>

#include "common/thread_name.hpp"
#include "edn/packed.hpp"

namespace stube::store_detail {

// `f` must not throw. Threads that cannot be started (a pids limit) are
// done without: the caller's thread alone still runs every f(i). Indices are handed out one at a
// time, so uneven work (a few large files among small ones) still spreads across the threads. The
// values read in `f` are packed (edn/packed.hpp): loaded conversations are kept, and later dropped,
// together.
template <class F>
void parallel_for(std::size_t n, unsigned threads, const F& f) {
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    edn::detail::PackedAllocation packed;
    for (std::size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) f(i);
  };
  const std::size_t extra = n == 0 ? 0 : std::min<std::size_t>(std::max(threads, 1u), n) - 1;
  std::vector<std::jthread> pool;
  pool.reserve(extra);
  for (std::size_t t = 0; t < extra; ++t) {
    try {
      pool.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // no more threads to be had (a pids limit): the started ones and this one do it all
    }
    detail::name_thread(pool.back(), "stube-load");
  }
  work();
}

}  // namespace stube::store_detail
