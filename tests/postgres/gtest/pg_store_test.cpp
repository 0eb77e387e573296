// The PostgreSQL store against a real server: compare-and-set, delete wins,
// load-on-miss, unreadable rows, the reaper and its lock, tombstone purging,
// the schema, open_store URLs, concurrent writers of one conversation.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <limits>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "pg_proxy.hpp"
#include "pg_support.hpp"
#include "store/pg_schema.hpp"
#include "store/support.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"

namespace stube::test {
namespace {

using edn::kw;
using edn::Value;

const Value kVersion = Value::keyword("conv", "version");

class PostgresStore : public ::testing::Test {
 protected:
  // Who saved it on which version, for messages.
  static std::string what(const StaleConversation& e) { return e.what(); }

  TestDatabase db_;
};

// A conversation last touched `seconds_ago` seconds before now.
Value idle_for(std::string_view cid, std::int64_t seconds_ago) {
  return conv::make(cid, edn::Instant{edn::Instant::now().seconds - seconds_ago, 0});
}

edn::Instant seconds_ago(std::int64_t s) {
  return {edn::Instant::now().seconds - s, 0};
}

TEST_F(PostgresStore, SaveIsACompareAndSetOnTheVersion) {
  auto store = db_.store();
  const Value v0 = conv::make("cv-cas").assoc(kw("n"), 0);
  const Value v1 = store->save(v0);
  EXPECT_EQ(v1.get(kVersion), Value(1));

  // The copy we had before that save is stale now.
  try {
    store->save(v0.assoc(kw("n"), 99));
    FAIL() << "a save on an old version went through";
  } catch (const StaleConversation& e) {
    EXPECT_NE(what(e).find("\"cv-cas\""), std::string::npos) << e.what();
    EXPECT_NE(what(e).find("stored :conv/version is 1"), std::string::npos) << e.what();
  }
  const Value v2 = store->save(v1.assoc(kw("n"), 1));
  EXPECT_EQ(v2.get(kVersion), Value(2));
  EXPECT_THROW(store->save(v1.assoc(kw("n"), 98)), StaleConversation);
  EXPECT_THROW(store->save(v2.assoc(kVersion, 7)), StaleConversation);  // from the future
  EXPECT_EQ(db_.store()->load("cv-cas"), v2);
  EXPECT_EQ(db_.store()->load("cv-cas")->get(kw("n")), Value(1));
}

TEST_F(PostgresStore, AStaleSaveWritesNothing) {
  auto a = db_.store();
  auto b = db_.store();
  const Value mine = a->save(conv::make("cv-two").assoc(kw("by"), "a"));
  const Value theirs = b->save(*b->load("cv-two"));  // b saved on top: version 2
  EXPECT_THROW(a->save(mine.assoc(kw("by"), "a-again")), StaleConversation);
  EXPECT_EQ(a->load("cv-two"), theirs);
  EXPECT_EQ(db_.sql()->one("SELECT version FROM stube_conversations WHERE cid = 'cv-two'"), "2");
}

TEST_F(PostgresStore, ANewConversationCannotReplaceAnExistingOne) {
  auto store = db_.store();
  store->save(conv::make("cv-taken").assoc(kw("first"), true));
  try {
    store->save(conv::make("cv-taken"));  // no :conv/version: a new conversation
    FAIL() << "a second new conversation with the same id replaced the first";
  } catch (const StaleConversation& e) {
    EXPECT_NE(what(e).find("none (a new conversation)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store->load("cv-taken")->get(kw("first")), Value(true));
}

TEST_F(PostgresStore, DeleteWins) {
  auto a = db_.store();
  auto b = db_.store();
  a->save(conv::make("cv-end"));
  const Value b_copy = *b->load("cv-end");
  a->remove("cv-end");
  try {
    b->save(b_copy.assoc(kw("late"), true));
    FAIL() << "a late save brought a removed conversation back";
  } catch (const StaleConversation& e) {
    EXPECT_NE(what(e).find("removed"), std::string::npos) << e.what();
  }
  EXPECT_EQ(a->load("cv-end"), std::nullopt);
  EXPECT_EQ(b->load("cv-end"), std::nullopt);
  EXPECT_FALSE(b->load_all().contains("cv-end"));
  EXPECT_NO_THROW(b->remove("cv-end"));  // idempotent, from any process
  // Not even as a "new" conversation.
  EXPECT_THROW(b->save(conv::make("cv-end")), StaleConversation);
  EXPECT_EQ(a->load("cv-end"), std::nullopt);
}

// remove_current, for an end a copy's step asked for: only the copy of the
// stored version ends it; an older one is stale and removes nothing.
TEST_F(PostgresStore, RemoveCurrentEndsOnlyTheStoredVersion) {
  auto a = db_.store();
  auto b = db_.store();
  const Value old_copy = a->save(conv::make("cv-cur"));               // version 1
  const Value newer = b->save(b->load("cv-cur")->assoc(kw("n"), 1));  // version 2
  try {
    a->remove_current(old_copy);
    FAIL() << "an old copy ended the conversation";
  } catch (const StaleConversation& e) {
    EXPECT_NE(what(e).find("\"cv-cur\" was not ended: the stored :conv/version is 2 but this "
                           "copy has 1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(a->load("cv-cur"), newer);
  a->remove_current(newer);
  EXPECT_EQ(b->load("cv-cur"), std::nullopt);
  EXPECT_NO_THROW(a->remove_current(old_copy)) << "removed already: the end stands";
  EXPECT_THROW(b->save(newer), StaleConversation);  // delete wins
  // Never saved: a tombstone, as remove() leaves.
  b->remove_current(conv::make("cv-never"));
  EXPECT_THROW(b->save(conv::make("cv-never")), StaleConversation);
}

TEST_F(PostgresStore, RemovingANeverSavedIdKeepsItOut) {
  auto store = db_.store();
  store->remove("cv-ghost");
  EXPECT_THROW(store->save(conv::make("cv-ghost")), StaleConversation);
  EXPECT_TRUE(store->load_all().empty());
}

TEST_F(PostgresStore, LoadFetchesOneConversationOnDemand) {
  const Value saved = db_.store()->save(varied_conversation("cv-miss", 7));
  auto other = db_.store();  // another process: never saw it
  EXPECT_EQ(other->load("cv-miss"), saved);
  EXPECT_EQ(other->load("cv-unknown"), std::nullopt);
  EXPECT_THROW(other->load("../etc"), InvalidCid);
  EXPECT_THROW(other->load(""), InvalidCid);
}

TEST_F(PostgresStore, UnreadableRowsAreSkippedWithAWarningNamingThem) {
  auto store = db_.store();
  store->save(conv::make("cv-good"));
  auto sql = db_.sql();
  const std::string insert = "INSERT INTO stube_conversations (cid, edn, version, touched) VALUES ";
  sql->run(insert +
           "('cv-broken', convert_to('{:conv/id \"cv-broken\" :x [1 2', 'UTF8'), 1, now())");
  sql->run(insert + "('cv-vector', convert_to('[:conv/id \"cv-vector\"]', 'UTF8'), 1, now())");
  sql->run(insert + "('cv-other', convert_to('{:conv/id \"cv-good\"}', 'UTF8'), 1, now())");
  LogCapture capture;
  const ConversationMap all = store->load_all();
  EXPECT_EQ(all.size(), 1u);
  EXPECT_TRUE(all.contains("cv-good"));
  const auto warnings = capture.at(log::Level::warn);
  ASSERT_EQ(warnings.size(), 3u);
  std::string joined;
  for (const auto& w : warnings) joined += w + "\n";
  EXPECT_NE(joined.find("\"cv-broken\" in database " + db_.name()), std::string::npos) << joined;
  EXPECT_NE(joined.find("not valid EDN"), std::string::npos) << joined;
  EXPECT_NE(joined.find("\"cv-vector\""), std::string::npos) << joined;
  EXPECT_NE(joined.find("\"cv-other\""), std::string::npos) << joined;
  capture.clear();
  EXPECT_EQ(store->load("cv-broken"), std::nullopt);
  ASSERT_EQ(capture.at(log::Level::warn).size(), 1u);
  // Left untouched.
  EXPECT_EQ(sql->one("SELECT count(*) FROM stube_conversations WHERE deleted_at IS NULL"), "4");
}

// As the SQLite and file stores do: a row another program wrote under a cid
// the runtime could never address is skipped, not loaded.
TEST_F(PostgresStore, RowsWhoseCidIsNotAValidIdAreSkippedWithAWarning) {
  auto store = db_.store();
  store->save(conv::make("cv-good"));
  auto sql = db_.sql();
  sql->run(
      "INSERT INTO stube_conversations (cid, edn, version, touched) VALUES "
      "('bad cid', convert_to('{:conv/id \"bad cid\"}', 'UTF8'), 1, now())");
  LogCapture capture;
  const ConversationMap all = store->load_all();
  EXPECT_EQ(all.size(), 1u);
  EXPECT_TRUE(all.contains("cv-good"));
  const auto warnings = capture.at(log::Level::warn);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("\"bad cid\""), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("the row's cid is not a valid conversation id"), std::string::npos)
      << warnings[0];
  EXPECT_EQ(sql->one("SELECT count(*) FROM stube_conversations WHERE cid = 'bad cid'"), "1");
}

TEST_F(PostgresStore, TheVersionMustBeANonNegativeInteger) {
  auto store = db_.store();
  EXPECT_THROW(store->save(conv::make("cv-v").assoc(kVersion, "3")), InvalidCid);
  EXPECT_THROW(store->save(conv::make("cv-v").assoc(kVersion, -1)), InvalidCid);
  EXPECT_THROW(store->save(conv::make("cv-v").assoc(kVersion, 1.0)), InvalidCid);
  EXPECT_EQ(store->save(conv::make("cv-v").assoc(kVersion, nullptr)).get(kVersion), Value(1));
}

// The next version must fit the bigint column: a conversation at the
// largest one is bad data, refused before anything is sent.
TEST_F(PostgresStore, TheLargestVersionCannotBeSavedAgain) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  auto store = db_.store();
  try {
    store->save(conv::make("cv-max").assoc(kVersion, kMax));
    FAIL() << "saved a conversation at version " << kMax;
  } catch (const InvalidCid& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(kMax)), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nothing was saved"), std::string::npos) << e.what();
  }
  // Reached by saving: the version before the last still saves once.
  db_.sql()->run(
      "INSERT INTO stube_conversations (cid, edn, version, touched) VALUES "
      "('cv-max', convert_to('{:conv/id \"cv-max\"}', 'UTF8'), " +
      std::to_string(kMax - 1) + ", now())");
  const Value last = store->save(*store->load("cv-max"));
  EXPECT_EQ(last.get(kVersion), Value(kMax));
  EXPECT_THROW(store->save(last), InvalidCid);
  EXPECT_EQ(store->load("cv-max"), last);
}

// Compared as hex: the printed text may hold a NUL (in a string), which a
// PostgreSQL text value cannot.
TEST_F(PostgresStore, TheStoredTextIsTheReturnedValuePrintedOnce) {
  auto store = db_.store();
  const Value saved = store->save(varied_conversation("cv-text", 3));
  const std::string stored =
      db_.sql()->one("SELECT encode(edn, 'hex') FROM stube_conversations WHERE cid = 'cv-text'");
  std::string printed;
  for (const unsigned char c : edn::write(saved)) {
    constexpr char kDigits[] = "0123456789abcdef";
    printed += kDigits[c >> 4];
    printed += kDigits[c & 0xF];
  }
  EXPECT_EQ(stored, printed);
}

TEST_F(PostgresStore, StringsWithNulCharactersRoundTrip) {
  auto store = db_.store();
  const Value c =
      store->save(conv::make("cv-nul").assoc(kw("s"), Value(std::string_view("a\0b", 3))));
  EXPECT_EQ(db_.store()->load("cv-nul"), c);
}

TEST_F(PostgresStore, ReapTombstonesIdleConversationsInBatches) {
  auto store = db_.store();
  std::set<std::string> idle;
  for (int i = 0; i < 25; ++i) {
    const std::string cid = "cv-idle-" + std::to_string(i);
    store->save(idle_for(cid, 3600 + i));
    idle.insert(cid);
  }
  for (int i = 0; i < 5; ++i) store->save(idle_for("cv-busy-" + std::to_string(i), 10));
  const Value late = *store->load("cv-idle-3");

  std::set<std::string> reaped;
  std::vector<std::size_t> batches;
  for (;;) {
    const auto cids = store->reap(seconds_ago(600), 10);
    batches.push_back(cids.size());
    if (cids.empty()) break;
    for (const auto& cid : cids) EXPECT_TRUE(reaped.insert(cid).second) << cid << " reaped twice";
  }
  EXPECT_EQ(batches, (std::vector<std::size_t>{10, 10, 5, 0}));
  EXPECT_EQ(reaped, idle);
  const ConversationMap left = store->load_all();
  EXPECT_EQ(left.size(), 5u);
  for (const auto& [cid, c] : left) EXPECT_TRUE(cid.starts_with("cv-busy-")) << cid;
  EXPECT_EQ(store->load("cv-idle-3"), std::nullopt);
  EXPECT_THROW(store->save(late), StaleConversation);  // reaped means ended: delete wins
  EXPECT_TRUE(store->reap(seconds_ago(600), 0).empty());
}

// Cutoffs and batches beyond what PostgreSQL can take saturate. A cutoff
// ~292,000 years back overflowed the microseconds sent for it, which
// wrapped to a moment a few seconds from now (every conversation reaped);
// a batch of SIZE_MAX ("no limit") was a negative LIMIT, an error.
TEST_F(PostgresStore, ReapCutoffsAndBatchesBeyondRangeSaturate) {
  auto store = db_.store();
  store->save(idle_for("cv-old", 3600));
  const std::int64_t furthest = std::numeric_limits<std::int64_t>::max() / 1000;
  EXPECT_TRUE(store->reap(edn::Instant{-furthest, 0}, 10).empty());
  EXPECT_TRUE(
      store->reap(edn::Instant{std::numeric_limits<std::int64_t>::min() / 2, 0}, 10).empty());
  EXPECT_TRUE(store->load("cv-old").has_value());
  EXPECT_EQ(store->reap(edn::Instant::now(), std::numeric_limits<std::size_t>::max()),
            std::vector<std::string>{"cv-old"});
}

// A record touched in the future (written by hand) counts as touched when
// it is saved: it used to be never idle, for any TTL.
TEST_F(PostgresStore, ATouchedInTheFutureCountsAsSavedNow) {
  auto store = db_.store();
  store->save(idle_for("cv-future", -3600L * 24 * 365 * 1000));
  EXPECT_TRUE(store->reap(seconds_ago(600), 10).empty()) << "saved now: not idle yet";
  EXPECT_EQ(store->reap(edn::Instant{edn::Instant::now().seconds + 1, 0}, 10),
            std::vector<std::string>{"cv-future"});
}

// A conversation in a coroutine flow cannot be saved, but its user is busy:
// the skipped save still moves the row's touched, so another process's
// reaper does not end it as idle (and the flow's answer is not lost).
TEST_F(PostgresStore, ASkippedUnprintableSaveStillKeepsTheRowFresh) {
  auto store = db_.store();
  const Value stored = store->save(idle_for("cv-flow", 3600));
  const Value in_flow = stored.assoc(kw("flow"), Value::opaque(std::make_shared<int>(1), "flow"))
                            .assoc(conv::keys::touched(), Value(edn::Instant::now()));
  EXPECT_EQ(store->save(in_flow), in_flow);  // skipped: no new version
  // A stale copy (an older version) moves nothing.
  store->save(idle_for("cv-other", 3600));
  const Value stale =
      idle_for("cv-other", 0).assoc(kw("flow"), Value::opaque(std::make_shared<int>(2), "flow"));
  EXPECT_NO_THROW(store->save(stale));

  EXPECT_EQ(store->reap(seconds_ago(600), 10), (std::vector<std::string>{"cv-other"}));
  EXPECT_EQ(store->load("cv-flow"), stored);
  // The flow answered: the next printable save goes on from the same version.
  const Value done = stored.assoc(kw("answer"), 42);
  EXPECT_EQ(store->save(done), done.assoc(kw("conv/version"), 2));
}

// A skipped save is skipped whatever the conversation's :conv/version holds
// (set by hand to something no save writes): it returns the conversation
// as it is, and only a printable save refuses that version.
TEST_F(PostgresStore, ASkippedSaveWithAnUnreadableVersionIsStillJustSkipped) {
  auto store = db_.store();
  const Value odd = idle_for("cv-odd", 0).assoc(kw("conv/version"), Value("two"));
  const Value in_flow = odd.assoc(kw("flow"), Value::opaque(std::make_shared<int>(1), "flow"));
  EXPECT_EQ(store->save(in_flow), in_flow);
  EXPECT_THROW(store->save(odd), InvalidCid);
  EXPECT_FALSE(store->load("cv-odd"));
}

TEST_F(PostgresStore, OnlyTheHolderOfTheReaperLockReaps) {
  auto store = db_.store();
  for (int i = 0; i < 4; ++i) store->save(idle_for("cv-old-" + std::to_string(i), 3600));
  {
    // Another process is reaping: it holds the lock for its transaction.
    auto other = db_.sql();
    other->run("BEGIN");
    EXPECT_EQ(other->one("SELECT pg_try_advisory_xact_lock(" +
                         std::to_string(store_detail::pg::kReaperLock) + ")"),
              "t");
    EXPECT_TRUE(store->reap(seconds_ago(600), 10).empty());
    EXPECT_EQ(store->load_all().size(), 4u);
    other->run("COMMIT");  // releases it
  }
  EXPECT_EQ(store->reap(seconds_ago(600), 10).size(), 4u);
}

TEST_F(PostgresStore, TwoProcessesReapingTogetherEndEachConversationOnce) {
  constexpr int kIdle = 300;
  {
    auto store = db_.store();
    for (int i = 0; i < kIdle; ++i) store->save(idle_for("cv-r-" + std::to_string(i), 3600));
  }
  auto a = db_.store();
  auto b = db_.store();
  std::vector<std::string> by_a, by_b;
  std::atomic<int> empty_while_left{0};
  auto reaper = [&](ConversationStore& s, std::vector<std::string>& out) {
    // Until the table has none left; an empty batch while some are left
    // means the other process held the lock.
    while (!s.load_all().empty()) {
      const auto cids = s.reap(seconds_ago(600), 7);
      if (cids.empty()) ++empty_while_left;
      out.insert(out.end(), cids.begin(), cids.end());
    }
  };
  LogCapture quiet;  // load_all logs a summary each time
  std::thread ta([&] { reaper(*a, by_a); });
  std::thread tb([&] { reaper(*b, by_b); });
  ta.join();
  tb.join();
  std::multiset<std::string> all(by_a.begin(), by_a.end());
  all.insert(by_b.begin(), by_b.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kIdle));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), static_cast<std::size_t>(kIdle))
      << "a conversation was reaped twice";
  RecordProperty("reaped_by_a", static_cast<int>(by_a.size()));
  RecordProperty("reaped_by_b", static_cast<int>(by_b.size()));
  RecordProperty("lock_busy", empty_while_left.load());
}

// The server's TCP port, for a CommitCutter in front of it.
int server_port() {
  const std::string conninfo = pg_conninfo();  // "host=… port=<port> user=stube dbname=stube"
  const auto port = conninfo.find("port=");
  if (port == std::string::npos) {
    throw std::runtime_error("the proxy needs the server's TCP port: " + conninfo);
  }
  return std::stoi(conninfo.substr(port + 5));
}

// A store on `db` whose one connection goes through `cutter`.
std::shared_ptr<ConversationStore> store_through(const CommitCutter& cutter,
                                                 const TestDatabase& db) {
  return postgres_store("host=127.0.0.1 port=" + std::to_string(cutter.port()) +
                            " user=stube dbname=" + db.name() +
                            " sslmode=disable gssencmode=disable",
                        {.pool_size = 1});
}

// Waits (30 s at most) until the transaction that holds the reaper's lock
// has ended: the one the server rolls back when it notices that its client
// is gone. Taking the lock blocks until then. False when it did not end in
// time.
bool reaper_lock_released(const TestDatabase& db) {
  Sql sql(db.conninfo());
  try {
    sql.run("SET lock_timeout = '30s'");
    sql.run("BEGIN");
    sql.run("SELECT pg_advisory_xact_lock(" + std::to_string(store_detail::pg::kReaperLock) + ")");
    sql.run("COMMIT");
    return true;
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return false;
  }
}

bool retried_once(const LogCapture& capture) {
  return capture.has(log::Level::warn, {"reconnecting and retrying once"});
}

const std::string kLive = "SELECT count(*) FROM stube_conversations WHERE deleted_at IS NULL";

// Saves five conversations idle for an hour, <prefix>0 … <prefix>4: a reap's batch.
std::set<std::string> save_idle_batch(ConversationStore& store, const std::string& prefix) {
  std::set<std::string> idle;
  for (int i = 0; i < 5; ++i) {
    const std::string cid = prefix + std::to_string(i);
    store.save(idle_for(cid, 3600));
    idle.insert(cid);
  }
  return idle;
}

// The reply to a reap's COMMIT is lost (the connection drops after the
// server committed): the retry must not reap a fresh batch and lose this
// one, whose conversations the caller would then never end.
TEST_F(PostgresStore, AReapWhoseCommitReplyWasLostStillReturnsItsBatch) {
  CommitCutter cutter(server_port());
  auto store = store_through(cutter, db_);
  const std::set<std::string> idle = save_idle_batch(*store, "cv-lost-");
  LogCapture capture;
  cutter.arm();
  const auto cids = store->reap(seconds_ago(600), 10);
  ASSERT_EQ(cutter.cuts(), 1) << "no COMMIT reply was cut";
  EXPECT_EQ(std::set<std::string>(cids.begin(), cids.end()), idle);
  EXPECT_EQ(cids.size(), idle.size());
  EXPECT_EQ(db_.sql()->one(kLive), "0");
  EXPECT_TRUE(retried_once(capture));
  EXPECT_TRUE(store->reap(seconds_ago(600), 10).empty());
}

// A reap's COMMIT is lost on its way and the server has not noticed the
// lost connection: its transaction is still in progress when the store
// asks, and may yet commit or abort. reap says it cannot tell, and nothing
// is lost: the conversations stay live and loadable, and once the server
// has ended that transaction (aborted) a later reap ends them.
TEST_F(PostgresStore, AReapWhoseCommitIsStillInProgressFailsAndLosesNothing) {
  CommitCutter cutter(server_port());
  auto store = store_through(cutter, db_);
  const std::set<std::string> idle = save_idle_batch(*store, "cv-open-");
  LogCapture capture;
  cutter.arm_in_progress();
  try {
    const auto cids = store->reap(seconds_ago(600), 10);
    FAIL() << "a reap whose transaction is still in progress returned " << cids.size() << " cids";
  } catch (const StoreError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("the connection was lost in COMMIT and its transaction is in progress"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("whether 5 conversation(s) were reaped cannot be told yet"),
              std::string::npos)
        << message;
  }
  ASSERT_EQ(cutter.cuts(), 1) << "no COMMIT was cut";
  EXPECT_TRUE(retried_once(capture));
  const int backend = cutter.cut_backend_pid();
  ASSERT_NE(backend, 0) << "the proxy saw no BackendKeyData";
  auto sql = db_.sql();
  EXPECT_EQ(sql->one("SELECT state FROM pg_stat_activity WHERE pid = " + std::to_string(backend)),
            "idle in transaction");

  // Nothing is lost: every one is still live, and loads.
  EXPECT_EQ(sql->one(kLive), "5");
  for (const std::string& cid : idle) EXPECT_TRUE(store->load(cid).has_value()) << cid;
  EXPECT_EQ(store->load_all().size(), idle.size());
  // While that transaction is open it holds the reaper's lock: a reap
  // finds nothing to do (and reports nothing).
  EXPECT_TRUE(store->reap(seconds_ago(600), 10).empty());
  EXPECT_EQ(sql->one(kLive), "5");

  // The server notices the closed connection and rolls it back; then they
  // are reaped as usual, each once.
  cutter.release_server();
  ASSERT_TRUE(reaper_lock_released(db_)) << "the server did not end backend " << backend;
  const auto cids = store->reap(seconds_ago(600), 10);
  EXPECT_EQ(std::set<std::string>(cids.begin(), cids.end()), idle);
  EXPECT_EQ(cids.size(), idle.size());
  EXPECT_EQ(sql->one(kLive), "0");
  EXPECT_TRUE(store->reap(seconds_ago(600), 10).empty());
  EXPECT_EQ(cutter.cuts(), 1);
}

// A reap's COMMIT is lost on its way and the server has ended that
// transaction (aborted) by the time the store asks: the store reaps afresh
// in the same call and returns that batch, not the lost one. Between the
// two, one conversation of the lost batch is used again and another falls
// idle, so the two batches differ.
TEST_F(PostgresStore, AReapWhoseCommitWasLostAndAbortedReapsAfreshInTheSameCall) {
  CommitCutter cutter(server_port());
  auto store = store_through(cutter, db_);
  save_idle_batch(*store, "cv-aborted-");
  LogCapture capture;
  std::atomic<bool> ended{false};
  // On the proxy's thread, after it closed the server side and before it
  // cuts the client's: the store is waiting for its COMMIT's reply.
  cutter.arm_aborted([&](int backend) {
    try {
      if (backend == 0 || !reaper_lock_released(db_)) return;
      ended = true;
      auto other = db_.store();  // another server, straight to the database
      other->save(conv::touch(*other->load("cv-aborted-0")));
      other->save(idle_for("cv-aborted-late", 3600));
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  });
  const auto cids = store->reap(seconds_ago(600), 10);
  ASSERT_EQ(cutter.cuts(), 1) << "no COMMIT was cut";
  ASSERT_TRUE(ended) << "the server did not end backend " << cutter.cut_backend_pid();
  EXPECT_TRUE(retried_once(capture));
  const std::multiset<std::string> fresh{"cv-aborted-1", "cv-aborted-2", "cv-aborted-3",
                                         "cv-aborted-4", "cv-aborted-late"};
  EXPECT_EQ(std::multiset<std::string>(cids.begin(), cids.end()), fresh);
  auto sql = db_.sql();
  EXPECT_EQ(sql->one("SELECT string_agg(cid, ',' ORDER BY cid) FROM stube_conversations "
                     "WHERE deleted_at IS NULL"),
            "cv-aborted-0");
  EXPECT_TRUE(store->load("cv-aborted-0").has_value());
  for (const std::string& cid : fresh) EXPECT_FALSE(store->load(cid).has_value()) << cid;
  // None is reported again.
  EXPECT_TRUE(store->reap(seconds_ago(600), 10).empty());
  EXPECT_EQ(cutter.cuts(), 1);
}

TEST_F(PostgresStore, OldTombstonesArePurged) {
  auto store = db_.store();
  for (const char* cid : {"cv-t1", "cv-t2", "cv-t3"}) {
    store->save(conv::make(cid));
    store->remove(cid);
  }
  auto sql = db_.sql();
  sql->run(
      "UPDATE stube_conversations SET deleted_at = now() - interval '25 hours' "
      "WHERE cid IN ('cv-t1', 'cv-t2')");
  const auto tombstones = [&] {
    return sql->one(
        "SELECT string_agg(cid, ',' ORDER BY cid) FROM stube_conversations "
        "WHERE deleted_at IS NOT NULL");
  };
  EXPECT_EQ(tombstones(), "cv-t1,cv-t2,cv-t3");
  store->reap(seconds_ago(600), 10);  // purges tombstones older than a day
  EXPECT_EQ(tombstones(), "cv-t3");
  // A purged tombstone no longer keeps a late save out, but one with a
  // version still finds no row to update: stale all the same.
  EXPECT_THROW(store->save(conv::make("cv-t1").assoc(kVersion, 1)), StaleConversation);

  // A store with a short tombstone age purges on open.
  db_.store({.tombstone_ttl = std::chrono::seconds(0)});
  EXPECT_EQ(tombstones(), "");
}

// A TTL meant as "never purge" reaches before PostgreSQL's first timestamp
// (4713 BC): the purge failed with "timestamp out of range", so the store
// could not open and no reap ever worked. It counts as 1,000 years.
TEST_F(PostgresStore, AnEnormousTombstoneTtlMeansKeepThem) {
  const std::chrono::seconds forever(std::numeric_limits<std::int64_t>::max());
  std::shared_ptr<ConversationStore> store;
  ASSERT_NO_THROW(store = db_.store({.tombstone_ttl = forever}));
  store->save(conv::make("cv-kept"));
  store->remove("cv-kept");
  db_.sql()->run(
      "UPDATE stube_conversations SET deleted_at = now() - interval '900 years' "
      "WHERE cid = 'cv-kept'");
  EXPECT_NO_THROW(store->reap(seconds_ago(600), 10));
  EXPECT_EQ(db_.sql()->one("SELECT count(*) FROM stube_conversations WHERE cid = 'cv-kept'"), "1");
  ASSERT_NO_THROW(open_store(db_.url() + "?tombstone_ttl=300000000000"));
}

// A conversation over the record limit is refused, naming it, and nothing
// is written (libpq takes an int length: a text of 4 GiB and more was cut
// to a fragment and "saved").
TEST_F(PostgresStore, AConversationOverTheRecordLimitIsNotSaved) {
  const Value small = conv::make("cv-small", edn::Instant{1700000000, 0});
  const std::size_t limit = edn::write(small).size() + 100;
  auto store = db_.store({.max_record_bytes = limit});
  const Value big = conv::make("cv-big").assoc(kw("big"), Value(std::string(limit, 'x')));
  try {
    store->save(big);
    ADD_FAILURE() << "a conversation over the limit was saved";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("\"cv-big\" is "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("over the record limit of " + std::to_string(limit)),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(store->save(small));
  EXPECT_FALSE(store->load("cv-big").has_value());
  EXPECT_TRUE(store->load("cv-small").has_value());
}

TEST_F(PostgresStore, TheSchemaIsCreatedOnceAndVersioned) {
  {
    // Several processes opening a fresh database at once.
    std::vector<std::thread> openers;
    std::atomic<int> failures{0};
    for (int i = 0; i < 4; ++i) {
      openers.emplace_back([&] {
        try {
          db_.store()->save(conv::make(conv::mint_id()));
        } catch (const std::exception&) {
          ++failures;
        }
      });
    }
    for (auto& t : openers) t.join();
    EXPECT_EQ(failures.load(), 0);
  }
  auto sql = db_.sql();
  EXPECT_EQ(sql->one("SELECT string_agg(version::text, ',') FROM stube_schema"), "1");
  EXPECT_EQ(sql->one("SELECT count(*) FROM pg_indexes WHERE tablename = 'stube_conversations'"),
            "3");
  sql->run("UPDATE stube_schema SET version = 2");
  try {
    db_.store();
    FAIL() << "opened a database with a newer schema";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 2"), std::string::npos) << e.what();
  }
}

// Whether the database has the table (to_regclass: NULL when it does not).
bool has_table(const TestDatabase& db, const std::string& table) {
  return db.sql()->one("SELECT to_regclass('" + table + "') IS NOT NULL") == "t";
}

// The message of the StoreError, not a MissingStore, that open() throws.
std::string plain_store_error(const std::function<void()>& open) {
  try {
    open();
    ADD_FAILURE() << "opened";
  } catch (const MissingStore& e) {
    ADD_FAILURE() << "a backend failure, not a missing store, expected: " << e.what();
  } catch (const StoreError& e) {
    return e.what();
  }
  return "";
}

// docs/store.md: create_schema = false (stube-store's read-only commands)
// opens only a database that holds the schema, and creates nothing.
TEST_F(PostgresStore, WithoutCreateSchemaAnEmptyDatabaseIsAMissingStoreLeftEmpty) {
  const auto expect_missing = [&](const std::function<void()>& open, const std::string& table) {
    try {
      open();
      FAIL() << "opened a database without stube's schema";
    } catch (const MissingStore& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("database " + db_.name() + " on "), std::string::npos) << what;
      EXPECT_NE(what.find("holds no stube store (no table " + table + ")"), std::string::npos)
          << what;
    }
  };
  expect_missing([&] { db_.store({.create_schema = false}); }, "stube_conversations");
  expect_missing([&] { open_store(db_.url() + "?create_schema=false"); }, "stube_conversations");
  expect_missing([&] { open_store(db_.url() + "?pool_size=1&create_schema=false"); },
                 "stube_conversations");
  // open_existing_store creates nothing, even when the URL says create_schema=true.
  expect_missing([&] { open_existing_store(db_.url()); }, "stube_conversations");
  expect_missing([&] { open_existing_store(db_.url() + "?create_schema=true"); },
                 "stube_conversations");
  EXPECT_FALSE(has_table(db_, "stube_conversations"));
  EXPECT_FALSE(has_table(db_, "stube_schema"));
  EXPECT_EQ(db_.sql()->one("SELECT count(*) FROM pg_class WHERE relname LIKE 'stube%'"), "0");

  // Half a schema is no store either.
  db_.sql()->run("CREATE TABLE stube_conversations (cid text)");
  expect_missing([&] { db_.store({.create_schema = false}); }, "stube_schema");
  EXPECT_FALSE(has_table(db_, "stube_schema"));
}

TEST_F(PostgresStore, WithoutCreateSchemaAStoreIsReadAndLeftUnchanged) {
  const Value saved = db_.store()->save(conv::make("cv-kept"));
  db_.store()->remove("cv-gone");
  auto sql = db_.sql();
  const auto tombstones = [&] {
    return sql->one("SELECT count(*) FROM stube_conversations WHERE deleted_at IS NOT NULL");
  };
  ASSERT_EQ(tombstones(), "1");
  // Opening with create_schema = true would purge the tombstone (ttl 0).
  auto store = db_.store({.tombstone_ttl = std::chrono::seconds(0), .create_schema = false});
  EXPECT_EQ(store->load("cv-kept"), saved);
  EXPECT_EQ(store->load_all().size(), 1u);
  EXPECT_EQ(tombstones(), "1");
  EXPECT_EQ(open_store(db_.url() + "?create_schema=false")->load("cv-kept"), saved);
  EXPECT_EQ(open_existing_store(db_.url() + "?tombstone_ttl=0")->load("cv-kept"), saved);
  EXPECT_EQ(tombstones(), "1");

  sql->run("UPDATE stube_schema SET version = 2");
  const std::string newer = plain_store_error([&] { db_.store({.create_schema = false}); });
  EXPECT_NE(newer.find("schema version 2"), std::string::npos) << newer;
}

// A read-only open needs no right to create or delete anything: a role that
// may only SELECT stube's two tables reads the store that way, and only that
// way (the default open creates the schema and purges tombstones).
TEST_F(PostgresStore, WithoutCreateSchemaARoleThatMayOnlySelectReadsTheStore) {
  const Value saved = db_.store()->save(conv::make("cv-read"));
  auto sql = db_.sql();
  const std::string role = "reader_" + db_.name();  // roles are the whole server's
  sql->run("CREATE ROLE " + role + " LOGIN");
  sql->run("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
  sql->run("GRANT SELECT ON stube_conversations, stube_schema TO " + role);
  const std::string as_reader = db_.conninfo() + " user=" + role;
  {
    auto store = postgres_store(as_reader, {.create_schema = false});
    EXPECT_EQ(store->load("cv-read"), saved);
    EXPECT_EQ(store->load_all().size(), 1u);
    EXPECT_THROW(postgres_store(as_reader), StoreError);
  }
  sql->run("DROP OWNED BY " + role);
  sql->run("DROP ROLE " + role);
}

// A backend failure stays a plain StoreError, never a MissingStore.
TEST_F(PostgresStore, WithoutCreateSchemaAnUnreachableDatabaseIsNotAMissingStore) {
  const std::string missing = pg_url().substr(0, pg_url().rfind('/') + 1) + "no_such_db";
  const std::string unreachable =
      plain_store_error([&] { open_store(missing + "?create_schema=false"); });
  EXPECT_NE(unreachable.find("no_such_db"), std::string::npos) << unreachable;
  const std::string existing = plain_store_error([&] { open_existing_store(missing); });
  EXPECT_NE(existing.find("no_such_db"), std::string::npos) << existing;
}

TEST_F(PostgresStore, OpenStoreTakesPostgresUrls) {
  auto store = open_store(db_.url());
  EXPECT_TRUE(store->shared());
  const Value saved = store->save(conv::make("cv-url"));
  std::string short_scheme = db_.url();
  short_scheme.replace(0, std::string_view("postgresql").size(), "postgres");
  EXPECT_EQ(open_store(short_scheme)->load("cv-url"), saved);
  EXPECT_EQ(open_store(db_.url() + "?application_name=stube-url-test")->load("cv-url"), saved);

  // stube's own options are taken out of the query; libpq's stay.
  auto tuned =
      open_store(db_.url() + "?pool_size=1&application_name=stube-url-test&tombstone_ttl=0");
  EXPECT_EQ(tuned->load("cv-url"), saved);
  tuned->remove("cv-url");
  const auto rows = [&] {
    return db_.sql()->one("SELECT count(*) FROM stube_conversations WHERE cid = 'cv-url'");
  };
  ASSERT_EQ(rows(), "1") << "the tombstone";
  open_store(db_.url());  // the default age keeps it
  EXPECT_EQ(rows(), "1");
  open_store(db_.url() + "?tombstone_ttl=0");  // purged on open
  EXPECT_EQ(rows(), "0");
}

TEST_F(PostgresStore, AnUnreachableDatabaseIsAStoreErrorNamingIt) {
  const std::string missing = pg_url().substr(0, pg_url().rfind('/') + 1) + "no_such_db";
  try {
    open_store(missing);
    FAIL() << "opened a database that does not exist";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_db"), std::string::npos) << e.what();
  }
  EXPECT_THROW(postgres_store("host=/nonexistent-dir port=1 dbname=x"), StoreError);
  EXPECT_THROW(postgres_store("this is not a conninfo"), StoreError);
}

// libpq's messages never show the password either (docs/store.md). The
// test server trusts every connection, so a wrong password alone is not
// refused; a role or a database that is not there is, with the password
// given, and a password libpq cannot decode is refused before connecting.
TEST_F(PostgresStore, ConnectionErrorsNeverShowThePassword) {
  const std::string url = pg_url();  // postgresql://stube@127.0.0.1:<port>/stube
  const std::string server = url.substr(url.find('@'), url.rfind('/') - url.find('@') + 1);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"postgresql://nobody:s3cret-pw" + server + "stube", "\"nobody\""},
      {"postgresql://stube:s3cret-pw" + server + "no_such_db", "\"no_such_db\""},
      {"postgresql://stube:s3cret%pw" + server + "stube", "invalid percent-encoded token"},
      {"postgresql://stube:s3cret/pw" + server + "stube", "port"},
      {pg_conninfo() + " dbname=no_such_db password=s3cret-pw", "\"no_such_db\""},
      {pg_conninfo() + " user=nobody password='s3cret pw'", "\"nobody\""},
  };
  // A StoreError, or std::invalid_argument for what libpq cannot parse (a
  // bad percent-encoding): neither shows the password.
  const auto error_of = [](const std::function<void()>& open) -> std::string {
    try {
      open();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "(nothing thrown)";
  };
  for (const auto& [bad, reason] : cases) {
    std::vector<std::string> errors = {error_of([&] { postgres_store(bad); })};
    if (bad.starts_with("postgresql:")) errors.push_back(error_of([&] { open_store(bad); }));
    for (const std::string& error : errors) {
      EXPECT_EQ(error.find("s3cret"), std::string::npos) << bad << ": " << error;
      EXPECT_EQ(error.find("pw"), std::string::npos) << bad << ": " << error;
      EXPECT_NE(error.find(reason), std::string::npos) << bad << ": " << error;
    }
  }
}

TEST_F(PostgresStore, ConcurrentWritersOfOneConversationLoseNoUpdate) {
  // The CAS loop a server runs: load, change, save; on a stale save, reload.
  constexpr int kThreads = 4;
  constexpr int kIncrements = 50;
  db_.store()->save(conv::make("cv-counter").assoc(kw("count"), 0));
  std::atomic<int> stale{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto store = db_.store({.pool_size = 1});  // a process of its own
      Value c = *store->load("cv-counter");
      for (int done = 0; done < kIncrements;) {
        try {
          c = store->save(c.assoc(kw("count"), c.get(kw("count")).as_int() + 1));
          ++done;
        } catch (const StaleConversation&) {
          ++stale;
          c = *store->load("cv-counter");
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const Value final = *db_.store()->load("cv-counter");
  EXPECT_EQ(final.get(kw("count")), Value(kThreads * kIncrements));
  EXPECT_EQ(final.get(kVersion), Value(kThreads * kIncrements + 1));
  RecordProperty("stale_saves", stale.load());
}

}  // namespace
}  // namespace stube::test
