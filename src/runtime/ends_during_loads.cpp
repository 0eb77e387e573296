#include "runtime/ends_during_loads.hpp"

namespace stube::detail {

EndsDuringLoads::Ticket EndsDuringLoads::load_started() {
  loads_.insert(ends_);
  return ends_;
}

void EndsDuringLoads::load_finished(Ticket ticket) {
  loads_.erase(loads_.find(ticket));
  // No load still in flight can have started before an end numbered at
  // most the oldest ticket left: those ends concern none of them.
  forget_older_than(loads_.empty() ? ends_ + 1 : *loads_.begin() + 1);
}

void EndsDuringLoads::ended(const std::string& cid) {
  ++ends_;
  if (loads_.empty()) return;  // no load can have read it before it ended
  by_end_.emplace(ends_, cid);
  by_cid_[cid] = ends_;
}

bool EndsDuringLoads::ended_since(std::string_view cid, Ticket ticket) const {
  const auto it = by_cid_.find(std::string(cid));
  return it != by_cid_.end() && it->second > ticket;
}

void EndsDuringLoads::forget_older_than(Ticket oldest) {
  auto it = by_end_.begin();
  for (; it != by_end_.end() && it->first < oldest; ++it) {
    const auto c = by_cid_.find(it->second);
    if (c != by_cid_.end() && c->second == it->first) by_cid_.erase(c);
  }
  by_end_.erase(by_end_.begin(), it);
}

}  // namespace stube::detail
