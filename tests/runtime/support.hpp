// Test support for the runtime: a store that counts (and can fail), an
// output that records fragments, a log capture and a scratch directory.
// Waiting is always on a condition with a deadline, never a fixed sleep.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log_capture.hpp"
#include "common/scratch_dir.hpp"
#include "kernel/support.hpp"
#include "stube/log.hpp"
#include "stube/runtime.hpp"
#include "stube/store.hpp"

namespace stube::test {

using namespace std::chrono_literals;

// How long a condition may take before a test gives up (generous: ASan and
// a loaded 2-core machine are slow; a passing test never waits this long).
inline constexpr std::chrono::milliseconds kPatience = 10s;

// A handler, hook or store call that waits inside until the test lets it
// go: the test waits until it is inside, then releases it.
class Gate {
 public:
  void enter_and_wait() {
    std::unique_lock lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
  }
  bool wait_entered() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return entered_; });
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, released_ = false;
};

// Wakes waiters whenever something they may be waiting for happened.
class Notifier {
 public:
  void bump();
  // Re-checks pred after every bump() until it holds or `limit` passes.
  bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t generation_ = 0;
};

// A store that records every call and can forward to a real store (e.g. a
// file store). save/remove can be told to fail with StoreError.
class CountingStore : public ConversationStore {
 public:
  explicit CountingStore(std::shared_ptr<ConversationStore> inner = nullptr);

  ConversationMap load_all() override;
  edn::Value save(const edn::Value& conv) override;
  void remove(std::string_view cid) override;

  std::size_t load_calls() const;
  std::size_t saves() const;                      // all cids
  std::size_t saves(std::string_view cid) const;  // one cid
  std::size_t removes(std::string_view cid) const;
  // The last value save() received for cid.
  std::optional<edn::Value> last_saved(std::string_view cid) const;
  // "save" / "remove" for cid, in the order they happened.
  std::vector<std::string> ops(std::string_view cid) const;
  void fail_saves(bool on);
  void fail_removes(bool on);
  // The next cid save() is called for fails from then on, every time (a
  // conversation over a store's record limit); poisoned() names it.
  void poison_next_save();
  std::optional<std::string> poisoned() const;
  // Waits until pred() holds (checked after every store call).
  bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = kPatience);

 private:
  std::shared_ptr<ConversationStore> inner_;
  mutable std::mutex mu_;
  Notifier changed_;
  std::size_t loads_ = 0, saves_ = 0;
  std::map<std::string, std::vector<std::string>, std::less<>> ops_;
  std::map<std::string, edn::Value, std::less<>> last_;
  bool fail_saves_ = false, fail_removes_ = false;
  bool poison_next_ = false;
  std::optional<std::string> poisoned_;
};

// An Output that records what the runtime sends.
class RecordingOutput : public Output {
 public:
  void send(const std::vector<Fragment>& fragments) override;
  void close() override;

  std::vector<Fragment> fragments() const;
  std::size_t sends() const;
  bool closed() const;
  // Waits until some fragment's html contains `text`.
  bool wait_for_html(std::string_view text, std::chrono::milliseconds limit = kPatience);
  bool wait_closed(std::chrono::milliseconds limit = kPatience);
  bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = kPatience);
  bool has_html(std::string_view text) const;

 private:
  mutable std::mutex mu_;
  Notifier changed_;
  std::vector<Fragment> fragments_;
  std::size_t sends_ = 0;
  bool closed_ = false;
};

// The top instance id of a live conversation ("" when it is gone).
std::string runtime_top(const Runtime& rt, std::string_view cid);
// Dispatches `e` to the top frame of a live conversation.
Runtime::Result send_top(Runtime& rt, const Runtime::Minted& m, Event e);

}  // namespace stube::test
