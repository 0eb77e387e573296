// Crash safety: a child process saves in a tight loop and is SIGKILLed at
// random moments; after every kill each record must be one complete version
// and reopening (a minute later) must leave no temporary file behind. For the SQLite store the
// child saves from several threads (group commits) and reports every
// acknowledged save, which must then be in the database.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <stdexcept>
#include <thread>

#include "sqlite_support.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"
#include "stube/sqlite_store.hpp"
#include "stube/store.hpp"
#include "support.hpp"

namespace stube::test {
namespace {

namespace fs = std::filesystem;
using edn::kw;
using edn::Value;

constexpr int kCids = 5;
constexpr int kKills = 220;

std::string cid_of(int k) {
  return "cv-crash-" + std::to_string(k);
}

// Version `v` of a conversation: the version is repeated all through a
// payload whose size also depends on it, so a torn or mixed file cannot
// pass for a complete one.
Value version_of(const std::string& cid, std::int64_t v) {
  const int n = 300 + static_cast<int>(v % 1700);
  std::vector<Value> numbers(static_cast<std::size_t>(n), Value(static_cast<long long>(v)));
  std::string text;
  for (int i = 0; i < n; ++i) text.append(std::to_string(v)).push_back(';');
  return conv::make(cid, {v, 0})
      .assoc(kw("version"), static_cast<long long>(v))
      .assoc(kw("numbers"), edn::vec(numbers))
      .assoc(kw("text"), Value(text));
}

// The child: saves new versions round-robin until it is killed. After the
// first save it writes one byte to `started` and closes it.
[[noreturn]] void save_forever(const fs::path& dir, Durability durability, std::int64_t base,
                               int started) {
  try {
    auto store = file_store(dir, {.durability = durability});
    for (std::int64_t i = 0;; ++i) {
      store->save(version_of(cid_of(static_cast<int>(i % kCids)), base + i));
      if (i == 0) {
        const char byte = 1;
        if (::write(started, &byte, 1) != 1) break;
        ::close(started);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crash-test child failed: %s\n", e.what());
  }
  ::_exit(3);
}

// One round of a crash test: forks a child that runs `child(fd)` (it never
// returns) with the write end of a pipe, waits with `wait_started(fd)` for
// its first save (so that every round makes progress, even on a slow, busy
// disk), lets it run for a random 0-20 ms more and SIGKILLs it. From the
// first save on, a random kill moment is the point of the test: there is no
// synchronisation on purpose.
struct KilledChild {
  int fd;        // the pipe's read end, for what the child wrote; the caller closes it
  bool started;  // wait_started said yes
  bool killed;   // the child died of our SIGKILL, not on its own
  int status;
};

KilledChild run_and_kill(std::mt19937& rng, const std::function<void(int)>& child,
                         const std::function<bool(int)>& wait_started) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    child(fds[1]);
    ::_exit(5);  // not reached: the child saves until it is killed
  }
  ::close(fds[1]);
  KilledChild out{fds[0], wait_started(fds[0]), false, 0};
  std::uniform_int_distribution<int> delay_us(0, 20000);
  std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
  if (::kill(pid, SIGKILL) != 0 || ::waitpid(pid, &out.status, 0) != pid) {
    throw std::runtime_error("cannot kill and reap the crash-test child");
  }
  out.killed = WIFSIGNALED(out.status) && WTERMSIG(out.status) == SIGKILL;
  return out;
}

// The kill moments are random; the seed is printed (and recorded in the
// test's XML output) so a failing run can be replayed with
// STUBE_CRASH_SEED=<seed>.
std::mt19937 seeded_rng() {
  const char* fixed = std::getenv("STUBE_CRASH_SEED");
  const std::uint32_t seed =
      fixed ? static_cast<std::uint32_t>(std::stoul(fixed)) : std::random_device{}();
  std::cout << "kill moments from seed " << seed << " (STUBE_CRASH_SEED)\n";
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return std::mt19937(seed);
}

// What this shows and what it does not: SIGKILL ends the process, not the
// kernel, so the page cache survives and every write the child made is seen
// afterwards whether it was fsynced or not. The test therefore checks the
// rename protocol (a record is always one complete version, never older,
// and no temporary file outlives a reopen) in both modes, and that durable
// mode's extra fsync calls keep that protocol. It cannot tell durable mode
// from rename mode: deleting every fsync would still pass. That a durable
// save is on the disk when it returns would take a power cut (a VM killed
// hard, or dm-flakey / a fault-injecting block device dropping unsynced
// writes), which this test does not do.
class CrashSafety : public ::testing::TestWithParam<Durability> {};

TEST_P(CrashSafety, EveryKillLeavesCompleteVersionsAndNoTemporaryFiles) {
  ScratchDir dir("crash");
  std::mt19937 rng = seeded_rng();
  std::map<std::string, std::int64_t> last_seen;
  int kills_with_temp_file = 0;
  int versions_advanced = 0;

  for (int round = 0; round < kKills; ++round) {
    const std::int64_t base = static_cast<std::int64_t>(round + 1) * 1'000'000'000;
    const KilledChild child = run_and_kill(
        rng, [&](int fd) { save_forever(dir.path(), GetParam(), base, fd); },
        [](int fd) {
          char byte = 0;
          return ::read(fd, &byte, 1) == 1;
        });
    ::close(child.fd);
    ASSERT_TRUE(child.started && child.killed)
        << "the child stopped on its own in round " << round << " (status " << child.status << ")";

    // A restart comes later than a save takes: the killed save's temporary
    // file is a left-over (one written within the last minute could be a
    // save in flight of a writer in another pid namespace).
    for (const auto& name : file_names(dir.path())) {
      if (name[0] != '.') continue;
      ++kills_with_temp_file;
      age_by_two_minutes(dir.path() / name);
    }

    LogCapture capture;
    auto store = file_store(dir.path(), {.durability = GetParam()});
    for (const auto& name : file_names(dir.path())) {
      ASSERT_NE(name[0], '.') << "temporary file left after reopening: " << name;
      const std::string text = slurp(dir.path() / name);
      Value v;
      ASSERT_NO_THROW(v = edn::read(text))
          << name << " after round " << round << ": " << text.size() << " bytes";
      const std::string cid = std::string(conv::id(v));
      ASSERT_EQ(name, cid + ".edn");
      const std::int64_t version = v[":version"].as_int();
      ASSERT_EQ(v, version_of(cid, version)) << name << " is not one complete version";
      ASSERT_GE(version, last_seen[cid]) << name << " went back in time";
      versions_advanced += version > last_seen[cid] ? 1 : 0;
      last_seen[cid] = version;
    }
    const ConversationMap loaded = store->load_all();
    ASSERT_EQ(loaded.size(), file_names(dir.path()).size());
    ASSERT_TRUE(capture.at(log::Level::warn).empty()) << capture.at(log::Level::warn).front();
  }
  // The test only means something if the kills hit the save window (all but
  // certain at these rates) and the children made progress (every round saved
  // at least once, and each first save of a round is a newer version).
  EXPECT_GT(kills_with_temp_file, 0);
  EXPECT_GE(versions_advanced, kKills);
  ::testing::Test::RecordProperty("kills_with_temp_file", kills_with_temp_file);
  ::testing::Test::RecordProperty("versions_advanced", versions_advanced);
  std::printf("%d kills, %d left a temporary file, %d record versions advanced\n", kKills,
              kills_with_temp_file, versions_advanced);
}

// --- SQLite ------------------------------------------------------------------

constexpr int kSqliteKills = 70;  // per synchronous mode: 140 in all
constexpr int kSqliteThreads = 3;
constexpr int kSqliteCids = 6;  // thread t saves cids t and t + kSqliteThreads

// What the child writes to the pipe after a save returned.
struct Ack {
  std::int32_t cid;
  std::int64_t version;
};

// The child: kSqliteThreads threads save new versions of their own cids
// until killed; each acknowledged save is reported through `ack_fd`.
[[noreturn]] void sqlite_save_forever(const fs::path& db, SqliteSync sync, std::int64_t base,
                                      int ack_fd) {
  try {
    auto store = sqlite_store(db, {.synchronous = sync});
    std::vector<std::thread> threads;
    for (int t = 0; t < kSqliteThreads; ++t) {
      threads.emplace_back([&store, t, base, ack_fd] {
        for (std::int64_t i = 0;; ++i) {
          const int k = t + kSqliteThreads * static_cast<int>(i % 2);
          const std::int64_t v = base + i * kSqliteThreads + t;
          store->save(version_of(cid_of(k), v));
          const Ack ack{k, v};
          if (::write(ack_fd, &ack, sizeof ack) != static_cast<ssize_t>(sizeof ack)) ::_exit(4);
        }
      });
    }
    for (auto& th : threads) th.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crash-test child failed: %s\n", e.what());
  }
  ::_exit(3);
}

// Adds the acknowledgements in `fd` to `acked` (the newest version of each
// cid); reads until end of file, or only one when `one`. False if none came.
bool read_acks(int fd, std::map<std::string, std::int64_t>& acked, bool one = false) {
  bool any = false;
  Ack ack{};
  while (::read(fd, &ack, sizeof ack) == static_cast<ssize_t>(sizeof ack)) {
    auto& v = acked[cid_of(ack.cid)];
    v = std::max(v, ack.version);
    any = true;
    if (one) break;
  }
  return any;
}

class SqliteCrashSafety : public ::testing::TestWithParam<SqliteSync> {};

TEST_P(SqliteCrashSafety, EveryKillLeavesCompleteVersionsAndEveryAcknowledgedSave) {
  ScratchDir dir("sqlite-crash");
  const fs::path db = dir.path() / "convs.db";
  std::mt19937 rng = seeded_rng();
  std::map<std::string, std::int64_t> last_seen;
  int versions_advanced = 0;
  int committed_but_unacknowledged = 0;

  for (int round = 0; round < kSqliteKills; ++round) {
    const std::int64_t base = static_cast<std::int64_t>(round + 1) * 1'000'000'000;
    std::map<std::string, std::int64_t> acked;
    const KilledChild child = run_and_kill(
        rng, [&](int fd) { sqlite_save_forever(db, GetParam(), base, fd); },
        // Opening takes a while under FULL on a busy disk.
        [&](int fd) { return read_acks(fd, acked, true); });
    read_acks(child.fd, acked);
    ::close(child.fd);
    ASSERT_TRUE(child.started) << "the child saved nothing in round " << round;
    ASSERT_TRUE(child.killed) << "the child stopped on its own in round " << round << " (status "
                              << child.status << ")";

    LogCapture capture;
    {
      auto store = sqlite_store(db, {.synchronous = GetParam()});
      ASSERT_EQ(RawSqlite(db).one("PRAGMA integrity_check"), "ok") << "after round " << round;
      std::size_t rows = 0;
      store->scan([&](std::string_view cid_view, std::string_view text) {
        ++rows;
        const std::string cid(cid_view);
        Value v;
        ASSERT_NO_THROW(v = edn::read(text)) << cid << " after round " << round;
        ASSERT_EQ(conv::id(v), cid);
        const std::int64_t version = v[":version"].as_int();
        ASSERT_EQ(v, version_of(cid, version)) << cid << " is not one complete version";
        ASSERT_GE(version, last_seen[cid]) << cid << " went back in time";
        if (acked.contains(cid)) {
          ASSERT_GE(version, acked.at(cid))
              << cid << ": an acknowledged save is missing after round " << round;
          committed_but_unacknowledged += version > acked.at(cid) ? 1 : 0;
        }
        versions_advanced += version > last_seen[cid] ? 1 : 0;
        last_seen[cid] = version;
      });
      for (const auto& [cid, v] : acked) ASSERT_TRUE(last_seen.contains(cid)) << cid;
      ASSERT_EQ(store->load_all().size(), rows);
    }
    ASSERT_TRUE(capture.at(log::Level::warn).empty()) << capture.at(log::Level::warn).front();
  }
  EXPECT_GT(versions_advanced, kSqliteKills / 4);
  ::testing::Test::RecordProperty("versions_advanced", versions_advanced);
  std::printf("%d kills, %d record versions advanced, %d commits were not yet acknowledged\n",
              kSqliteKills, versions_advanced, committed_but_unacknowledged);
}

INSTANTIATE_TEST_SUITE_P(SqliteStore, SqliteCrashSafety,
                         ::testing::Values(SqliteSync::full, SqliteSync::normal),
                         [](const ::testing::TestParamInfo<SqliteSync>& info) {
                           return std::string(info.param == SqliteSync::full ? "full" : "normal");
                         });

INSTANTIATE_TEST_SUITE_P(FileStore, CrashSafety,
                         ::testing::Values(Durability::rename, Durability::durable),
                         [](const ::testing::TestParamInfo<Durability>& info) {
                           return std::string(info.param == Durability::rename ? "rename"
                                                                               : "durable");
                         });

}  // namespace
}  // namespace stube::test
