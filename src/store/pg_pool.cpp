#include "store/pg_pool.hpp"

#include <algorithm>

namespace stube::store_detail::pg {

namespace {

constexpr std::chrono::milliseconds kLongestWait = std::chrono::days(365);

// "30 s" or "250 ms", as a timeout was most likely given.
std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

}  // namespace

Pool::Pool(std::string conninfo, std::size_t size, std::chrono::milliseconds timeout)
    : conninfo_(std::move(conninfo)),
      size_(std::max<std::size_t>(size, 1)),
      timeout_(std::clamp(timeout, std::chrono::milliseconds(0), kLongestWait)),
      description_("database " + redact_store_url(conninfo_)) {}

Pool::Lease Pool::acquire() {
  {
    std::unique_lock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    if (!returned_.wait_until(lock, deadline, [&] { return !idle_.empty() || open_ < size_; })) {
      exhausted();
    }
    if (!idle_.empty()) {
      std::unique_ptr<Connection> c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(c));
    }
    ++open_;  // reserve the slot; connect outside the lock
  }
  try {
    auto c = std::make_unique<Connection>(conninfo_);
    std::lock_guard lock(mu_);
    description_ = c->description();
    return Lease(*this, std::move(c));
  } catch (...) {
    std::lock_guard lock(mu_);
    --open_;
    returned_.notify_one();
    throw;
  }
}

// Called with mu_ held. A StoreError, like a database that cannot be
// reached: the caller (the runtime) logs it and carries on.
void Pool::exhausted() const {
  const std::string connections =
      size_ == 1 ? "the one connection" : "all " + std::to_string(size_) + " connections";
  throw StoreError("postgres store: no connection to " + description_ + " came free: " +
                   connections + " busy (or still connecting) for " + duration_text(timeout_) +
                   " (slow or hung statements? raise pool_size or acquire_timeout)");
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
