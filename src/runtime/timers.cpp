#include "runtime/timers.hpp"

#include <algorithm>

#include "common/thread_name.hpp"
#include "stube/log.hpp"

namespace stube::detail {

namespace {

// now + delay, with the delay held to [0, about a century]: a component's
// after() or a reaper_interval may be anything up to milliseconds::max(),
// and the clock's nanoseconds overflow far below that (undefined, and in
// practice a deadline in the past: the timer fired at once).
TimerQueue::Clock::time_point deadline_after(std::chrono::milliseconds delay) {
  constexpr std::chrono::milliseconds kFarFuture = std::chrono::hours(24 * 365 * 100);
  return TimerQueue::Clock::now() + std::clamp(delay, std::chrono::milliseconds(0), kFarFuture);
}

}  // namespace

TimerQueue::TimerQueue() : thread_([this] { run(); }) {
  name_thread(thread_, "stube-timer");
}

TimerQueue::~TimerQueue() {
  stop();
}

void TimerQueue::schedule(std::chrono::milliseconds delay, std::string owner,
                          std::function<void()> fn, const void* tag) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    queue_.emplace(deadline_after(delay), Entry{std::move(owner), std::move(fn), tag});
  }
  cv_.notify_one();
}

// Cancelled callbacks are dropped after the lock is released (`dropped` is
// declared before it): their captures' destructors may schedule or cancel.
void TimerQueue::cancel(const std::string& owner) {
  cancel_if(owner, [](const void*) { return true; });
}

void TimerQueue::cancel_if(const std::string& owner, bool (*doomed)(const void* tag)) {
  Queue dropped;
  std::lock_guard lock(mu_);
  for (auto it = queue_.begin(); it != queue_.end();) {
    const auto next = std::next(it);
    if (it->second.owner == owner && doomed(it->second.tag)) dropped.insert(queue_.extract(it));
    it = next;
  }
}

void TimerQueue::stop() {
  Queue dropped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_one();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void TimerQueue::fire(const std::function<void()>& fn) noexcept {
  try {
    fn();
  } catch (const std::exception& ex) {
    log::error(std::string("timer callback failed: ") + ex.what());
  } catch (...) {  // out of a thread function it would end the process
    log::error("timer callback failed: it threw something that is not a std::exception");
  }
}

void TimerQueue::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = queue_.begin();
    // A copy: cancel() may erase the entry while we wait on its deadline.
    const Clock::time_point deadline = first->first;
    if (Clock::now() < deadline) {
      cv_.wait_until(lock, deadline);
      continue;
    }
    {
      // Destroyed before the lock is taken again, as cancel()'s are.
      const Entry e = std::move(queue_.extract(first).mapped());
      lock.unlock();
      fire(e.fn);
    }
    lock.lock();
  }
}

}  // namespace stube::detail
