// Test support for the PostgreSQL store: the server that
// tests/postgres/with_postgres.sh started, a fresh database per test, and a
// plain libpq connection for set-up and inspection (raw SQL, advisory
// locks, terminating the store's connections).
//
// The server is found through STUBE_PG_CONNINFO. When it is missing every
// test FAILS (never skips): run the binary through the wrapper, as ctest
// does:  bash tests/postgres/with_postgres.sh build/tests/stube_pg_tests
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stube/postgres_store.hpp"
#include "stube/store.hpp"

struct pg_conn;

namespace stube::test {

// The environment the wrapper exports; each throws std::runtime_error
// (a test failure) when it is missing.
std::string pg_conninfo();  // keyword form over the Unix socket
std::string pg_url();       // URI form over TCP
// Stops or starts the server ("stop" / "start"); throws when it fails.
void pg_control(std::string_view action);

// Stops the server for a scope and restarts it at the end, also when the
// test failed; start() restarts it earlier.
struct ServerStopped {
  ServerStopped() { pg_control("stop"); }
  ~ServerStopped() {
    if (!restarted) pg_control("start");
  }
  ServerStopped(const ServerStopped&) = delete;
  ServerStopped& operator=(const ServerStopped&) = delete;
  void start() {
    pg_control("start");
    restarted = true;
  }
  bool restarted = false;
};

// A plain connection. Every failure throws std::runtime_error with the
// server's message.
class Sql {
 public:
  explicit Sql(const std::string& conninfo);
  ~Sql();
  Sql(const Sql&) = delete;
  Sql& operator=(const Sql&) = delete;

  using Row = std::vector<std::optional<std::string>>;  // text format; nullopt is NULL
  std::vector<Row> rows(const std::string& sql);
  // The first column of the first row ("" for NULL); throws when there is none.
  std::string one(const std::string& sql);
  void run(const std::string& sql) { rows(sql); }
  int backend_pid() const;

 private:
  pg_conn* conn_;
};

// A database of its own for one test (or one conformance scratch
// directory), created in the constructor and dropped in the destructor.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const noexcept { return name_; }
  std::string conninfo() const;  // pg_conninfo() with this dbname
  std::string url() const;       // pg_url() with this database
  std::shared_ptr<ConversationStore> store(PostgresStoreOptions options = {}) const;
  std::unique_ptr<Sql> sql() const { return std::make_unique<Sql>(conninfo()); }
  // Terminates every connection to this database except `keep`'s (the
  // store's connections, as after a server-side disconnect); returns how many.
  int terminate_others(const Sql& keep) const;

 private:
  std::string name_;
};

}  // namespace stube::test
