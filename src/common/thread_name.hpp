// Names the calling thread, so that `top -H`, `ps -L`, gdb, perf and
// /proc/<pid>/task/*/comm tell stube's threads apart from the application's:
// stube-io (the server's I/O threads), stube-worker (its request workers),
// stube-timer (the runtime's timers), stube-closer (the file store's release
// of replaced files) and stube-load (load_all's extra readers).
#pragma once

namespace stube::detail {

// `name` is at most 15 characters (the kernel's limit); best effort: a
// failure leaves the thread's inherited name.
void name_this_thread(const char* name) noexcept;

}  // namespace stube::detail
