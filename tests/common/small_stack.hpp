// run_with_stack: runs `fn` on a new thread whose stack is `bytes` large
// (std::thread cannot choose), and waits for it. For the guards that stop
// recursion before a small stack runs out.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <functional>
#include <stdexcept>

namespace stube::test {

inline void run_with_stack(std::size_t bytes, std::function<void()> fn) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, bytes);
  pthread_t thread;
  const auto body = [](void* arg) -> void* {
    (*static_cast<std::function<void()>*>(arg))();
    return nullptr;
  };
  const int err = pthread_create(&thread, &attr, body, &fn);
  pthread_attr_destroy(&attr);
  if (err != 0) throw std::runtime_error("run_with_stack: pthread_create failed");
  pthread_join(thread, nullptr);
}

}  // namespace stube::test
