#include "store/deferred_close.hpp"

#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "common/thread_name.hpp"

namespace stube::store_detail {

struct DeferredClose::Shared {
  std::mutex mutex;
  std::condition_variable work;
  std::condition_variable idle;
  std::vector<Fd> pending;
  // Descriptors handed over and not yet closed: pending, and those the
  // thread took and is closing one by one (it counts down without the lock).
  std::atomic<std::size_t> held{0};
  bool stop = false;
  // Batches the thread has finished, and whether it is closing one now.
  std::uint64_t batches_done = 0;
  bool closing = false;
  std::unique_ptr<std::thread> thread;
  const pid_t owner_pid = current_pid();  // the process that made this object

  // In a forked child the thread is missing, and the mutex may have been
  // held by a parent thread at the fork (then it stays locked for good): a
  // child never touches either, and closes inline.
  bool forked() const { return owner_pid != current_pid(); }
};

std::size_t max_pending_for(std::uint64_t limit) noexcept {
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(limit / 32, 16, 1024));
}

namespace {

std::uint64_t soft_descriptor_limit() noexcept {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  return rl.rlim_cur;
}

}  // namespace

DeferredClose::DeferredClose() : shared_(std::make_unique<Shared>()) {}

DeferredClose::DeferredClose(std::size_t max_pending)
    : max_pending_(max_pending), shared_(std::make_unique<Shared>()) {}

DeferredClose::~DeferredClose() {
  Shared& s = *shared_;
  if (!s.thread) return;
  // A forked child inherits this object but not the thread. Joining a thread
  // of another process is undefined, and glibc's condition variables block
  // in signal and destroy until their waiters (the missing thread) respond,
  // so the child leaves the whole shared state alone: leaked on purpose.
  // Its pending descriptors close at its exit like any other.
  if (s.forked()) {
    (void)shared_.release();
    return;
  }
  {
    std::lock_guard lock(s.mutex);
    s.stop = true;
  }
  s.work.notify_one();
  s.thread->join();
}

void DeferredClose::close_later(Fd fd) noexcept {
  if (!fd) return;
  Shared& s = *shared_;
  if (s.forked()) return;  // fd closes here, on the caller's thread
  std::unique_lock lock(s.mutex);
  if (!s.thread) {
    if (!max_pending_) max_pending_ = max_pending_for(soft_descriptor_limit());
    try {
      // The queue never holds more than max_pending_: no allocation (and
      // no bad_alloc in this noexcept function) once the thread runs.
      s.pending.reserve(*max_pending_);
      s.thread = std::make_unique<std::thread>([&s] { run(s); });
      detail::name_thread(*s.thread, "stube-closer");
    } catch (const std::system_error&) {
      // No thread to be had: close here, as if there were no deferral.
    } catch (const std::bad_alloc&) {
    }
  }
  if (!s.thread || s.held.load() >= *max_pending_) {
    lock.unlock();
    return;  // fd closes here, on the caller's thread
  }
  const bool was_empty = s.pending.empty();
  s.pending.push_back(std::move(fd));
  s.held.fetch_add(1);
  lock.unlock();
  if (was_empty) s.work.notify_one();
}

void DeferredClose::close_pending_now() noexcept {
  Shared& s = *shared_;
  if (s.forked()) return;  // no queue of its own, and the mutex may be stuck
  // Under the lock, so that the queue keeps its storage (close_later must
  // not allocate); a caller short of descriptors waits for these anyway.
  const std::lock_guard lock(s.mutex);
  for (Fd& fd : s.pending) {
    (void)fd.close_checked();
    s.held.fetch_sub(1);
  }
  s.pending.clear();
  if (s.held.load() == 0) s.idle.notify_all();
}

void DeferredClose::close_all_now() noexcept {
  Shared& s = *shared_;
  if (s.forked()) return;
  close_pending_now();
  std::unique_lock lock(s.mutex);
  // Not until held is 0, which other savers may keep from happening.
  const std::uint64_t batch = s.batches_done;
  s.idle.wait(lock, [&s, batch] { return !s.closing || s.batches_done != batch; });
}

void DeferredClose::drain() {
  Shared& s = *shared_;
  if (s.forked()) return;  // no thread to wait for, and the mutex may be stuck
  std::unique_lock lock(s.mutex);
  s.idle.wait(lock, [&s] { return s.held.load() == 0; });
}

void DeferredClose::run(Shared& s) {
  std::unique_lock lock(s.mutex);
  // The two vectors swap storage: both as large as the queue may get.
  std::vector<Fd> batch;
  batch.reserve(s.pending.capacity());
  for (;;) {
    s.work.wait(lock, [&s] { return s.stop || !s.pending.empty(); });
    if (s.pending.empty()) return;  // stopping, nothing left
    batch.swap(s.pending);
    s.closing = true;
    lock.unlock();
    for (Fd& fd : batch) {
      (void)fd.close_checked();  // what the close sets off happens here; errors change nothing
      s.held.fetch_sub(1);
    }
    batch.clear();
    lock.lock();
    s.closing = false;
    ++s.batches_done;
    s.idle.notify_all();  // drain() and close_all_now() wait on it
  }
}

}  // namespace stube::store_detail
