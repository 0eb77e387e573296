// Lost connections and a database that is down: the store reconnects and
// retries once, and reports what it cannot do as a StoreError, never a crash.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "pg_support.hpp"
#include "store/support.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"

namespace stube::test {
namespace {

using edn::kw;
using edn::Value;

class PostgresConnection : public ::testing::Test {
 protected:
  TestDatabase db_;
};

TEST_F(PostgresConnection, ReconnectsAfterItsBackendIsTerminated) {
  auto store = db_.store({.pool_size = 2});
  Value c = store->save(conv::make("cv-rc").assoc(kw("n"), 0));
  auto admin = db_.sql();
  LogCapture capture;
  for (int round = 1; round <= 3; ++round) {
    ASSERT_GE(db_.terminate_others(*admin), 1) << "the store had no open connection";
    // The next call finds its connection dead, reconnects, and runs once
    // more: no StaleConversation from a retried save, no lost save.
    ASSERT_NO_THROW(c = store->save(c.assoc(kw("n"), round))) << "round " << round;
    ASSERT_EQ(c.get(Value::keyword("conv", "version")), Value(round + 1));
  }
  ASSERT_GE(db_.terminate_others(*admin), 1);
  EXPECT_EQ(store->load("cv-rc"), c);
  ASSERT_GE(db_.terminate_others(*admin), 1);
  EXPECT_EQ(store->load_all().size(), 1u);
  ASSERT_GE(db_.terminate_others(*admin), 1);
  EXPECT_NO_THROW(store->remove("cv-rc"));
  EXPECT_EQ(store->load("cv-rc"), std::nullopt);

  bool reported = false;
  for (const auto& w : capture.at(log::Level::warn))
    reported = reported || w.find("reconnecting and retrying once") != std::string::npos;
  EXPECT_TRUE(reported);
}

// A server restarted at once (pg_ctl -m immediate, as after a crash of any
// backend) tells its backends to go with a notice and closes them. libpq
// then reports the next call on an idle pooled connection with no SQLSTATE
// while the connection still says CONNECTION_OK; a lost connection all the
// same: the store reconnects and runs the call once more.
TEST_F(PostgresConnection, ReconnectsAfterAnImmediateServerRestart) {
  auto store = db_.store({.pool_size = 1});
  Value c = store->save(conv::make("cv-restart").assoc(kw("n"), 0));
  LogCapture capture;
  const auto restart = [] {
    pg_control("stop");
    pg_control("start");
  };
  restart();
  ASSERT_NO_THROW(c = store->save(c.assoc(kw("n"), 1)));
  restart();
  EXPECT_EQ(store->load("cv-restart"), c);
  restart();
  EXPECT_EQ(store->load_all().size(), 1u);
  restart();
  EXPECT_NO_THROW(store->remove("cv-restart"));
  EXPECT_EQ(store->load("cv-restart"), std::nullopt);
  std::size_t reported = 0;
  for (const auto& w : capture.at(log::Level::warn))
    if (w.find("reconnecting and retrying once") != std::string::npos) ++reported;
  EXPECT_EQ(reported, 4u);
}

TEST_F(PostgresConnection, ReconnectsUnderConcurrentUse) {
  constexpr int kThreads = 3;
  constexpr int kSaves = 200;
  auto store = db_.store({.pool_size = kThreads});
  auto admin = db_.sql();
  LogCapture quiet;
  std::vector<std::thread> threads;
  std::atomic<int> failed{0}, spurious_stale{0}, running{kThreads};
  // Halfway through, each worker waits for the first round of terminations:
  // at least one lands while the pool is in use, however the threads ran.
  std::atomic<bool> terminated_once{false};
  std::vector<int> saved(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string cid = "cv-conc-" + std::to_string(t);
      Value c = conv::make(cid);
      // A StoreError (the connection died twice in one call) leaves it open
      // whether the save landed; only then may the next save be stale.
      bool uncertain = false;
      for (int i = 0; i < kSaves; ++i) {
        if (i == kSaves / 2) terminated_once.wait(false);
        try {
          c = store->save(c.assoc(kw("i"), i));
          ++saved[static_cast<std::size_t>(t)];
          uncertain = false;
        } catch (const StaleConversation&) {
          if (!uncertain) ++spurious_stale;
          try {
            c = store->load(cid).value_or(c);
            uncertain = false;
          } catch (const StoreError&) {
            ++failed;
          }
        } catch (const StoreError&) {
          ++failed;
          uncertain = true;
        }
      }
      --running;
    });
  }
  int terminated = 0;
  do {
    terminated += db_.terminate_others(*admin);
    terminated_once = true;
    terminated_once.notify_all();
  } while (running > 0);
  for (auto& th : threads) th.join();
  EXPECT_EQ(spurious_stale.load(), 0) << "a retried save was taken for someone else's";
  EXPECT_GT(terminated, 0);
  const ConversationMap all = store->load_all();
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads));
  for (int t = 0; t < kThreads; ++t) {
    const Value& c = all.at("cv-conc-" + std::to_string(t));
    EXPECT_GE(c.get(Value::keyword("conv", "version")).as_int(),
              saved[static_cast<std::size_t>(t)]);
    EXPECT_NO_THROW(store->save(c)) << "the store is usable afterwards";
  }
  RecordProperty("terminated", terminated);
  RecordProperty("failed_calls", failed.load());
}

TEST_F(PostgresConnection, ADownDatabaseIsAStoreErrorAndTheStoreRecovers) {
  auto store = db_.store({.pool_size = 2});
  const Value saved = store->save(conv::make("cv-down"));
  {
    LogCapture quiet;
    ServerStopped down;
    try {
      store->save(saved);
      FAIL() << "a save went through with the server down";
    } catch (const StaleConversation& e) {
      FAIL() << "a down database is not a stale conversation: " << e.what();
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find("database " + db_.name()), std::string::npos)
          << e.what();
    }
    EXPECT_THROW(store->save(conv::make("cv-new")), StoreError);
    EXPECT_THROW(store->load("cv-down"), StoreError);
    EXPECT_THROW(store->load_all(), StoreError);
    EXPECT_THROW(store->remove("cv-down"), StoreError);
    EXPECT_THROW(store->reap(edn::Instant::now(), 10), StoreError);
    EXPECT_THROW(db_.store(), StoreError);
    down.start();
  }
  // The same store works again once the server is back.
  EXPECT_EQ(store->load("cv-down"), saved);
  const Value next = store->save(saved.assoc(kw("after"), true));
  EXPECT_EQ(next.get(Value::keyword("conv", "version")), Value(2));
  EXPECT_EQ(db_.store()->load("cv-down"), next);
}

}  // namespace
}  // namespace stube::test
