// The lowest stack address the recursive reader and printer may reach on the
// calling thread. Their depth limit (1000 levels) bounds the recursion, but the
// stack that takes depends on the build and the thread: a small thread stack
// would overflow well within the limit. Both stop at this floor instead, with
// an error that blames the thread.
#pragma once

#include <pthread.h>

#include <cstddef>

namespace stube::edn::detail {

// The thread's stack end plus a margin for one level's frames and the error
// path: 256 KiB, or half of a smaller stack. Null when unknown (no guard).
inline const char* stack_floor() noexcept {
  thread_local const char* floor = [] {
    pthread_attr_t attr;
    void* base = nullptr;
    std::size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return static_cast<const char*>(nullptr);
    pthread_attr_getstack(&attr, &base, &size);
    pthread_attr_destroy(&attr);
    constexpr std::size_t kMargin = 256 * 1024;
    return size > 2 * kMargin ? static_cast<const char*>(base) + kMargin
                              : static_cast<const char*>(base) + size / 2;
  }();
  return floor;
}

// True when the caller's frame is below `floor` (stacks grow down on every
// platform this builds for).
[[gnu::always_inline]] inline bool below(const char* floor) noexcept {
  return static_cast<const char*>(__builtin_frame_address(0)) < floor;
}

}  // namespace stube::edn::detail
