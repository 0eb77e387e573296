// The lowest stack address the recursive reader and printer may reach on the
// calling thread. Their depth limit (1000 levels) bounds the recursion, but the
// stack that takes depends on the build and the thread: a small thread stack
// would overflow well within the limit. Both stop at this floor instead, with
// an error that blames the thread.
#pragma once

#include <pthread.h>

#include <cstddef>

namespace stube::edn::detail {

// The part of the thread's stack to keep free: from its end (`low`) up to
// `floor`, a margin for one level's frames and the error path (256 KiB, or
// half of a smaller stack). Both null when unknown (no guard).
struct StackFloor {
  const char* low = nullptr;
  const char* floor = nullptr;

  // True when the caller's frame is in that part (stacks grow down on every
  // platform this builds for). A frame outside the thread's stack (a stackful
  // coroutine's or fiber's own stack) is not judged: its bounds are unknown.
  [[gnu::always_inline]] bool reached() const noexcept {
    const auto* frame = static_cast<const char*>(__builtin_frame_address(0));
    return frame < floor && frame >= low;
  }
};

inline StackFloor stack_floor() noexcept {
  thread_local const StackFloor floor = [] {
    pthread_attr_t attr;
    void* base = nullptr;
    std::size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return StackFloor{};
    pthread_attr_getstack(&attr, &base, &size);
    pthread_attr_destroy(&attr);
    constexpr std::size_t kMargin = 256 * 1024;
    const char* low = static_cast<const char*>(base);
    return StackFloor{low, size > 2 * kMargin ? low + kMargin : low + size / 2};
  }();
  return floor;
}

}  // namespace stube::edn::detail
