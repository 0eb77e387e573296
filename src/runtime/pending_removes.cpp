#include "runtime/pending_removes.hpp"

#include <algorithm>
#include <vector>

#include "stube/log.hpp"

namespace stube::detail {

namespace {

// "a, b, c and 7 more".
std::string listed(const std::vector<std::string>& cids) {
  constexpr std::size_t kShown = 3;
  std::string out;
  for (std::size_t i = 0; i < cids.size() && i < kShown; ++i)
    out.append(i ? ", " : "").append(cids[i]);
  if (cids.size() > kShown) out += " and " + std::to_string(cids.size() - kShown) + " more";
  return out;
}

}  // namespace

std::optional<std::string> try_remove(ConversationStore& store, const std::string& cid) {
  try {
    store.remove(cid);
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string(e.what());
  } catch (...) {
    return std::string("it threw something that is not a std::exception");
  }
}

bool PendingRemoves::add(const std::string& cid, const std::string& why) {
  {
    std::lock_guard lock(mu_);
    if (cids_.size() >= limit_) {
      log::error("store remove failed for " + cid + ": " + why + "; " + std::to_string(limit_) +
                 " ended conversations wait for theirs already: it is not retried, and stays in "
                 "the store until removed by hand");
      return false;
    }
    log::error("store remove failed for " + cid + ": " + why + "; retrying later");
    cids_.insert(cid);
  }
  rounds_.request();
  return true;
}

bool PendingRemoves::contains(std::string_view cid) const {
  std::lock_guard lock(mu_);
  return cids_.contains(cid);
}

bool PendingRemoves::retry(const char* when) {
  std::vector<std::string> cids;
  {
    std::lock_guard lock(mu_);
    cids.assign(cids_.begin(), cids_.end());
  }
  std::vector<std::string> removed;
  for (const std::string& cid : cids) {
    if (auto why = try_remove(store_, cid)) {
      log::error("store remove still failing " + std::string(when) + " (" + cid + ": " + *why +
                 "); " + std::to_string(cids.size() - removed.size()) +
                 " ended conversation(s) left in the store");
      break;
    }
    removed.push_back(cid);
    std::lock_guard lock(mu_);
    cids_.erase(cid);
  }
  if (!removed.empty())
    log::info("removed " + std::to_string(removed.size()) +
              " ended conversation(s) from the store " + when + ": " + listed(removed));
  return removed.size() == cids.size();
}

}  // namespace stube::detail
