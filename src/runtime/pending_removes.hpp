// Ended conversations whose store remove failed. Internal to the runtime.
//
// The store still holds such a conversation, so a load-on-miss or a restart
// would bring it back: the runtime asks contains() before it loads, and the
// removes are retried in rounds on the timer thread (RetryRounds: 1 s, then
// doubling up to a minute) until the store takes them all, and once more at
// shutdown.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "runtime/retry_rounds.hpp"
#include "runtime/timers.hpp"
#include "stube/store.hpp"

namespace stube::detail {

// store.remove(cid); why it failed, or nothing when it worked.
std::optional<std::string> try_remove(ConversationStore& store, const std::string& cid);

class PendingRemoves {
 public:
  // Enough for a long outage of a busy server (some MiB of cids), and a
  // bound on what one can cost a small device.
  static constexpr std::size_t kDefaultLimit = 100'000;

  // Both must outlive this; `timers` is stopped before it is destroyed.
  PendingRemoves(ConversationStore& store, TimerQueue& timers, std::size_t limit = kDefaultLimit)
      : store_(store), limit_(limit), rounds_(timers, [this] { return retry("on retry"); }) {}

  // After a remove of cid failed (`why`, logged): remembers cid and books a
  // retry round unless one is booked. False when `limit` cids wait already:
  // cid is not remembered, so it may be loaded back like any stored
  // conversation.
  bool add(const std::string& cid, const std::string& why);
  bool contains(std::string_view cid) const;
  // One round now, stopping at the first remove that still fails (the store
  // is still down, and each attempt may wait for its timeouts). `when` is
  // for the log ("on retry", "at shutdown"). True when none is left.
  bool retry(const char* when);

 private:
  ConversationStore& store_;
  const std::size_t limit_;
  mutable std::mutex mu_;
  std::set<std::string, std::less<>> cids_;
  RetryRounds rounds_;
};

}  // namespace stube::detail
