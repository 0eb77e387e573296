// Group commit: operations submitted by many threads run in batches, one
// batch (one transaction) at a time, on the submitting threads themselves.
//
// A submitter queues its operation and waits. Whenever no batch is running,
// one waiting submitter becomes the leader: it takes everything queued so
// far, runs the batch, and wakes the others. While a batch commits (an
// fsync, typically), new operations pile up and form the next batch, so
// the more threads save at once, the more each commit carries; a lone
// thread pays one commit per operation and waits for nobody.
#pragma once

#include <condition_variable>
#include <exception>
#include <mutex>
#include <vector>

namespace stube::store_detail {

template <class Op>
class GroupCommit {
 public:
  // Returns once a batch containing `op` has run: run(ops) is called, on
  // one of the submitting threads, with every operation queued until then
  // in the order they were submitted. If run throws, every submitter of that
  // batch gets the exception. `op` must stay alive until submit returns
  // (it does: the caller waits).
  template <class Run>
  void submit(Op& op, const Run& run) {
    Slot slot{&op, false, nullptr};
    std::unique_lock lock(mutex_);
    queue_.push_back(&slot);
    while (!slot.done) {
      if (running_) {
        wakeup_.wait(lock);
        continue;
      }
      lead(lock, run);
    }
    if (slot.error) std::rethrow_exception(slot.error);
  }

 private:
  struct Slot {
    Op* op;
    bool done = false;
    std::exception_ptr error;
  };

  template <class Run>
  void lead(std::unique_lock<std::mutex>& lock, const Run& run) {
    running_ = true;
    batch_.swap(queue_);  // queue_ keeps the cleared storage of the last batch
    lock.unlock();
    // Whatever throws here, bad_alloc in the bookkeeping included, is the
    // batch's error: a leader that left with running_ set would leave every
    // later submitter waiting for good.
    std::exception_ptr error;
    try {
      ops_.clear();
      for (Slot* s : batch_) ops_.push_back(s->op);
      run(ops_);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    for (Slot* s : batch_) {
      s->done = true;
      s->error = error;
    }
    batch_.clear();
    running_ = false;
    wakeup_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::vector<Slot*> queue_;
  // The running batch; only the leader touches these. Kept, with their
  // storage, from batch to batch: a save should not cost three allocations.
  std::vector<Slot*> batch_;
  std::vector<Op*> ops_;
  bool running_ = false;
};

}  // namespace stube::store_detail
