#include "common/thread_name.hpp"

#include <pthread.h>

namespace stube::detail {

namespace {

void name(pthread_t thread, const char* name) noexcept {
  static_cast<void>(pthread_setname_np(thread, name));
}

}  // namespace

void name_thread(std::thread& thread, const char* name) noexcept {
  detail::name(thread.native_handle(), name);
}

void name_thread(std::jthread& thread, const char* name) noexcept {
  detail::name(thread.native_handle(), name);
}

void name_this_thread(const char* name) noexcept {
  detail::name(pthread_self(), name);
}

}  // namespace stube::detail
