// Names stube's threads, so that `top -H`, `ps -L`, gdb, perf and
// /proc/<pid>/task/*/comm tell them apart from the application's:
// stube-io (the server's I/O threads), stube-worker (its request workers),
// stube-timer (the runtime's timers), stube-closer (the file store's release
// of replaced files) and stube-load (load_all's extra readers).
//
// `name` is at most 15 characters (the kernel's limit). Best effort: a
// failure leaves the inherited name. The creator names a new thread right
// after creating it (not the thread itself, later), so the name is there
// by the time the creator goes on.
#pragma once

#include <thread>

namespace stube::detail {

void name_thread(std::thread& thread, const char* name) noexcept;
void name_thread(std::jthread& thread, const char* name) noexcept;
void name_this_thread(const char* name) noexcept;

}  // namespace stube::detail
