#include "common/thread_name.hpp"

#include <pthread.h>

namespace stube::detail {

void name_this_thread(const char* name) noexcept {
  static_cast<void>(pthread_setname_np(pthread_self(), name));
}

}  // namespace stube::detail
