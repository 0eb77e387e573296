// The SQLite store: the conformance suite in both synchronous modes, and
// what is specific to it (schema, settings, damaged rows, group commit,
// backend failures, URLs).
#include "stube/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "conformance.hpp"
#include "sqlite_support.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"
#include "support.hpp"

namespace stube::test {
namespace {

namespace fs = std::filesystem;
using edn::kw;
using edn::Value;

std::shared_ptr<ConversationStore> sqlite_normal(const fs::path& dir) {
  return sqlite_store(dir / "convs.db", {.synchronous = SqliteSync::normal});
}
std::shared_ptr<ConversationStore> sqlite_one_load_thread(const fs::path& dir) {
  return sqlite_store(dir / "convs.db", {.load_threads = 1});
}

// `text` as an SQL string literal.
std::string sql_quoted(std::string_view text) {
  std::string out = "'";
  for (const char c : text) out.append(c == '\'' ? "''" : std::string(1, c));
  return out + "'";
}

// The row of `cid`, written past the store (version and touched stay unset,
// as another program might leave them).
void put_row(const fs::path& dir, std::string_view cid, std::string_view text) {
  RawSqlite(dir / "convs.db")
      .exec("INSERT INTO stube_conversations (cid, edn) VALUES (" + sql_quoted(cid) + ", " +
            sql_quoted(text) + ") ON CONFLICT (cid) DO UPDATE SET edn = excluded.edn");
}

const Backend kSqliteBackends[] = {{"sqlite_normal", sqlite_normal, put_row},
                                   {"sqlite_one_load_thread", sqlite_one_load_thread, put_row}};

// The default (synchronous=full, through open_store) is instantiated by
// docs/store.md's example, in doc_examples_test.cpp.
INSTANTIATE_TEST_SUITE_P(SqliteOptions, StoreConformance, ::testing::ValuesIn(kSqliteBackends),
                         BackendName{});
// The example of docs/store.md ("Writing a new backend").
// clang-format off
// snippet: store-bad-records
INSTANTIATE_TEST_SUITE_P(SqliteOptions, StoreBadRecords, ::testing::ValuesIn(kSqliteBackends),
                         BackendName{});
// end snippet
// clang-format on

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string invalid_url_error(std::string_view url) {
  try {
    open_store(url);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

class SqliteStore : public ::testing::Test {
 protected:
  fs::path db() const { return dir_.path() / "convs.db"; }
  std::shared_ptr<ConversationStore> open(SqliteStoreOptions options = {}) {
    return sqlite_store(db(), options);
  }

  ScratchDir dir_{"sqlite"};
};

TEST_F(SqliteStore, PersistsAcrossReopenAndLoadsOneRow) {
  const Value a = varied_conversation("cv-a", 1);
  const Value b = varied_conversation("cv-b", 2);
  {
    auto store = open();
    EXPECT_FALSE(store->shared());
    store->save(a);
    store->save(b);
  }
  auto store = open();
  EXPECT_EQ(store->load("cv-a"), a);
  EXPECT_EQ(store->load("cv-b"), b);
  EXPECT_EQ(store->load("cv-none"), std::nullopt);
  EXPECT_THROW(store->load("../x"), InvalidCid);
  store->remove("cv-a");
  EXPECT_EQ(open()->load("cv-a"), std::nullopt);
  EXPECT_EQ(open()->load_all().size(), 1u);
}

TEST_F(SqliteStore, TheSchemaIsVersionedAndTheColumnsFilled) {
  const Value c = conv::make("cv-1", edn::Instant{1700000000, 250000000})
                      .assoc(kw("conv/version"), 7)
                      .assoc(kw("n"), 1);
  open()->save(c);
  open()->save(conv::make("cv-2").dissoc(conv::keys::touched()));
  RawSqlite raw(db());
  EXPECT_EQ(raw.one("PRAGMA user_version"), "1");
  EXPECT_EQ(raw.one("SELECT edn FROM stube_conversations WHERE cid = 'cv-1'"), edn::write(c));
  EXPECT_EQ(raw.one("SELECT version FROM stube_conversations WHERE cid = 'cv-1'"), "7");
  EXPECT_EQ(raw.one("SELECT touched FROM stube_conversations WHERE cid = 'cv-1'"), "1700000000250");
  EXPECT_EQ(raw.one("SELECT touched IS NULL FROM stube_conversations WHERE cid = 'cv-2'"), "1");
  EXPECT_EQ(raw.one("SELECT version FROM stube_conversations WHERE cid = 'cv-2'"), "0");
  EXPECT_EQ(raw.one("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                    "tbl_name = 'stube_conversations' AND sql LIKE '%(touched)%'"),
            "stube_conversations_touched");
  // Conversations hold owner tokens: the file is private.
  struct stat st {};
  ASSERT_EQ(::stat(db().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// A database path that is a symbolic link to a file yet to be made (the
// data on another disk): the file it makes is private too, as are the WAL
// files SQLite gives its mode. It was created by SQLite, readable by all.
TEST_F(SqliteStore, ADatabaseMadeThroughASymbolicLinkIsPrivate) {
  const std::filesystem::path target = db().parent_path() / "elsewhere.db";
  const std::filesystem::path link = db().parent_path() / "link.db";
  std::filesystem::create_symlink(target, link);
  const mode_t old_mask = ::umask(022);
  auto store = sqlite_store(link);
  ::umask(old_mask);
  const Value c = conv::make("cv-1");
  store->save(c);
  ASSERT_TRUE(std::filesystem::is_symlink(link)) << "the link was replaced";
  for (const char* suffix : {"", "-wal"}) {
    struct stat st {};
    const std::string file = target.string() + suffix;
    ASSERT_EQ(::stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
  EXPECT_EQ(store->load("cv-1"), c);
}

TEST_F(SqliteStore, ANewerSchemaVersionIsRefused) {
  open()->save(conv::make("cv-1"));
  RawSqlite(db()).exec("PRAGMA user_version = 2");
  const std::string error = store_error_of([&] { open(); });
  EXPECT_TRUE(contains(error, db().string())) << error;
  EXPECT_TRUE(contains(error,
                       "schema version (PRAGMA user_version) is 2, newer than this "
                       "library's (1)"))
      << error;
}

// Many programs keep their own schema version in user_version: a database
// with one set and no stube table is not taken for a stube store (whose
// table would not be created) nor for a newer one, and is left byte for
// byte, in its own journal mode. So is a store whose table was dropped.
TEST_F(SqliteStore, AnotherProgramsVersionedDatabaseIsRefusedAndLeftByteForByte) {
  const fs::path dropped = dir_.path() / "dropped.db";
  sqlite_store(dropped)->save(conv::make("cv-1"));
  RawSqlite(dropped).exec("DROP TABLE stube_conversations; PRAGMA journal_mode = DELETE");
  for (const std::string version : {"1", "3"}) {
    SCOPED_TRACE("user_version " + version);
    const fs::path other = dir_.path() / ("app" + version + ".db");
    std::ofstream(other).close();  // RawSqlite opens, it does not create
    RawSqlite(other).exec(
        "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep'); "
        "PRAGMA user_version = " +
        version);
    const std::string before = slurp(other);
    const std::string error = store_error_of([&] { sqlite_store(other); });
    EXPECT_TRUE(contains(error, "open the database in " + other.string() +
                                    ": PRAGMA user_version is " + version +
                                    " but there is no table stube_conversations"))
        << error;
    EXPECT_FALSE(contains(error, "newer")) << error;
    EXPECT_EQ(slurp(other), before);
    RawSqlite raw(other);
    EXPECT_EQ(raw.one("PRAGMA journal_mode"), "delete");
    EXPECT_EQ(raw.one("SELECT text FROM notes"), "keep");
  }
  EXPECT_TRUE(
      contains(store_error_of([&] { sqlite_store(dropped); }), "no table stube_conversations"));
  EXPECT_EQ(RawSqlite(dropped).one("PRAGMA journal_mode"), "delete");
}

TEST_F(SqliteStore, WalModeAndTheSynchronousSettingAreApplied) {
  LogCapture capture;
  open();
  open({.synchronous = SqliteSync::normal, .busy_timeout = std::chrono::milliseconds(250)});
  open_store("sqlite:" + db().string() + "?synchronous=normal&busy_timeout=40");
  const auto infos = capture.at(log::Level::info);
  ASSERT_EQ(infos.size(), 3u);
  EXPECT_TRUE(contains(infos[0], "journal_mode=wal, synchronous=FULL, busy_timeout=5000 ms"))
      << infos[0];
  EXPECT_TRUE(contains(infos[1], "journal_mode=wal, synchronous=NORMAL, busy_timeout=250 ms"))
      << infos[1];
  EXPECT_TRUE(contains(infos[2], "synchronous=NORMAL, busy_timeout=40 ms")) << infos[2];
  // WAL is a property of the file: a plain connection sees it too.
  EXPECT_EQ(RawSqlite(db()).one("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteStore, UnreadableRowsAreSkippedWithAWarningAndLeftInPlace) {
  const Value good = varied_conversation("cv-good", 3);
  {
    auto store = open();
    store->save(good);
    store->save(conv::make("cv-broken"));
    store->save(conv::make("cv-other"));
  }
  {
    RawSqlite raw(db());
    raw.exec(
        "UPDATE stube_conversations SET edn = '{:conv/id \"cv-broken\" :x [1 2' "
        "WHERE cid = 'cv-broken'");
    raw.exec(
        "UPDATE stube_conversations SET edn = '{:conv/id \"cv-good\"}' "
        "WHERE cid = 'cv-other'");
    raw.exec(
        "INSERT INTO stube_conversations (cid, edn) VALUES ('../bad', '{}'), "
        "('cv-vec', '[1 2]')");
  }
  LogCapture capture;
  auto store = open();
  capture.clear();
  const ConversationMap loaded = store->load_all();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded.at("cv-good"), good);
  const auto warnings = capture.at(log::Level::warn);
  ASSERT_EQ(warnings.size(), 4u);
  const auto warning_for = [&](std::string_view cid) {
    for (const auto& w : warnings) {
      if (contains(w, cid)) return w;
    }
    return std::string("(no warning)");
  };
  const std::string broken = warning_for("\"cv-broken\"");
  EXPECT_TRUE(contains(broken, "not valid EDN")) << broken;
  EXPECT_TRUE(contains(broken, db().string())) << broken;
  EXPECT_TRUE(contains(broken, "left untouched")) << broken;
  EXPECT_TRUE(contains(warning_for("\"cv-other\""), "does not match the row's cid"));
  EXPECT_TRUE(contains(warning_for("\"../bad\""), "not a valid conversation id"));
  EXPECT_TRUE(contains(warning_for("\"cv-vec\""), "not a map but a vector"));
  const auto infos = capture.at(log::Level::info);
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_TRUE(contains(infos[0], "loaded 1 conversation, skipped 4")) << infos[0];

  EXPECT_EQ(store->load("cv-broken"), std::nullopt);
  EXPECT_EQ(capture.at(log::Level::warn).size(), 5u);
  // Nothing was deleted: a person can inspect and fix the rows.
  EXPECT_EQ(RawSqlite(db()).one("SELECT count(*) FROM stube_conversations"), "5");
  // scan hands out every row as stored, readable or not.
  std::map<std::string, std::string> scanned;
  store->scan(
      [&](std::string_view cid, std::string_view text) { scanned[std::string(cid)] = text; });
  ASSERT_EQ(scanned.size(), 5u);
  EXPECT_EQ(scanned.at("cv-broken"), "{:conv/id \"cv-broken\" :x [1 2");
  EXPECT_EQ(scanned.at("cv-good"), edn::write(good));
}

// Makes the one row stored on overflow pages unreadable: its first
// overflow page's pointer to the next one points far past the file's end,
// which SQLite reports as SQLITE_CORRUPT when it reads that row.
void damage_overflow_chain(const fs::path& db) {
  std::string page, size;
  {
    RawSqlite raw(db);
    page = raw.one(
        "SELECT pageno FROM dbstat WHERE name = 'stube_conversations' AND pagetype = 'overflow' "
        "ORDER BY pageno LIMIT 1");
    size = raw.one("PRAGMA page_size");
  }
  std::fstream file(db, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>((std::stoll(page) - 1) * std::stoll(size)));
  file.write("\x7f\xff\xff\xff", 4);
  ASSERT_TRUE(file.good()) << "could not damage page " << page << " of " << db;
}

// One row on a damaged page is an unreadable record, as a file that does
// not parse is for the file store: load_all, load and verify's scan name it
// and read the others, instead of failing whole (a server that would not
// start).
TEST_F(SqliteStore, ARowOnADamagedPageIsSkippedAndTheOthersLoad) {
  // Small ones: only cv-b's row goes to overflow pages.
  const Value a = conv::make("cv-a").assoc(kw("n"), 1);
  const Value c = conv::make("cv-c").assoc(kw("n"), 3);
  const Value d = conv::make("cv-d").assoc(kw("n"), 4);
  {
    auto store = open();
    for (const Value& v : {a, large_conversation("cv-b", 20000), c, d}) store->save(v);
  }
  damage_overflow_chain(db());
  LogCapture capture;
  auto store = open();
  capture.clear();
  const ConversationMap loaded = store->load_all();
  EXPECT_EQ(loaded, (ConversationMap{{"cv-a", a}, {"cv-c", c}, {"cv-d", d}}));
  const auto warnings = capture.at(log::Level::warn);
  ASSERT_FALSE(warnings.empty());
  EXPECT_TRUE(contains(warnings.back(), "skipped conversation \"cv-b\" in " + db().string() +
                                            ": its row is on a damaged page"))
      << warnings.back();
  EXPECT_TRUE(contains(capture.at(log::Level::info).back(), "loaded 3 conversations, skipped 1"));

  EXPECT_EQ(store->load("cv-b"), std::nullopt);
  EXPECT_TRUE(contains(capture.at(log::Level::warn).back(), "damaged page"));
  EXPECT_EQ(store->load("cv-d"), d);

  std::vector<std::string> visited, unreadable;
  store->scan_reporting([&](std::string_view cid, std::string_view) { visited.emplace_back(cid); },
                        [&](std::string_view cid, std::string_view why) {
                          unreadable.emplace_back(cid);
                          EXPECT_TRUE(contains(std::string(why), "malformed")) << why;
                        });
  EXPECT_EQ(visited, (std::vector<std::string>{"cv-a", "cv-c", "cv-d"}));
  EXPECT_EQ(unreadable, std::vector<std::string>{"cv-b"});
  EXPECT_TRUE(contains(store_error_of([&] { store->scan([](auto, auto) {}); }),
                       "conversation \"cv-b\" in " + db().string() + " cannot be read"));
}

// SQLite opens a file it may not write read-only without a word; a store
// that saves refuses it at open instead of failing every save later. (Here
// the file is a read-only bind mount, its directory writable.)
TEST_F(SqliteStore, AReadOnlyFileIsRefusedAtOpen) {
  const fs::path dir = dir_.path() / "disk";
  fs::create_directory(dir);
  const fs::path file = dir / "c.db";
  const int code = in_child_on_tmpfs(dir, 4 << 20, [&] {
    sqlite_store(file)->save(conv::make("cv-1"));
    if (!make_read_only(file)) return 2;
    const std::string message = store_error_of([&] { sqlite_store(file); });
    if (!contains(message, "sqlite store: open the database in " + file.string() +
                               ": the file is not writable")) {
      std::fprintf(stderr, "refusal: \"%s\"\n", message.c_str());
      return 1;
    }
    return 0;
  });
  EXPECT_EQ(code, 0) << "1: the store opened, or its message is wrong (see stderr); 2: no "
                        "read-only file could be mounted; < 0: a signal";
}

TEST_F(SqliteStore, GroupCommitKeepsEveryThreadsLastSave) {
  constexpr int kThreads = 8;
  constexpr int kCids = 4;
  constexpr int kSaves = 40;
  auto store = open();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int s = 0; s < kSaves; ++s) {
        const std::string cid = "cv-" + std::to_string(t) + "-" + std::to_string(s % kCids);
        store->save(conv::make(cid, edn::Instant{1700000000, 0}).assoc(kw("n"), s));
        // A remove and a save of one cid keep their order through the batches.
        if (s % kCids == 0) store->save(conv::make("cv-gone-" + std::to_string(t)));
        if (s % kCids == kCids - 1) store->remove("cv-gone-" + std::to_string(t));
      }
    });
  }
  for (auto& th : threads) th.join();
  const ConversationMap loaded = open()->load_all();
  ASSERT_EQ(loaded.size(), static_cast<std::size_t>(kThreads * kCids));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_FALSE(loaded.contains("cv-gone-" + std::to_string(t)));
    for (int k = 0; k < kCids; ++k) {
      const std::string cid = "cv-" + std::to_string(t) + "-" + std::to_string(k);
      ASSERT_TRUE(loaded.contains(cid)) << cid;
      EXPECT_EQ(loaded.at(cid)[":n"].as_int(), kSaves - kCids + k) << cid;
    }
  }
}

// A conversation over the record limit is refused on its own, before it
// joins a group commit: the saves of other threads, batched around it,
// land.
TEST_F(SqliteStore, AConversationOverTheRecordLimitFailsAloneAndTheOthersLand) {
  const Value small = conv::make("cv-small", edn::Instant{1700000000, 0});
  const std::size_t limit = edn::write(small).size() + 100;
  auto store = open({.max_record_bytes = limit});
  const Value big = conv::make("cv-big").assoc(kw("big"), Value(std::string(limit, 'x')));
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        if (t == 0) {
          try {
            store->save(big);
          } catch (const StoreError& e) {
            ++refused;
            EXPECT_TRUE(contains(e.what(), "\"cv-big\" is ") &&
                        contains(e.what(), "over the record limit of " + std::to_string(limit)))
                << e.what();
          }
        } else {
          store->save(small.assoc(kw("n"), t * 100 + i));  // none of these may fail
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(refused.load(), 20);
  const ConversationMap loaded = open()->load_all();
  EXPECT_TRUE(loaded.contains("cv-small"));
  EXPECT_FALSE(loaded.contains("cv-big"));
}

// Lowers SQLite's limit on a row for the connections opened meanwhile.
class RowLimit {
 public:
  explicit RowLimit(int bytes) {
    limit_ = bytes;
    sqlite3_auto_extension(reinterpret_cast<void (*)()>(&apply));
  }
  ~RowLimit() { sqlite3_cancel_auto_extension(reinterpret_cast<void (*)()>(&apply)); }

 private:
  static int apply(sqlite3* db, char**, const sqlite3_api_routines*) {
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, limit_);
    return SQLITE_OK;
  }
  static inline int limit_ = 0;
};

// SQLite's own limit bounds a whole row: a text just under it, with the
// cid and the rest of the row, is over it. The store's limit leaves that
// room, so such a save too fails alone instead of with its batch
// (SQLITE_TOOBIG).
TEST_F(SqliteStore, ATextAtSqlitesRowLimitFailsAloneAndTheOthersLand) {
  constexpr int kRow = 100000;
  const RowLimit lowered(kRow);
  auto store = open();
  const Value empty = conv::make("cv-big").assoc(kw("big"), Value(std::string()));
  const Value big =
      empty.assoc(kw("big"), Value(std::string(kRow - edn::write(empty).size() - 20, 'x')));
  ASSERT_LT(edn::write(big).size(), static_cast<std::size_t>(kRow));
  std::atomic<int> refused{0}, small_failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        try {
          store->save(t == 0 ? big : conv::make("cv-s" + std::to_string(t)).assoc(kw("n"), i));
        } catch (const StoreError& e) {
          (t == 0 && contains(e.what(), "over the record limit") ? refused : small_failed)++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(refused.load(), 20);
  EXPECT_EQ(small_failed.load(), 0);
  EXPECT_EQ(open()->load_all().size(), 3u);
}

TEST_F(SqliteStore, ABusyDatabaseIsAStoreErrorForEverySaverNamingThePath) {
  auto store = open({.busy_timeout = std::chrono::milliseconds(30)});
  store->save(conv::make("cv-1"));
  RawSqlite other(db());
  other.exec("BEGIN IMMEDIATE");  // holds the write lock
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < errors.size(); ++t) {
    threads.emplace_back([&, t] {
      errors[t] = store_error_of([&] { store->save(conv::make("cv-t" + std::to_string(t))); });
    });
  }
  for (auto& th : threads) th.join();
  for (std::size_t t = 0; t < errors.size(); ++t) {  // each names its own cid, alone or batched
    const std::string& e = errors[t];
    EXPECT_TRUE(contains(e, "sqlite store: begin a transaction for ")) << e;
    EXPECT_TRUE(contains(e, " in " + db().string())) << e;
    EXPECT_TRUE(contains(e, "\"cv-t" + std::to_string(t) + "\"")) << e;
    EXPECT_TRUE(contains(e, "database is locked")) << e;
  }
  const std::string removing = store_error_of([&] { store->remove("cv-1"); });
  EXPECT_TRUE(contains(removing, "database is locked")) << removing;
  EXPECT_TRUE(contains(removing, "the remove of \"cv-1\"")) << removing;
  other.exec("COMMIT");
  // Nothing of the failed batches was written, and the store works again.
  EXPECT_EQ(store->load_all().size(), 1u);
  store->save(conv::make("cv-2"));
  EXPECT_EQ(store->load_all().size(), 2u);
}

TEST_F(SqliteStore, UnopenableDatabasesAreStoreErrorsNamingThePath) {
  const fs::path missing = dir_.path() / "no-such-dir" / "convs.db";
  std::string error = store_error_of([&] { sqlite_store(missing); });
  EXPECT_TRUE(contains(error, missing.string())) << error;
  EXPECT_TRUE(contains(error, "No such file or directory")) << error;

  const fs::path directory = dir_.path() / "a-dir";
  fs::create_directories(directory);
  error = store_error_of([&] { sqlite_store(directory); });
  EXPECT_TRUE(contains(error, directory.string())) << error;
  EXPECT_TRUE(contains(error, "Is a directory")) << error;

  const fs::path garbage = dir_.path() / "garbage.db";
  std::ofstream(garbage) << std::string(8192, 'x');
  error = store_error_of([&] { sqlite_store(garbage); });
  EXPECT_TRUE(contains(error, garbage.string())) << error;
  EXPECT_TRUE(contains(error, "file is not a database")) << error;

  // Reading a FIFO would wait for a writer for ever.
  const fs::path fifo = dir_.path() / "fifo.db";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const bool create : {true, false}) {
    error = store_error_of([&] { sqlite_store(fifo, {.create = create}); });
    EXPECT_TRUE(contains(error, fifo.string() + ": not a regular file")) << error;
  }
}

// SqliteStoreOptions::create = false: no file, no store; nothing created,
// not even the -wal or -shm files.
TEST_F(SqliteStore, WithoutCreateAMissingFileIsAMissingStoreAndIsNotCreated) {
  const std::string error = missing_store_error([&] { open({.create = false}); });
  EXPECT_TRUE(contains(error, "sqlite store: " + db().string() + " does not exist")) << error;
  EXPECT_TRUE(file_names(dir_.path()).empty());

  const fs::path directory = dir_.path() / "a-dir";
  fs::create_directories(directory);
  const std::string dir_error =
      missing_store_error([&] { sqlite_store(directory, {.create = false}); });
  EXPECT_TRUE(contains(dir_error, directory.string() + " is a directory")) << dir_error;
  EXPECT_TRUE(file_names(directory).empty());
  EXPECT_EQ(file_names(dir_.path()), std::vector<std::string>{"a-dir"});
}

// Another program's database is looked at read-only and left exactly as it
// was: not switched to WAL mode, no table added, no -wal or -shm left.
TEST_F(SqliteStore, WithoutCreateAnotherProgramsDatabaseIsAMissingStoreLeftByteForByte) {
  const fs::path other = dir_.path() / "other.db";
  std::ofstream(other).close();  // SQLite reads an empty file as an empty database
  const fs::path empty = dir_.path() / "empty.db";
  std::ofstream(empty).close();
  {
    RawSqlite raw(other);
    raw.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep')");
  }
  const std::string before = slurp(other);
  ASSERT_FALSE(before.empty());
  for (const fs::path& path : {other, empty}) {
    const std::string error = missing_store_error([&] { sqlite_store(path, {.create = false}); });
    EXPECT_TRUE(contains(error, "sqlite store: " + path.string() +
                                    " holds no stube store (no table stube_conversations); "
                                    "nothing was created"))
        << error;
  }
  EXPECT_EQ(slurp(other), before);
  EXPECT_EQ(slurp(empty), "");
  EXPECT_EQ(file_names(dir_.path()), (std::vector<std::string>{"empty.db", "other.db"}));
  RawSqlite raw(other);
  EXPECT_EQ(raw.one("PRAGMA journal_mode"), "delete");
  EXPECT_EQ(raw.one("PRAGMA user_version"), "0");
  EXPECT_EQ(raw.one("SELECT text FROM notes"), "keep");
}

// A file that is not a database is a backend failure, not a missing store.
TEST_F(SqliteStore, WithoutCreateAFileThatIsNotADatabaseIsAPlainStoreError) {
  const std::string garbage(8192, 'x');
  std::ofstream(db()) << garbage;
  const std::string error = missing_store_error([&] { open({.create = false}); });
  EXPECT_TRUE(contains(error, "(not a MissingStore: sqlite store: ")) << error;
  EXPECT_TRUE(contains(error, db().string() + ": file is not a database")) << error;
  EXPECT_EQ(slurp(db()), garbage);
  EXPECT_EQ(file_names(dir_.path()), std::vector<std::string>{"convs.db"});
}

TEST_F(SqliteStore, WithoutCreateAStoreLoadsAndSaves) {
  const Value a = varied_conversation("cv-a", 1);
  const Value b = varied_conversation("cv-b", 2);
  open()->save(a);
  {
    auto store = open({.synchronous = SqliteSync::normal, .create = false});
    const ConversationMap loaded = store->load_all();
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded.at("cv-a"), a);
    store->save(b);
    store->remove("cv-a");
    EXPECT_EQ(store->load("cv-b"), b);
  }
  const ConversationMap loaded = open()->load_all();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded.at("cv-b"), b);
  EXPECT_EQ(RawSqlite(db()).one("PRAGMA journal_mode"), "wal");
}

// Opening without creating migrates nothing: a table made by hand (schema
// version 0), which the default open would complete with its index and
// version, is left as it is; a newer version is refused as by the default.
TEST_F(SqliteStore, WithoutCreateTheSchemaIsCheckedButNeverWritten) {
  std::ofstream(db()).close();
  RawSqlite(db()).exec(
      "CREATE TABLE stube_conversations (cid TEXT NOT NULL PRIMARY KEY, edn TEXT NOT NULL, "
      "version INTEGER NOT NULL DEFAULT 0, touched INTEGER)");
  open({.create = false})->save(conv::make("cv-1"));
  RawSqlite raw(db());
  EXPECT_EQ(raw.one("PRAGMA user_version"), "0");
  EXPECT_EQ(raw.one("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                    "name = 'stube_conversations_touched'"),
            "0");
  EXPECT_EQ(raw.one("SELECT count(*) FROM stube_conversations"), "1");

  raw.exec("PRAGMA user_version = 2");
  const std::string error = missing_store_error([&] { open({.create = false}); });
  EXPECT_TRUE(contains(error, "(not a MissingStore: ")) << error;
  EXPECT_TRUE(contains(error, "(PRAGMA user_version) is 2, newer than this library's (1)"))
      << error;
}

TEST_F(SqliteStore, OpenStoreTakesSqliteUrls) {
  open_store("sqlite:" + db().string())->save(conv::make("cv-1"));
  EXPECT_EQ(open_store("sqlite://" + db().string())->load_all().size(), 1u);
  EXPECT_EQ(open_store("sqlite:" + db().string() + "?synchronous=full")->load_all().size(), 1u);
  EXPECT_EQ(open_store("sqlite:" + db().string() + "?busy_timeout=0&synchronous=normal")
                ->load_all()
                .size(),
            1u);
  const std::string base = "sqlite:" + db().string();
  for (const std::string& bad :
       {base + "?synchronous=fast", base + "?synchronous", base + "?busy_timeout=soon",
        base + "?busy_timeout=-1", base + "?busy_timeout=", base + "?durability=durable",
        base + "?synchronous=normal&"}) {
    const std::string error = invalid_url_error(bad);
    EXPECT_TRUE(contains(error, "\"" + bad + "\"")) << error;
    EXPECT_TRUE(contains(error, "busy_timeout")) << error;
  }
  EXPECT_TRUE(contains(invalid_url_error("sqlite:"), "missing path"));
  EXPECT_TRUE(contains(invalid_url_error("sqlite://relative/x.db"), "absolute path"));
  EXPECT_TRUE(contains(invalid_url_error("nosuch:x"), "sqlite:<path>"));
}

TEST_F(SqliteStore, ARelativePathIsAFileNameEvenWhenSqliteWouldReadItSpecially) {
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_.path());
  try {
    open_store("sqlite::memory:")->save(conv::make("cv-1"));
    EXPECT_EQ(open_store("sqlite::memory:")->load_all().size(), 1u);
    EXPECT_TRUE(fs::exists(dir_.path() / ":memory:"));
  } catch (...) {
    fs::current_path(cwd);
    throw;
  }
  fs::current_path(cwd);
}

}  // namespace
}  // namespace stube::test
