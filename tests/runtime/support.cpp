#include "runtime/support.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>

namespace stube::test {

namespace fs = std::filesystem;

// --- Notifier -----------------------------------------------------------------------

void Notifier::bump() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

bool Notifier::wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::unique_lock lock(mu_);
  for (;;) {
    const std::uint64_t seen = generation_;
    lock.unlock();  // pred takes the watched object's own lock
    if (pred()) return true;
    lock.lock();
    if (!cv_.wait_until(lock, deadline, [&] { return generation_ != seen; })) {
      lock.unlock();
      return pred();
    }
  }
}

// --- CountingStore ---------------------------------------------------------------

CountingStore::CountingStore(std::shared_ptr<ConversationStore> inner) : inner_(std::move(inner)) {}

ConversationMap CountingStore::load_all() {
  ConversationMap all = inner_ ? inner_->load_all() : ConversationMap{};
  std::lock_guard lock(mu_);
  ++loads_;
  changed_.bump();
  return all;
}

edn::Value CountingStore::save(const edn::Value& conv) {
  const std::string cid(conv::id(conv));
  {
    std::lock_guard lock(mu_);
    if (poison_next_) {
      poisoned_ = cid;
      poison_next_ = false;
    }
    if (fail_saves_ || poisoned_ == cid) {
      ops_[cid].push_back("failed save");
      changed_.bump();
      throw StoreError("counting store: save " + cid + ": injected failure");
    }
  }
  edn::Value out = inner_ ? inner_->save(conv) : conv;
  std::lock_guard lock(mu_);
  ++saves_;
  ops_[cid].push_back("save");
  last_[cid] = conv;
  changed_.bump();
  return out;
}

void CountingStore::remove(std::string_view cid) {
  {
    std::lock_guard lock(mu_);
    if (fail_removes_) {
      ops_[std::string(cid)].push_back("failed remove");
      changed_.bump();
      throw StoreError("counting store: remove " + std::string(cid) + ": injected failure");
    }
  }
  if (inner_) inner_->remove(cid);
  std::lock_guard lock(mu_);
  ops_[std::string(cid)].push_back("remove");
  changed_.bump();
}

std::size_t CountingStore::load_calls() const {
  std::lock_guard lock(mu_);
  return loads_;
}

std::size_t CountingStore::saves() const {
  std::lock_guard lock(mu_);
  return saves_;
}

std::size_t CountingStore::saves(std::string_view cid) const {
  std::lock_guard lock(mu_);
  auto it = ops_.find(cid);
  if (it == ops_.end()) return 0;
  return static_cast<std::size_t>(std::count(it->second.begin(), it->second.end(), "save"));
}

std::size_t CountingStore::removes(std::string_view cid) const {
  std::lock_guard lock(mu_);
  auto it = ops_.find(cid);
  if (it == ops_.end()) return 0;
  return static_cast<std::size_t>(std::count(it->second.begin(), it->second.end(), "remove"));
}

std::optional<edn::Value> CountingStore::last_saved(std::string_view cid) const {
  std::lock_guard lock(mu_);
  auto it = last_.find(cid);
  if (it == last_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> CountingStore::ops(std::string_view cid) const {
  std::lock_guard lock(mu_);
  auto it = ops_.find(cid);
  return it == ops_.end() ? std::vector<std::string>{} : it->second;
}

void CountingStore::fail_saves(bool on) {
  std::lock_guard lock(mu_);
  fail_saves_ = on;
}

void CountingStore::poison_next_save() {
  std::lock_guard lock(mu_);
  poison_next_ = true;
}

std::optional<std::string> CountingStore::poisoned() const {
  std::lock_guard lock(mu_);
  return poisoned_;
}

void CountingStore::fail_removes(bool on) {
  std::lock_guard lock(mu_);
  fail_removes_ = on;
}

bool CountingStore::wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  return changed_.wait_until(pred, limit);
}

// --- RecordingOutput -------------------------------------------------------------

void RecordingOutput::send(const std::vector<Fragment>& fragments) {
  std::lock_guard lock(mu_);
  fragments_.insert(fragments_.end(), fragments.begin(), fragments.end());
  ++sends_;
  changed_.bump();
}

void RecordingOutput::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  changed_.bump();
}

std::vector<Fragment> RecordingOutput::fragments() const {
  std::lock_guard lock(mu_);
  return fragments_;
}

std::size_t RecordingOutput::sends() const {
  std::lock_guard lock(mu_);
  return sends_;
}

bool RecordingOutput::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

bool RecordingOutput::has_html(std::string_view text) const {
  std::lock_guard lock(mu_);
  for (const Fragment& f : fragments_)
    if (contains(f.html, text)) return true;
  return false;
}

bool RecordingOutput::wait_until(const std::function<bool()>& pred,
                                 std::chrono::milliseconds limit) {
  return changed_.wait_until(pred, limit);
}

bool RecordingOutput::wait_for_html(std::string_view text, std::chrono::milliseconds limit) {
  return wait_until([&] { return has_html(text); }, limit);
}

bool RecordingOutput::wait_closed(std::chrono::milliseconds limit) {
  return wait_until([&] { return closed(); }, limit);
}

// --- helpers -------------------------------------------------------------------------

std::string runtime_top(const Runtime& rt, std::string_view cid) {
  const auto conv = rt.conversation(cid);
  return conv ? std::string(top_instance(*conv)) : std::string();
}

Runtime::Result send_top(Runtime& rt, const Runtime::Minted& m, Event e) {
  return rt.dispatch(m.cid, runtime_top(rt, m.cid), std::move(e), m.owner);
}

}  // namespace stube::test
