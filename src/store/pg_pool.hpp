// A small pool of PostgreSQL connections: each operation leases one for
// its duration, so a connection is only ever used by one thread at a time
// (libpq's rule) while up to `size` operations run in parallel. Connections
// open lazily; a broken one is dropped when returned and a fresh one opened
// on demand. A caller waits a bounded time for a connection: a database that
// hangs holds every leased connection, and callers must not pile up behind
// them for ever.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/pg_connection.hpp"

namespace stube::store_detail::pg {

class Pool {
 public:
  // A timeout beyond a year is taken as a year (a steady_clock deadline
  // must not overflow).
  Pool(std::string conninfo, std::size_t size, std::chrono::milliseconds timeout);

  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> c) : pool_(&pool), c_(std::move(c)) {}
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (c_) pool_->give_back(std::move(c_));
    }
    Connection& operator*() const noexcept { return *c_; }
    Connection* operator->() const noexcept { return c_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> c_;
  };

  // An idle connection, a new one while fewer than `size` are open, or the
  // next one returned within `timeout`. Throws StoreError when a new one
  // cannot connect, or when all `size` stay leased for `timeout`.
  Lease acquire();

 private:
  void give_back(std::unique_ptr<Connection> c) noexcept;
  [[noreturn]] void exhausted() const;

  const std::string conninfo_;
  const std::size_t size_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;     // idle + leased
  std::string description_;  // the database, for messages (set by the first connection)
};

}  // namespace stube::store_detail::pg
