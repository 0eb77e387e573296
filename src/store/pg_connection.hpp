// One libpq connection with its prepared statements, and the values that go
// in and out of them. Used by one thread at a time (see pg_pool.hpp).
//
// Every statement runs with binary parameters and results: bytea and text
// travel as raw bytes (no escaping of large EDN documents), integers as
// 8-byte big-endian words, timestamps as microseconds since 2000-01-01.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "stube/edn.hpp"
#include "stube/store.hpp"

namespace stube::store_detail::pg {

// The connection broke during a call (server restart, pg_terminate_backend,
// network): the caller may reconnect and retry.
class ConnectionLost : public StoreError {
 public:
  using StoreError::StoreError;
};

// A statement prepared on every connection. `types` are the parameter type
// OIDs, as in pg_type.
struct Statement {
  const char* name;
  const char* sql;
  std::initializer_list<unsigned> types;
};

// Type OIDs of the parameters we send (stable since PostgreSQL 7).
inline constexpr unsigned kBool = 16;
inline constexpr unsigned kBytea = 17;
inline constexpr unsigned kInt8 = 20;
inline constexpr unsigned kText = 25;
inline constexpr unsigned kTimestamptz = 1184;

// One parameter in binary format; a null `data` is SQL NULL. Borrowed bytes
// must outlive the call.
class Param {
 public:
  static Param null() { return Param(); }
  static Param bytes(std::string_view s) { return Param(s.data(), s.size()); }
  static Param int8(std::int64_t v);
  // Microseconds precision (nanoseconds are truncated toward the past).
  static Param timestamptz(edn::Instant t);

  const char* data() const noexcept { return owned_ ? word_ : borrowed_; }
  int length() const noexcept { return length_; }

 private:
  Param() = default;
  // libpq takes an int length: a larger value would be cut (the store's
  // record limit keeps saves far below this).
  Param(const char* data, std::size_t size)
      : borrowed_(data == nullptr ? "" : data), length_(checked_length(size)) {}
  static int checked_length(std::size_t size) {
    if (size > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      throw std::length_error("postgres store: a parameter of " + std::to_string(size) +
                              " bytes is over libpq's limit");
    return static_cast<int>(size);
  }

  const char* borrowed_ = nullptr;
  char word_[8] = {};
  bool owned_ = false;
  int length_ = 0;
};

// An owned PGresult with binary-format accessors.
class Result {
 public:
  explicit Result(PGresult* r) noexcept : r_(r) {}
  int rows() const noexcept { return PQntuples(r_.get()); }
  // Rows an INSERT/UPDATE/DELETE touched.
  std::int64_t affected() const;
  bool is_null(int row, int col) const noexcept { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view bytes(int row, int col) const noexcept;  // text or bytea
  std::int64_t int8(int row, int col) const noexcept;
  bool boolean(int row, int col) const noexcept;

 private:
  struct Clear {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> r_;
};

class Connection {
 public:
  // Connects, with a connect timeout and TCP keepalives unless `conninfo`,
  // the environment or a service sets them (see kDefaults in the .cpp).
  // Throws StoreError naming the database when it cannot, or giving libpq's
  // reason when it cannot parse `conninfo`.
  explicit Connection(const std::string& conninfo);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs a statement, preparing it on this connection first if needed
  // (statements refer to tables that may not exist before the schema is
  // created). Throws ConnectionLost when the connection broke, StoreError
  // (naming `what`) for any other failure.
  Result exec(const Statement& s, std::initializer_list<Param> params, std::string_view what);
  // Runs plain SQL without parameters (schema, transaction control).
  Result exec_sql(const char* sql, std::string_view what);

  // Ends an open transaction, ignoring failures: on a broken connection
  // there is nothing left to roll back.
  void rollback() noexcept;

  // False once the connection broke, or when it was left inside a
  // transaction: it must be reconnected (or dropped) before further use.
  bool usable() const noexcept;
  // Re-establishes a broken connection (its statements are prepared again
  // on first use).
  // Throws StoreError when the database cannot be reached.
  void reconnect();

  // "database stube on /tmp/pg:5432 as stube", for messages (no password:
  // every message, libpq's included, has the conninfo's password as "***").
  const std::string& description() const noexcept { return description_; }
  int backend_pid() const noexcept { return PQbackendPID(conn_.get()); }
  // The value of a libpq connection option in use ("connect_timeout"), as
  // the conninfo, the environment or stube's defaults set it; nothing when
  // unset.
  std::optional<std::string> option(std::string_view keyword) const;

 private:
  struct Finish {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
  };
  void prepare(const Statement& s);
  [[noreturn]] void fail(PGresult* r, std::string_view what);
  bool lost_connection(const PGresult* r) const noexcept;

  std::vector<std::string> secrets_;  // the password, as messages may quote it
  std::unique_ptr<PGconn, Finish> conn_;
  std::vector<const Statement*> prepared_;  // on this session
  bool broken_ = false;                     // a call found it lost; reconnect() mends it
  std::string description_;
};

// BEGIN now; ROLLBACK on destruction unless commit() ran.
class Transaction {
 public:
  Transaction(Connection& c, std::string_view what) : c_(c), what_(what) {
    c_.exec_sql("BEGIN", what_);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (!done_) c_.rollback();
  }
  void commit() {
    done_ = true;
    c_.exec_sql("COMMIT", what_);
  }

 private:
  Connection& c_;
  std::string_view what_;
  bool done_ = false;
};

}  // namespace stube::store_detail::pg
