// spin_until: busy-waits (yielding) for a condition another thread makes
// true, for tests that must catch a short window no callback announces. It
// gives up after a deadline so a regression fails the test instead of
// hanging it until ctest's timeout.
#pragma once

#include <chrono>
#include <thread>

namespace stube::test {

template <class Condition>
[[nodiscard]] bool spin_until(
    Condition&& condition, std::chrono::steady_clock::duration limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace stube::test
