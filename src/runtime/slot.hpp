// A live conversation's slot in the runtime, and the lock a step holds on
// it. Internal to src/runtime.
//
// Each slot has its own mutex, held for the whole of one step (fold, save,
// send). The lock also records, per thread, which conversations the thread
// holds while user code runs, so that a handler calling back into its own
// conversation, or two handlers stepping each other's, are refused with a
// std::logic_error instead of waiting for ever.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/moments.hpp"
#include "stube/edn.hpp"
#include "stube/runtime.hpp"

namespace stube::detail {

struct Slot {
  std::mutex mu;
  edn::Value conv;
  std::string owner;
  std::shared_ptr<Output> out;
  bool ended = false;
  bool awake = false;  // restored conversations are woken on first attach
  // Nothing happened to it since mint: the page that minted it holds its
  // kept signals, so its first stream's view comes without them.
  bool as_minted = false;
  // The store does not hold `conv` as it is: its last save failed (the
  // backend was down). Only such a conversation needs shutdown's final save
  // on a shared store, see Runtime::shutdown().
  // Atomic so that the reaper can look for such slots without their locks
  // (see resave_failed()); changed with `mu` held.
  std::atomic<bool> dirty = false;
  // Retry rounds whose save of it failed again since its last good save: a
  // round takes the conversations that failed the fewest times first, so
  // one that can never be saved (over the store's record limit) goes last
  // instead of stopping every round before the others. Atomic as `dirty`.
  std::atomic<std::uint32_t> failed_resaves = 0;
  // Shutdown stopped it (stop hooks run, stream closed, saved): `ended`
  // is set, but its record stays in the store; see Runtime::end().
  bool stopped_by_shutdown = false;
  // Left for the thread holding `mu` by threads that do not wait for it,
  // and settled (see settle()) once no thread holds it. Under their own
  // small lock, never held while waiting for `mu`:
  std::mutex waiting_mu;
  // - streams let go of (detach() does not wait for the lock); all of them:
  //   a replaced stream's late detach must not hide the current one's;
  std::vector<const Output*> dropped;
  // - timer events that found the conversation busy (the timer thread does
  //   not wait for one conversation's step while the others' timers are
  //   due): each hands its event back to the timer queue.
  std::vector<std::function<void()>> parked;

  void drop_later(const Output* o) {
    const std::lock_guard lock(waiting_mu);
    dropped.push_back(o);
  }
  void park(std::function<void()> hand_back) {
    const std::lock_guard lock(waiting_mu);
    parked.push_back(std::move(hand_back));
  }
  bool has_waiting() {
    const std::lock_guard lock(waiting_mu);
    return !dropped.empty() || !parked.empty();
  }
  // Called with `mu` held. Returns the stream it forgot, if any, for the
  // caller to release once it has let go of `mu`: an Output's destructor may
  // call detach() (and would wait for ever here for `waiting_mu`).
  [[nodiscard]] std::shared_ptr<Output> forget_dropped() {
    const std::lock_guard lock(waiting_mu);
    if (dropped.empty()) return nullptr;
    std::shared_ptr<Output> forgotten;
    if (std::find(dropped.begin(), dropped.end(), out.get()) != dropped.end())
      forgotten = std::move(out);
    dropped.clear();
    return forgotten;
  }
  [[nodiscard]] std::vector<std::function<void()>> take_parked() {
    const std::lock_guard lock(waiting_mu);
    return std::exchange(parked, {});
  }
  // When the reaper first met this conversation without a readable
  // :conv/touched (a record written by hand or by an old version), or with
  // one in the future: it counts as touched then, as the PostgreSQL store
  // counts such a record touched when it saves it.
  std::optional<std::int64_t> untouched_since;
  // Which of its moments back has undone: their timers do not fire.
  Moments moments;
  // Shared stores: the stored copy's :conv/touched when the reaper last
  // looked it up (see add_reaped_elsewhere).
  std::optional<std::int64_t> stored_touched;

  // The owner token is a secret: compare in time independent of where the
  // first difference is, so response timing does not leak a prefix.
  bool foreign(std::string_view token) const noexcept {
    if (owner.empty()) return false;
    if (token.size() != owner.size()) return true;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < owner.size(); ++i)
      diff |= static_cast<unsigned char>(owner[i] ^ token[i]);
    return diff != 0;
  }
};

// The conversations whose locks this thread holds while it runs user code
// (handlers, hooks, a timer's event), innermost first, each with its
// runtime. A handler that calls back into that runtime for a conversation
// it holds (its own, or one whose handler stepped it here), or shuts the
// runtime down, would wait for a lock its own thread holds: those calls
// check the chain and refuse (std::logic_error) instead of hanging.
struct HoldFrame {
  const void* runtime;
  const Slot* slot;
  const HoldFrame* outer;
};

// Whether this thread holds a conversation of `runtime` (`slot`, when
// given) further up its stack.
bool held(const void* runtime, const Slot* slot = nullptr) noexcept;

// Marks `slot` as held by this thread for the scope. Nests: a handler may
// step another conversation, whose handler runs with both marked.
class Hold {
 public:
  Hold(const void* runtime, const Slot& slot);
  ~Hold();
  Hold(const Hold&) = delete;
  Hold& operator=(const Hold&) = delete;

 private:
  HoldFrame frame_;
};

// Settles what other threads left for the holder of `slot`'s lock (streams
// detached, timer events parked) unless a thread holds it now: that one
// does once it lets go (SlotLock). So a dropped stream and its buffers go
// when the step that held it ends, not when the conversation is next used
// (perhaps never), and a parked timer event goes back to the timer queue
// as soon as the conversation is free. Never waits; releases streams and
// hands events back outside the locks.
void settle(const void* runtime, Slot& slot);

// A slot's lock, taken to run a step (user code may run), and marked held
// for the scope. A slot this thread holds already is refused: locking it
// would wait for itself; so is one whose wait would close a cycle with
// other handlers (see WaitsFor in slot.cpp). `call` and `cid` name it in
// the refusal.
class SlotLock {
 public:
  SlotLock(const void* runtime, Slot& slot, std::string_view call, std::string_view cid)
      : after_{runtime, slot}, lock_(acquire(runtime, slot, call, cid)) {
    hold_.emplace(runtime, slot);
  }
  // Takes the lock only if it is free; owns() says whether it did. For the
  // timer thread, which must not wait for one conversation's step (a slow
  // handler, a slow save) while the others' timers are due.
  SlotLock(const void* runtime, Slot& slot, std::try_to_lock_t) : after_{runtime, slot} {
    if (held(runtime, &slot)) return;
    lock_ = std::unique_lock(slot.mu, std::try_to_lock);
    if (lock_.owns_lock()) hold_.emplace(runtime, slot);
  }
  bool owns() const noexcept { return lock_.owns_lock(); }

 private:
  // Destroyed last, once the lock is let go: see settle().
  struct SettleAfter {
    const void* runtime;
    Slot& slot;
    ~SettleAfter() { settle(runtime, slot); }
  };

  static std::unique_lock<std::mutex> acquire(const void* runtime, Slot& slot,
                                              std::string_view call, std::string_view cid);

  SettleAfter after_;
  std::unique_lock<std::mutex> lock_;
  std::optional<Hold> hold_;
};

}  // namespace stube::detail
