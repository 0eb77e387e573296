#include "store/pg_pool.hpp"

#include <algorithm>

namespace stube::store_detail::pg {

Pool::Pool(std::string conninfo, std::size_t size)
    : conninfo_(std::move(conninfo)), size_(std::max<std::size_t>(size, 1)) {}

Pool::Lease Pool::acquire() {
  {
    std::unique_lock lock(mu_);
    returned_.wait(lock, [&] { return !idle_.empty() || open_ < size_; });
    if (!idle_.empty()) {
      std::unique_ptr<Connection> c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(c));
    }
    ++open_;  // reserve the slot; connect outside the lock
  }
  try {
    return Lease(*this, std::make_unique<Connection>(conninfo_));
  } catch (...) {
    std::lock_guard lock(mu_);
    --open_;
    returned_.notify_one();
    throw;
  }
}

void Pool::give_back(std::unique_ptr<Connection> c) noexcept {
  c->rollback();  // an operation that threw may have left a transaction open
  std::lock_guard lock(mu_);
  if (c->usable()) {
    idle_.push_back(std::move(c));
  } else {
    --open_;  // broken: closed here, reopened on demand
  }
  returned_.notify_one();
}

}  // namespace stube::store_detail::pg
