#include "runtime/slot.hpp"

#include <stdexcept>

namespace stube::detail {

namespace {

thread_local const HoldFrame* tl_holds = nullptr;

// Threads that wait for a slot's lock while holding others. Two handlers
// that step each other's conversations at the same moment would each wait
// for the other's lock for ever; the second to wait finds the cycle here
// and is refused instead. A registered thread's holds cannot change while it
// is registered (it is blocked in lock(), or about to be), so a cycle found
// is a real one; a thread that holds nothing cannot close one and never
// registers.
class WaitsFor {
  struct Waiter {
    const HoldFrame* holds;
    const Slot* wants;
  };

 public:
  // Registers this thread as waiting for `wants` for the scope, or throws
  // std::logic_error (registering nothing) when that would close a cycle.
  class Wait {
   public:
    Wait(const Slot& wants, std::string_view call, std::string_view cid) : me_{tl_holds, &wants} {
      instance().enter(me_, call, cid);
    }
    ~Wait() { instance().leave(me_); }
    Wait(const Wait&) = delete;
    Wait& operator=(const Wait&) = delete;

   private:
    Waiter me_;
  };

 private:
  // Never destroyed: a Runtime with static storage may still step
  // conversations (its timer thread) while statics are torn down at exit.
  static WaitsFor& instance() {
    static WaitsFor& waits = *new WaitsFor;
    return waits;
  }

  static bool holds(const HoldFrame* chain, const Slot* slot) noexcept {
    for (; chain != nullptr; chain = chain->outer)
      if (chain->slot == slot) return true;
    return false;
  }

  // Follows "waits for a slot held by" from `me` through the registered
  // waiters; a cycle comes back to a slot `me` holds.
  bool closes_cycle(const Waiter& me) const noexcept {
    const Slot* wanted = me.wants;
    for (std::size_t step = 0; step < waiters_.size(); ++step) {
      const Waiter* holder = nullptr;
      for (const Waiter* w : waiters_)
        if (holds(w->holds, wanted)) holder = w;
      if (holder == nullptr) return false;
      if (holds(me.holds, holder->wants)) return true;
      wanted = holder->wants;
    }
    return false;
  }

  void enter(const Waiter& me, std::string_view call, std::string_view cid) {
    const std::lock_guard lock(mu_);
    if (closes_cycle(me)) {
      throw std::logic_error("Runtime::" + std::string(call) + " for conversation " +
                             std::string(cid) +
                             " would wait for ever: another handler holds it and waits for a "
                             "conversation this handler holds (two handlers stepping each "
                             "other's conversations); keep such calls one-way");
    }
    waiters_.push_back(&me);
  }

  void leave(const Waiter& me) noexcept {
    const std::lock_guard lock(mu_);
    std::erase(waiters_, &me);
  }

  std::mutex mu_;
  std::vector<const Waiter*> waiters_;
};

}  // namespace

// Whether this thread holds a conversation of `runtime` (`slot`, when
// given) further up its stack.
bool held(const void* runtime, const Slot* slot) noexcept {
  for (const HoldFrame* f = tl_holds; f != nullptr; f = f->outer)
    if (f->runtime == runtime && (slot == nullptr || f->slot == slot)) return true;
  return false;
}

Hold::Hold(const void* runtime, const Slot& slot) : frame_{runtime, &slot, tl_holds} {
  tl_holds = &frame_;
}

Hold::~Hold() {
  tl_holds = frame_.outer;
}

void settle(const void* runtime, Slot& slot) {
  while (!held(runtime, &slot) && slot.has_waiting()) {
    std::unique_lock lock(slot.mu, std::try_to_lock);
    if (!lock.owns_lock()) return;
    const std::shared_ptr<Output> forgotten = slot.forget_dropped();
    const std::vector<std::function<void()>> parked = slot.take_parked();
    lock.unlock();
    for (const auto& hand_back : parked) hand_back();
  }
}

std::unique_lock<std::mutex> SlotLock::acquire(const void* runtime, Slot& slot,
                                               std::string_view call, std::string_view cid) {
  if (held(runtime, &slot)) {
    throw std::logic_error("Runtime::" + std::string(call) + " for conversation " +
                           std::string(cid) +
                           " called from a handler or hook running for that conversation, "
                           "where it would wait for itself (use the component's effects "
                           "instead)");
  }
  if (tl_holds == nullptr) return std::unique_lock(slot.mu);
  std::unique_lock lock(slot.mu, std::try_to_lock);
  if (!lock.owns_lock()) {
    const WaitsFor::Wait wait(slot, call, cid);
    lock.lock();
  }
  return lock;
}

}  // namespace stube::detail
