// A database that hangs or goes away must not hang the store: a caller
// waits a bounded time for a pooled connection, and connections default to
// a connect timeout and TCP keepalives, unless the user set them.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>

#include "pg_support.hpp"
#include "store/pg_connection.hpp"
#include "stube/conversation.hpp"

namespace stube::test {
namespace {

using namespace std::chrono_literals;
using edn::Value;
using store_detail::pg::Connection;

const Value kVersion = Value::keyword("conv", "version");

// Another session holding a conversation's row locked, so that a save of
// it waits (holding the store's connection) until release().
class RowLock {
 public:
  RowLock(const TestDatabase& db, const std::string& cid) : holder_(db.sql()), admin_(db.sql()) {
    holder_->run("BEGIN");
    holder_->run("SELECT 1 FROM stube_conversations WHERE cid = '" + cid + "' FOR UPDATE");
  }
  ~RowLock() { release(); }
  RowLock(const RowLock&) = delete;
  RowLock& operator=(const RowLock&) = delete;

  // Whether another session waits for the lock within 10 s. Polled, as
  // the server has no way to wait for a waiter; each poll is a fresh
  // transaction, so it sees a fresh pg_stat_activity.
  bool awaited() {
    const std::string query = "SELECT count(*) FROM pg_stat_activity WHERE " +
                              std::to_string(holder_->backend_pid()) +
                              " = ANY(pg_blocking_pids(pid))";
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (admin_->one(query) == "0") {
      if (std::chrono::steady_clock::now() > deadline) return false;
    }
    return true;
  }
  void release() {
    if (!released_) holder_->run("ROLLBACK");
    released_ = true;
  }

 private:
  std::unique_ptr<Sql> holder_;
  std::unique_ptr<Sql> admin_;
  bool released_ = false;
};

// With its one connection held by a save that waits on a row lock, a load
// from `store` fails after its acquire timeout with a StoreError naming
// the database and `busy` ("the one connection busy (or still connecting) for 200 ms"); the
// held save completes once the lock goes.
void expect_acquire_timeout(const TestDatabase& db, ConversationStore& store,
                            const std::string& busy, std::chrono::milliseconds timeout) {
  const Value saved = store.save(conv::make("cv-held"));
  std::future<Value> held;
  std::future<void> waiting;
  RowLock lock(db, "cv-held");  // released before the futures wait
  held = std::async(std::launch::async, [&] { return store.save(saved); });
  ASSERT_TRUE(lock.awaited()) << "the save never waited for the row lock";
  const auto start = std::chrono::steady_clock::now();
  waiting = std::async(std::launch::async, [&] { store.load("cv-held"); });
  ASSERT_EQ(waiting.wait_for(timeout + 10s), std::future_status::ready)
      << "still waiting for a connection";
  const auto waited = std::chrono::steady_clock::now() - start;
  try {
    waiting.get();
    ADD_FAILURE() << "loaded while the only connection was held";
  } catch (const StoreError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("database " + db.name() + " on "), std::string::npos) << what;
    EXPECT_NE(what.find(busy), std::string::npos) << what;
  }
  EXPECT_GE(waited, timeout);
  lock.release();
  EXPECT_EQ(held.get().get(kVersion), Value(2));
  EXPECT_EQ(store.load("cv-held")->get(kVersion), Value(2)) << "the pool works again";
}

class PostgresTimeouts : public ::testing::Test {
 protected:
  TestDatabase db_;
};

TEST_F(PostgresTimeouts, AnOperationWaitsForABusyPoolOnlyUntilItsAcquireTimeout) {
  auto store = db_.store({.pool_size = 1, .acquire_timeout = 200ms});
  expect_acquire_timeout(db_, *store, "the one connection busy (or still connecting) for 200 ms",
                         200ms);
}

TEST_F(PostgresTimeouts, TheUrlSetsTheAcquireTimeoutInSeconds) {
  auto store = open_store(db_.url() + "?pool_size=1&acquire_timeout=1");
  expect_acquire_timeout(db_, *store, "the one connection busy (or still connecting) for 1 s", 1s);
}

// Sets an environment variable for a scope (the tests run one at a time).
struct ScopedEnv {
  ScopedEnv(const char* name, const std::string& value) : name(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name); }
  const char* name;
};

TEST_F(PostgresTimeouts, ConnectionsDefaultToAConnectTimeoutAndKeepalives) {
  for (const std::string& conninfo : {db_.conninfo(), db_.url()}) {
    const Connection c(conninfo);
    EXPECT_EQ(c.option("connect_timeout"), "10") << conninfo;
    EXPECT_EQ(c.option("keepalives"), "1") << conninfo;
    EXPECT_EQ(c.option("keepalives_idle"), "30") << conninfo;
    EXPECT_EQ(c.option("keepalives_interval"), "10") << conninfo;
    EXPECT_EQ(c.option("keepalives_count"), "3") << conninfo;
    EXPECT_EQ(c.option("tcp_user_timeout"), "60000") << conninfo;
    EXPECT_EQ(c.option("dbname"), db_.name()) << conninfo;
    EXPECT_EQ(c.option("fallback_application_name"), "stube") << conninfo;
  }
}

TEST_F(PostgresTimeouts, WhatTheUserSetWinsOverTheDefaults) {
  const Connection keywords(db_.conninfo() + " connect_timeout=3 keepalives_idle=5");
  EXPECT_EQ(keywords.option("connect_timeout"), "3");
  EXPECT_EQ(keywords.option("keepalives_idle"), "5");
  EXPECT_EQ(keywords.option("keepalives_count"), "3") << "the rest still default";

  const Connection named(db_.conninfo() + " fallback_application_name=mine");
  EXPECT_EQ(named.option("fallback_application_name"), "mine");

  const Connection uri(db_.url() + "?connect_timeout=4&keepalives=0");
  EXPECT_EQ(uri.option("connect_timeout"), "4");
  EXPECT_EQ(uri.option("keepalives"), "0");
  {
    const ScopedEnv env("PGCONNECT_TIMEOUT", "7");
    EXPECT_EQ(Connection(db_.conninfo()).option("connect_timeout"), "7");
    EXPECT_EQ(Connection(db_.conninfo() + " connect_timeout=2").option("connect_timeout"), "2");
  }
  // A service's settings are libpq's to read: with one, no default applies.
  const auto file = std::filesystem::temp_directory_path() / ("stube-" + db_.name() + ".conf");
  std::ofstream(file) << "[stube_test]\nconnect_timeout=6\n";
  {
    const ScopedEnv env("PGSERVICEFILE", file.string());
    const Connection service(db_.conninfo() + " service=stube_test");
    EXPECT_EQ(service.option("connect_timeout"), "6");
    EXPECT_EQ(service.option("keepalives"), std::nullopt);
  }
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace stube::test
