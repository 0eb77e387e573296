// Two runtimes (two servers) over two store instances on one database,
// driving the same conversation: every event either lands in the stored
// count or is reported as lost (the runtime reloads the newer version), and
// an ended conversation never comes back. And the reaper of a runtime on a
// shared store: batches per round, and its bound.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "pg_support.hpp"
#include "store/support.hpp"
#include "stube/conversation.hpp"
#include "stube/kernel.hpp"
#include "stube/log.hpp"
#include "stube/runtime.hpp"

namespace stube::test {
namespace {

// Whether thread `tid` of this process sits in a futex wait (a mutex or a
// condition variable), read from /proc: how a test sees that a call it
// started has reached a lock and waits there.
bool blocked_in_futex(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
  long number = -1;
  return static_cast<bool>(in >> number) && number == SYS_futex;
}

// Polls `done` until it holds or ten seconds pass.
bool eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

using edn::kw;
using edn::Value;
using Result = Runtime::Result;

// `stops` counts the stop hooks that ran.
std::shared_ptr<Registry> counter_registry(std::shared_ptr<std::atomic<int>> stops) {
  auto reg = std::make_shared<Registry>();
  reg->define("pg/counter")
      .init([](const Value&) {
        return edn::map({{kw("count"), 0}});
      })
      .render([](const Self& s) { return html::p("count ", s[":count"]); })
      .on("inc", [](Self& s) { s.set("count", s[":count"].as_int() + 1); })
      .on("quit", [](Self& s) { s.end(Value()); })
      .stop([stops](Self&) { ++*stops; });
  return reg;
}

// The page's stream, whose patches nobody reads.
class IgnoredStream : public Output {
 public:
  void send(const std::vector<Fragment>&) override {}
  void close() override {}
};

// A shared store over another whose saves can fail (the database down) and
// whose next remove or load can be held until released: to put a runtime's
// own requests into the window of one of its store calls.
class GatedStore final : public ConversationStore {
 public:
  explicit GatedStore(std::shared_ptr<ConversationStore> inner) : inner_(std::move(inner)) {}

  enum class Gate { none, remove, load, loaded };  // loaded: after the record was read
  std::atomic<bool> fail_saves{false};
  std::atomic<bool> fail_removes{false};
  std::atomic<bool> fail_loads{false};
  std::atomic<bool> fail_reaps{false};
  std::atomic<int> loads{0};

  void hold(Gate g) {
    std::lock_guard lock(mu_);
    held_ = g;
  }
  // Waits until a held call has arrived at its gate. When none does in
  // time, opens the gate (so that whatever waits on it, and the test, can
  // end) and returns false.
  bool wait_arrived() {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, std::chrono::seconds(30), [&] { return arrived_; })) return true;
    }
    release();
    return false;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      held_ = Gate::none;
    }
    cv_.notify_all();
  }

  ConversationMap load_all() override { return inner_->load_all(); }
  Value save(const Value& conv) override {
    if (fail_saves) throw StoreError("test: the database is down");
    return inner_->save(conv);
  }
  void remove(std::string_view cid) override {
    pass(Gate::remove);
    if (fail_removes) throw StoreError("test: the database is down");
    inner_->remove(cid);
  }
  bool shared() const noexcept override { return true; }
  std::optional<Value> load(std::string_view cid) override {
    pass(Gate::load);
    ++loads;
    if (fail_loads) throw StoreError("test: the database is down");
    std::optional<Value> record = inner_->load(cid);
    pass(Gate::loaded);
    return record;
  }
  std::vector<std::string> reap(edn::Instant cutoff, std::size_t batch) override {
    if (fail_reaps) throw StoreError("test: the database is down");
    return inner_->reap(cutoff, batch);
  }

 private:
  // Only the first call at a held gate waits there; later ones pass.
  void pass(Gate g) {
    std::unique_lock lock(mu_);
    if (held_ != g || arrived_) return;
    arrived_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return held_ != g; });
  }

  std::shared_ptr<ConversationStore> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  Gate held_ = Gate::none;
  bool arrived_ = false;
};

RuntimeOptions on(std::shared_ptr<ConversationStore> store) {
  RuntimeOptions o;
  o.store = std::move(store);
  return o;
}

class PostgresRuntimes : public ::testing::Test {
 protected:
  std::int64_t stored_count() {
    const auto c = db_.store()->load(cid_);
    return c ? conv::instance(*c, iid_)[":count"].as_int() : -1;
  }
  std::int64_t live_count(const Runtime& r) {
    return conv::instance(*r.conversation(cid_), iid_)[":count"].as_int();
  }
  Result inc(Runtime& r) { return r.dispatch(cid_, iid_, Event{"inc"}, owner_); }
  // Runtimes report an event that lost the race with this warning.
  std::size_t lost_events() const {
    std::size_t n = 0;
    for (const auto& w : capture_.at(log::Level::warn))
      n += w.find("was changed elsewhere") != std::string::npos;
    return n;
  }
  void mint_on(Runtime& r) {
    const auto minted = r.mint("pg/counter");
    cid_ = minted.cid;
    owner_ = minted.owner;
    iid_ = std::string(top_instance(*r.conversation(cid_)));
  }

  TestDatabase db_;
  std::shared_ptr<std::atomic<int>> stops_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<Registry> reg_ = counter_registry(stops_);
  LogCapture capture_;
  std::string cid_, owner_, iid_;
};

TEST_F(PostgresRuntimes, AnEventThatLostTheRaceIsReportedAndReloadedNotMerged) {
  Runtime a(reg_, on(db_.store()));
  Runtime b(reg_, on(db_.store()));
  mint_on(a);
  ASSERT_EQ(inc(a), Result::Ok);  // count 1
  ASSERT_EQ(b.size(), 0u);
  ASSERT_EQ(inc(b), Result::Ok);  // b loads it on the miss: count 2
  EXPECT_EQ(b.size(), 1u);
  EXPECT_EQ(stored_count(), 2);
  EXPECT_EQ(lost_events(), 0u);

  // a still holds count 1: its event is applied to a stale copy, the save
  // is refused, a reloads and shows count 2. Nothing is merged.
  ASSERT_EQ(inc(a), Result::Ok);
  EXPECT_EQ(lost_events(), 1u);
  EXPECT_EQ(stored_count(), 2);
  EXPECT_EQ(live_count(a), 2);
  ASSERT_EQ(inc(a), Result::Ok);  // now on the fresh copy: lands
  EXPECT_EQ(stored_count(), 3);
  EXPECT_EQ(lost_events(), 1u);
}

// An end is a compare-and-set, as a save is: a step on a stale copy that
// ends the conversation (a timer left on the server that minted it, while
// another serves the page) is dropped, and the conversation lives on. It
// ended it everywhere: the other server's next event was a 410.
TEST_F(PostgresRuntimes, AnEndOnAStaleCopyIsDroppedAndTheConversationLivesOn) {
  Runtime a(reg_, on(db_.store()));
  Runtime b(reg_, on(db_.store()));
  mint_on(a);
  ASSERT_EQ(inc(b), Result::Ok);  // stored: count 1; a still holds count 0
  ASSERT_EQ(a.dispatch(cid_, iid_, Event{"quit"}, owner_), Result::Ok);
  EXPECT_EQ(lost_events(), 1u);
  EXPECT_EQ(stops_->load(), 0) << "stop hooks ran for an end that did not happen";
  EXPECT_EQ(stored_count(), 1);
  EXPECT_EQ(live_count(a), 1) << "a took the stored version";
  ASSERT_EQ(inc(b), Result::Ok);
  EXPECT_EQ(stored_count(), 2);
  // From the current copy the end goes through, everywhere.
  ASSERT_EQ(b.dispatch(cid_, iid_, Event{"quit"}, owner_), Result::Ok);
  EXPECT_EQ(stored_count(), -1);
  EXPECT_EQ(inc(a), Result::NoConversation);
}

// Whether a copy is current cannot be told while the database is down: a
// step's end is then refused (try again), not made unconditionally, which
// could end a newer version stored by another server.
TEST_F(PostgresRuntimes, AnEndTheStoreCannotCheckIsRefusedAndChangesNothing) {
  auto gated = std::make_shared<GatedStore>(db_.store());
  Runtime a(reg_, on(gated));
  mint_on(a);
  ASSERT_EQ(inc(a), Result::Ok);
  gated->fail_removes = true;
  EXPECT_EQ(a.dispatch(cid_, iid_, Event{"quit"}, owner_), Result::Unavailable);
  EXPECT_EQ(stops_->load(), 0);
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(stored_count(), 1);
  EXPECT_TRUE(capture_.has(log::Level::error, {cid_, "its end was not made"}));
  gated->fail_removes = false;
  ASSERT_EQ(a.dispatch(cid_, iid_, Event{"quit"}, owner_), Result::Ok);
  EXPECT_EQ(stored_count(), -1);
  EXPECT_EQ(stops_->load(), 1);
}

// What a runtime sends to one browser stream, in order.
class RecordedStream : public Output {
 public:
  void send(const std::vector<Fragment>& fragments) override {
    const std::lock_guard lock(mu_);
    for (const Fragment& f : fragments) html_.push_back(f.html);
  }
  void close() override {}
  std::vector<std::string> html() const {
    const std::lock_guard lock(mu_);
    return html_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> html_;
};

// The event that lost the race is dropped whole: after the reloaded view,
// the stale copy's view of that event must not follow.
TEST_F(PostgresRuntimes, ALostEventDoesNotSendItsViewAfterTheReload) {
  Runtime a(reg_, on(db_.store()));
  Runtime b(reg_, on(db_.store()));
  mint_on(a);
  auto stream = std::make_shared<RecordedStream>();
  ASSERT_EQ(a.attach(cid_, owner_, stream), Result::Ok);
  ASSERT_EQ(inc(b), Result::Ok);
  ASSERT_EQ(inc(b), Result::Ok);  // stored: count 2; a still holds count 0
  const std::size_t before = stream->html().size();

  ASSERT_EQ(inc(a), Result::Ok);  // a's copy would say 1: refused, reloaded
  EXPECT_EQ(lost_events(), 1u);
  EXPECT_EQ(live_count(a), 2);
  const std::vector<std::string> sent = stream->html();
  ASSERT_GT(sent.size(), before);
  for (std::size_t i = before; i < sent.size(); ++i)
    EXPECT_EQ(sent[i].find("count 1"), std::string::npos)
        << "the dropped event's view: " << sent[i];
  EXPECT_NE(sent.back().find("count 2"), std::string::npos) << sent.back();
}

TEST_F(PostgresRuntimes, ConcurrentEventsOnTwoServersLoseNoUpdate) {
  constexpr int kThreadsPerRuntime = 3;
  constexpr int kEventsPerThread = 40;
  Runtime a(reg_, on(db_.store()));
  Runtime b(reg_, on(db_.store()));
  mint_on(a);
  std::atomic<int> ok{0}, other{0};
  std::vector<std::thread> threads;
  for (Runtime* r : {&a, &b}) {
    for (int t = 0; t < kThreadsPerRuntime; ++t) {
      threads.emplace_back([&, r] {
        for (int i = 0; i < kEventsPerThread; ++i) (inc(*r) == Result::Ok ? ok : other)++;
      });
    }
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  ASSERT_EQ(ok.load(), 2 * kThreadsPerRuntime * kEventsPerThread);
  const std::size_t lost = lost_events();
  // Every accepted event is in the count; every other one was reported.
  EXPECT_EQ(stored_count(), ok.load() - static_cast<std::int64_t>(lost));
  EXPECT_GT(stored_count(), 0);
  RecordProperty("events", ok.load());
  RecordProperty("lost_and_reported", static_cast<int>(lost));
}

TEST_F(PostgresRuntimes, AnEndedConversationDoesNotComeBack) {
  auto a = std::make_unique<Runtime>(reg_, on(db_.store()));
  auto b = std::make_unique<Runtime>(reg_, on(db_.store()));
  mint_on(*a);
  ASSERT_EQ(inc(*b), Result::Ok);  // both servers hold it now
  ASSERT_EQ(inc(*a), Result::Ok);  // (a reloads: b saved since)

  // Events keep arriving on both servers while one of them ends it.
  std::mutex mu;
  std::condition_variable cv;
  int accepted = 0;
  std::vector<std::thread> threads;
  int gone = 0;
  for (Runtime* r : {a.get(), b.get()}) {
    threads.emplace_back([&, r] {
      for (;;) {
        const Result res = inc(*r);
        if (res == Result::NoConversation) break;
        EXPECT_EQ(res, Result::Ok);
        std::lock_guard lock(mu);
        ++accepted;
        cv.notify_all();
      }
      std::lock_guard lock(mu);
      ++gone;
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(60), [&] { return accepted >= 20 || gone > 0; });
    EXPECT_GE(accepted, 20);
    EXPECT_EQ(gone, 0) << "a server lost the conversation before it ended";
  }
  b->end(cid_);
  for (auto& t : threads) t.join();  // each saw NoConversation: neither server brought it back
  EXPECT_EQ(gone, 2);
  EXPECT_EQ(a->size(), 0u);
  EXPECT_EQ(b->size(), 0u);
  EXPECT_EQ(db_.store()->load(cid_), std::nullopt);
  EXPECT_FALSE(db_.store()->load_all().contains(cid_));
  EXPECT_EQ(db_.sql()->one("SELECT deleted_at IS NOT NULL FROM stube_conversations WHERE cid = '" +
                           cid_ + "'"),
            "t");
  // Shutting both down (a last save of everything live) changes nothing,
  // and a third server does not find it either.
  a.reset();
  b.reset();
  Runtime c(reg_, on(db_.store()));
  EXPECT_EQ(c.restored_count(), 0u);
  EXPECT_EQ(inc(c), Result::NoConversation);
  EXPECT_EQ(db_.store()->load(cid_), std::nullopt);
}

// Every server holds copies it does not serve: those it minted (the hash
// sends their requests elsewhere) and those load_all gave it at its start.
// Stopping such a server (a deploy) must not save them again: a new version
// would make the serving server's copy stale and drop its next event.
TEST_F(PostgresRuntimes, AStoppingServerLeavesTheServingServersCopyCurrent) {
  auto minter = std::make_unique<Runtime>(reg_, on(db_.store()));
  mint_on(*minter);
  Runtime serving(reg_, on(db_.store()));
  // The page's stream reaches the serving server, which loads the
  // conversation (its wakeup is saved: a new version).
  ASSERT_EQ(serving.attach(cid_, owner_, std::make_shared<IgnoredStream>()), Result::Ok);
  // A server started now holds the current version, as the serving one does.
  auto restorer = std::make_unique<Runtime>(reg_, on(db_.store()));
  ASSERT_EQ(restorer->restored_count(), 1u);
  restorer.reset();
  minter.reset();
  EXPECT_EQ(inc(serving), Result::Ok);
  EXPECT_EQ(live_count(serving), 1);
  EXPECT_EQ(stored_count(), 1);
  EXPECT_EQ(lost_events(), 0u) << "a stopping server's final save made a new version";
  EXPECT_EQ(*stops_, 2) << "each stopping server runs the stop hooks of its copy";
}

// An event that lost the race is dropped whole also when the newer version
// cannot be loaded (the database went down meanwhile): the live copy stays
// as it was (stale, so the next event tries again), and the event is
// refused as unavailable (503), not reported done.
TEST_F(PostgresRuntimes, AnEventThatLostTheRaceIsDroppedAlsoWhenTheReloadFails) {
  auto gated = std::make_shared<GatedStore>(db_.store());
  Runtime a(reg_, on(gated));
  Runtime b(reg_, on(db_.store()));
  mint_on(a);
  ASSERT_EQ(inc(a), Result::Ok);  // count 1
  ASSERT_EQ(inc(b), Result::Ok);  // count 2: a's copy is stale
  gated->fail_loads = true;
  EXPECT_EQ(inc(a), Result::Unavailable);
  EXPECT_EQ(live_count(a), 1) << "the dropped event's state was kept";
  EXPECT_EQ(stored_count(), 2);
  gated->fail_loads = false;
  EXPECT_EQ(inc(a), Result::Ok);  // lost again; now it reloads
  EXPECT_EQ(live_count(a), 2);
  EXPECT_EQ(inc(a), Result::Ok);
  EXPECT_EQ(stored_count(), 3);
}

// Back on a shared store: the snapshot it restores was taken at an older
// :conv/version, which the compare-and-set refused, so back did nothing but
// a "changed elsewhere" reload.
TEST_F(PostgresRuntimes, BackWorksOnASharedStore) {
  Runtime a(reg_, on(db_.store()));
  mint_on(a);
  ASSERT_EQ(inc(a), Result::Ok);
  ASSERT_EQ(inc(a), Result::Ok);
  ASSERT_EQ(stored_count(), 2);
  EXPECT_EQ(a.back(cid_, owner_), Result::Ok);
  EXPECT_EQ(live_count(a), 1);
  EXPECT_EQ(stored_count(), 1);
  EXPECT_EQ(inc(a), Result::Ok);
  EXPECT_EQ(stored_count(), 2);
  EXPECT_EQ(lost_events(), 0u);
}

// A back that lost the race did not happen: the moment it would have undone
// is the reloaded version's, and a timer that moment requested still fires.
TEST_F(PostgresRuntimes, ABackThatLostTheRaceKeepsTheTimersOfTheMomentItDidNotUndo) {
  auto fired = std::make_shared<std::promise<void>>();
  reg_->define("pg/alarm")
      .init([](const Value&) {
        return edn::map({{kw("count"), 0}});
      })
      .render([](const Self& s) { return html::p("count ", s[":count"]); })
      .on("inc", [](Self& s) { s.set("count", s[":count"].as_int() + 1); })
      .on("arm", [](Self& s) { s.after(std::chrono::milliseconds(200), "ring"); })
      .on("ring", [fired](Self&) { fired->set_value(); });
  Runtime a(reg_, on(db_.store()));
  Runtime b(reg_, on(db_.store()));
  const auto minted = a.mint("pg/alarm");
  cid_ = minted.cid;
  owner_ = minted.owner;
  iid_ = std::string(top_instance(*a.conversation(cid_)));
  ASSERT_EQ(inc(a), Result::Ok);  // a new moment, which arms the alarm
  ASSERT_EQ(a.dispatch(cid_, iid_, Event{"arm"}, owner_), Result::Ok);
  ASSERT_EQ(inc(b), Result::Ok);  // a's copy is now stale
  ASSERT_EQ(a.back(cid_, owner_), Result::Ok);
  EXPECT_EQ(lost_events(), 1u);
  EXPECT_EQ(live_count(a), 2);
  EXPECT_EQ(fired->get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "the alarm of the moment the lost back did not undo never rang";
}

// A change whose save failed (the database was down) is what shutdown's
// final save is for.
TEST_F(PostgresRuntimes, ShutdownSavesAChangeWhoseSaveFailed) {
  auto gated = std::make_shared<GatedStore>(db_.store());
  auto a = std::make_unique<Runtime>(reg_, on(gated));
  mint_on(*a);
  gated->fail_saves = true;
  ASSERT_EQ(inc(*a), Result::Ok);  // the event works; its save failed
  EXPECT_EQ(stored_count(), 0);
  gated->fail_saves = false;
  a.reset();
  EXPECT_EQ(stored_count(), 1);
}

// An end whose remove failed leaves the record in the database: the server
// that ended it must not load it back on the next request (load-on-miss),
// and removes it once the database is back (here: at its shutdown).
TEST_F(PostgresRuntimes, AnEndWhoseRemoveFailedIsNotLoadedBack) {
  auto gated = std::make_shared<GatedStore>(db_.store());
  auto a = std::make_unique<Runtime>(reg_, on(gated));
  mint_on(*a);
  gated->fail_removes = true;
  a->end(cid_);
  EXPECT_EQ(stored_count(), 0) << "the record is still stored";
  EXPECT_EQ(inc(*a), Result::NoConversation);
  EXPECT_EQ(a->size(), 0u);
  EXPECT_EQ(*stops_, 1);
  gated->fail_removes = false;
  a.reset();
  EXPECT_EQ(db_.store()->load(cid_), std::nullopt);
  EXPECT_EQ(*stops_, 1);
}

// SPEC §8: end removes the conversation from the store. A server that has
// not loaded it yet (another one serves it) still ends it everywhere.
TEST_F(PostgresRuntimes, AnEndOnAServerThatDoesNotHoldItEndsItEverywhere) {
  auto gated = std::make_shared<GatedStore>(db_.store());
  Runtime b(reg_, on(gated));  // started before the mint: load_all did not give it
  Runtime a(reg_, on(db_.store()));
  mint_on(a);
  ASSERT_EQ(b.size(), 0u);
  b.end(cid_);
  EXPECT_EQ(*stops_, 1) << "its stop hooks ran where it was ended";
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(db_.store()->load(cid_), std::nullopt);
  EXPECT_EQ(inc(a), Result::NoConversation) << "the serving server's copy ends at its next save";
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(*stops_, 2);  // a's copy, which had started too, stopped once
  b.end(cid_);            // idempotent
  EXPECT_EQ(*stops_, 2);
  gated->fail_loads = true;
  EXPECT_THROW(b.end("cv-" + std::string(24, 'a')), StoreError);
}

// Cids are not secrets: a request with the wrong owner token must not load
// someone's conversation into this server's memory, nor may loads push it
// past max_conversations.
TEST_F(PostgresRuntimes, AForeignRequestLoadsNothing) {
  Runtime b(reg_, on(db_.store()));
  Runtime a(reg_, on(db_.store()));
  mint_on(a);
  auto stream = std::make_shared<IgnoredStream>();
  EXPECT_EQ(b.attach(cid_, "ow-not-the-owner", stream), Result::Forbidden);
  EXPECT_EQ(b.dispatch(cid_, iid_, Event{"inc"}, "ow-not-the-owner"), Result::Forbidden);
  EXPECT_EQ(b.back(cid_, "ow-not-the-owner"), Result::Forbidden);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(inc(b), Result::Ok);  // its owner's request loads it
  EXPECT_EQ(b.size(), 1u);
}

TEST_F(PostgresRuntimes, ALoadPastMaxConversationsIsTryAgainLater) {
  RuntimeOptions limited = on(db_.store());
  limited.max_conversations = 1;
  Runtime b(reg_, limited);
  Runtime a(reg_, on(db_.store()));
  (void)b.mint("pg/counter");  // only its record matters here
  mint_on(a);
  EXPECT_EQ(inc(b), Result::Unavailable);
  EXPECT_EQ(b.size(), 1u);
  EXPECT_TRUE(
      capture_.has(log::Level::warn, {"not loading conversation", cid_, "max_conversations"}));
  EXPECT_EQ(stored_count(), 0) << "refused before the event";
  EXPECT_EQ(inc(a), Result::Ok);
}

// A conversation ended elsewhere while this server held an unsaved change:
// the final save is refused (delete wins), and that neither reloads nor
// ends it a second time (its stop hooks ran once, at the shutdown).
TEST_F(PostgresRuntimes, AFinalSaveRefusedAsStaleStopsNothingTwice) {
  auto gated = std::make_shared<GatedStore>(db_.store());
  auto a = std::make_unique<Runtime>(reg_, on(gated));
  mint_on(*a);
  gated->fail_saves = true;
  ASSERT_EQ(inc(*a), Result::Ok);
  gated->fail_saves = false;
  db_.store()->remove(cid_);  // another server ended it
  a.reset();
  EXPECT_EQ(*stops_, 1);
  EXPECT_EQ(db_.store()->load(cid_), std::nullopt);
  EXPECT_EQ(lost_events(), 1u) << "the dropped final save is named";
}

// end() removes the conversation from the store before it forgets the
// slot: an event that comes meanwhile finds the slot, waits, and sees that
// it ended. (Forgotten first, the event loaded the still-stored record
// back to life and ran its handler on it.)
TEST_F(PostgresRuntimes, AnEventDuringEndFindsItEndedNotReloaded) {
  auto gated = std::make_shared<GatedStore>(db_.store());
  Runtime a(reg_, on(gated));
  mint_on(a);
  gated->hold(GatedStore::Gate::remove);
  std::jthread ender([&] { a.end(cid_); });
  ASSERT_TRUE(gated->wait_arrived());
  std::atomic<pid_t> event_thread{0};
  auto event = std::async(std::launch::async, [&] {
    event_thread = gettid();
    return inc(a);
  });
  // The event must wait for end() (blocked on the conversation's lock), not
  // be answered while end() is inside.
  const auto waits_or_answered = [&] {
    return event.wait_for(std::chrono::seconds(0)) == std::future_status::ready ||
           (event_thread != 0 && blocked_in_futex(event_thread));
  };
  ASSERT_TRUE(eventually(waits_or_answered));
  EXPECT_EQ(event.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the event was answered while end() was inside";
  gated->release();
  ender.join();
  EXPECT_EQ(event.get(), Result::NoConversation);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(db_.store()->load(cid_), std::nullopt);
}

// Two requests load the same conversation at once; the one that got it
// ends it, and the remove fails: the other's load, returning the
// still-stored record, must not bring the ended conversation back.
TEST_F(PostgresRuntimes, ALoadRacingAnEndWhoseRemoveFailedDoesNotReviveIt) {
  auto gated = std::make_shared<GatedStore>(db_.store());
  Runtime a(reg_, on(gated));
  Runtime other(reg_, on(db_.store()));
  mint_on(other);
  gated->hold(GatedStore::Gate::load);
  auto slow = std::async(std::launch::async, [&] { return inc(a); });
  ASSERT_TRUE(gated->wait_arrived());
  ASSERT_EQ(inc(a), Result::Ok);  // loaded it (the gate holds only the first)
  gated->fail_removes = true;
  a.end(cid_);
  gated->release();
  EXPECT_EQ(slow.get(), Result::NoConversation);
  EXPECT_EQ(a.size(), 0u);
  gated->fail_removes = false;
}

// The same when the remove works: the other request's load read the record
// before the end removed it, and must not bring it back either (its handler
// would run on an ended conversation, and the stop hooks twice).
TEST_F(PostgresRuntimes, ALoadRacingAnEndDoesNotReviveIt) {
  auto gated = std::make_shared<GatedStore>(db_.store());
  Runtime a(reg_, on(gated));
  Runtime other(reg_, on(db_.store()));
  mint_on(other);
  gated->hold(GatedStore::Gate::loaded);
  auto slow = std::async(std::launch::async, [&] { return inc(a); });
  ASSERT_TRUE(gated->wait_arrived());  // it has read the record
  ASSERT_EQ(inc(a), Result::Ok);       // loaded it too (the gate holds only the first)
  a.end(cid_);
  ASSERT_EQ(db_.store()->load(cid_), std::nullopt);
  gated->release();
  EXPECT_EQ(slow.get(), Result::NoConversation);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(*stops_, 1) << "the ended conversation's stop hooks ran again";
}

// A conversation that a request is loading when the runtime shuts down is
// not kept: shutdown would never stop or save it.
TEST_F(PostgresRuntimes, AConversationLoadedDuringShutdownIsNotKept) {
  auto gated = std::make_shared<GatedStore>(db_.store());
  Runtime a(reg_, on(gated));
  Runtime other(reg_, on(db_.store()));
  mint_on(other);
  gated->hold(GatedStore::Gate::load);
  auto event = std::async(std::launch::async, [&] { return inc(a); });
  ASSERT_TRUE(gated->wait_arrived());
  a.shutdown();
  gated->release();
  EXPECT_EQ(event.get(), Result::NoConversation);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(stored_count(), 0);
}

// Counts the streams the runtime closed.
class CloseCounter {
 public:
  class Stream : public Output {
   public:
    explicit Stream(CloseCounter& counter) : counter_(counter) {}
    void send(const std::vector<Fragment>&) override {}
    void close() override { counter_.closed(); }

   private:
    CloseCounter& counter_;
  };

  bool wait_for(int n, std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return closed_ >= n; });
  }

 private:
  void closed() {
    std::lock_guard lock(mu_);
    ++closed_;
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  int closed_ = 0;
};

class PostgresReaper : public PostgresRuntimes {
 protected:
  // Mints `n` conversations, each with an open stream, on a runtime whose
  // reaper ends them `batch` per reap() transaction (ttl 10 ms; a round
  // every 4 s, and minting takes far less, even under a sanitizer on a
  // loaded machine, so the first round finds them all idle). Returns the reaper's "ended" lines,
  // one per round, once every stream is closed and the runtime is gone.
  std::vector<std::string> reap_all(int n, std::size_t batch) {
    RuntimeOptions o = on(db_.store());
    o.conversation_ttl = std::chrono::milliseconds(10);
    o.reaper_interval = std::chrono::seconds(4);
    o.reaper_batch = batch;
    auto r = std::make_unique<Runtime>(reg_, o);
    CloseCounter closes;
    for (int i = 0; i < n; ++i) {
      const Runtime::Minted m = r->mint("pg/counter");
      EXPECT_EQ(r->attach(m.cid, m.owner, std::make_shared<CloseCounter::Stream>(closes)),
                Result::Ok);
    }
    EXPECT_TRUE(closes.wait_for(n, std::chrono::seconds(60))) << "the reaper did not end them all";
    r.reset();  // joins the timer thread: every round's log line is written
    std::vector<std::string> rounds;
    for (const std::string& m : capture_.at(log::Level::info))
      if (m.starts_with("reaper ended")) rounds.push_back(m);
    return rounds;
  }
};

// Only one server reaps at a time, and the store reports a reaped cid
// once: the server serving a conversation that another server's round
// reaped ends its copy too (stop hooks, stream closed), instead of keeping
// it until its next event or shutdown. Here b (no copies, rounds every
// 50 ms) reaps what a serves. The ttl leaves a stalled test thread time to
// attach each conversation it minted before it goes.
TEST_F(PostgresReaper, CopiesOfConversationsAnotherServerReapedEndToo) {
  RuntimeOptions serving = on(db_.store());
  serving.conversation_ttl = std::chrono::seconds(2);
  serving.reaper_interval = std::chrono::milliseconds(300);
  RuntimeOptions reaping = serving;
  reaping.reaper_interval = std::chrono::milliseconds(50);
  auto a = std::make_unique<Runtime>(reg_, serving);
  auto b = std::make_unique<Runtime>(reg_, reaping);
  CloseCounter closes;
  constexpr int kConversations = 10;
  for (int i = 0; i < kConversations; ++i) {
    const Runtime::Minted m = a->mint("pg/counter");
    ASSERT_EQ(a->attach(m.cid, m.owner, std::make_shared<CloseCounter::Stream>(closes)),
              Result::Ok);
  }
  EXPECT_TRUE(closes.wait_for(kConversations, std::chrono::seconds(30)))
      << "copies of conversations the other server reaped live on";
  b.reset();
  a.reset();      // joins its timer thread: every round's line is written
  int ended = 0;  // by a's reaper (b holds no copies), not by a's shutdown
  for (const std::string& line : capture_.at(log::Level::info))
    if (line.starts_with("reaper ended ")) ended += std::stoi(line.substr(13));
  EXPECT_EQ(ended, kConversations);
}

// Looking up the copies another server may have reaped costs a load each,
// on the timer thread: none while the store is down (the round's reap
// failed), where each would wait out the connection's timeout.
TEST_F(PostgresReaper, IdleCopiesAreNotLookedUpWhileTheStoreIsDown) {
  auto gated = std::make_shared<GatedStore>(db_.store());
  RuntimeOptions o = on(gated);
  o.conversation_ttl = std::chrono::milliseconds(50);
  o.reaper_interval = std::chrono::milliseconds(60);
  o.reaper_batch = 3;
  gated->fail_reaps = true;
  auto a = std::make_unique<Runtime>(reg_, o);
  for (int i = 0; i < 5; ++i) (void)a->mint("pg/counter");
  // Rounds run while the store is down: a warning each, no loads.
  const auto rounds_failed = [](int n) {
    return [n](const std::vector<std::string>& errors) {
      int failed = 0;
      for (const std::string& e : errors) failed += e.starts_with("store reap failed") ? 1 : 0;
      return failed >= n;
    };
  };
  ASSERT_TRUE(capture_.wait_for(log::Level::error, rounds_failed(3), std::chrono::seconds(30)));
  EXPECT_EQ(gated->loads.load(), 0) << "idle copies were looked up in a store that is down";
  a.reset();
}

// One reaper round repeats its batch while batches come back full: a fleet
// whose conversations go idle faster than one batch per interval would
// otherwise fall behind for good.
TEST_F(PostgresReaper, OneRoundEndsMoreThanOneBatch) {
  // Three transactions (3 + 3 + 1) in the first round, not one per interval.
  EXPECT_EQ(reap_all(7, 3), std::vector<std::string>{"reaper ended 7 idle conversation(s)"});
  EXPECT_EQ(db_.sql()->one("SELECT count(*) FROM stube_conversations WHERE deleted_at IS NOT NULL"),
            "7");
  EXPECT_TRUE(capture_.at(log::Level::warn).empty());
}

// A round stops after 20 batches (the timer thread also fires the
// components' timers) and says so; the next round takes the rest.
TEST_F(PostgresReaper, ARoundIsBoundedAndSaysWhenItLeavesSomeForLater) {
  EXPECT_EQ(reap_all(21, 1), (std::vector<std::string>{"reaper ended 20 idle conversation(s)",
                                                       "reaper ended 1 idle conversation(s)"}));
  const auto warnings = capture_.at(log::Level::warn);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("raise reaper_batch"), std::string::npos) << warnings[0];
}

// A save that failed while the database was down left the row's touched
// behind the live one: another server's reaper then ended a conversation
// whose user was active. The reaper's next round saves it again.
TEST_F(PostgresRuntimes, AChangeWhoseSaveFailedIsSavedAgainByTheReaper) {
  auto gated = std::make_shared<GatedStore>(db_.store());
  RuntimeOptions o = on(gated);
  o.conversation_ttl = std::chrono::hours(1);
  o.reaper_interval = std::chrono::milliseconds(20);
  Runtime a(reg_, o);
  const Runtime::Minted m = a.mint("pg/counter");
  const std::string iid = std::string(top_instance(*a.conversation(m.cid)));
  gated->fail_saves = true;
  ASSERT_EQ(a.dispatch(m.cid, iid, Event{"inc"}, m.owner), Result::Ok);
  const auto stored_count = [&] {
    const auto c = db_.store()->load(m.cid);
    return c ? instance(*c, iid)[":count"] : Value();
  };
  EXPECT_EQ(stored_count(), Value(0));
  gated->fail_saves = false;
  EXPECT_TRUE(
      capture_.wait_for_line(log::Level::info, {m.cid, "saved again"}, std::chrono::seconds(30)));
  EXPECT_EQ(stored_count(), Value(1)) << "the failed save was never made again";
}

// Server B never held the conversation (it started first), so the first
// event on B must load it; with the database down that is a temporary
// failure (HTTP 503), not "this conversation has ended" (410).
TEST_F(PostgresRuntimes, ADownDatabaseIsATemporaryFailureNotAnEnd) {
  Runtime b(reg_, on(db_.store()));
  Runtime a(reg_, on(db_.store()));
  mint_on(a);
  ASSERT_EQ(inc(a), Result::Ok);
  {
    ServerStopped down;
    EXPECT_EQ(inc(b), Result::Unavailable);
    EXPECT_EQ(b.conversation(cid_), std::nullopt) << "nothing half-loaded";
    down.start();
  }
  ASSERT_EQ(inc(b), Result::Ok) << "loaded on the first request after the database came back";
  EXPECT_EQ(stored_count(), 2);
}

}  // namespace
}  // namespace stube::test
