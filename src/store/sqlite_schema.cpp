// The SQLite store's schema and settings. See docs/store.md, "sqlite_store".
#include "store/sqlite_schema.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

#include "stube/store.hpp"

namespace stube::store_detail::sqlite {

namespace statements {
// IMMEDIATE takes the write lock at BEGIN, so a busy database is waited for
// (busy_timeout) there, never half-way through a batch.
const char* const begin = "BEGIN IMMEDIATE";
const char* const commit = "COMMIT";
const char* const rollback = "ROLLBACK";
const char* const upsert =
    "INSERT INTO stube_conversations (cid, edn, version, touched) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (cid) DO UPDATE SET edn = excluded.edn, version = excluded.version, "
    "touched = excluded.touched";
const char* const remove = "DELETE FROM stube_conversations WHERE cid = ?1";
const char* const load = "SELECT edn FROM stube_conversations WHERE cid = ?1";
const char* const all = "SELECT cid, edn FROM stube_conversations ORDER BY cid";
const char* const cids_after = "SELECT cid FROM stube_conversations WHERE cid > ?1 ORDER BY cid";
}  // namespace statements

namespace {

// A rowid table (not WITHOUT ROWID): rows are large (kilobytes to
// megabytes), which SQLite stores better in a rowid table's overflow pages.
constexpr const char* kCreate =
    "CREATE TABLE IF NOT EXISTS stube_conversations ("
    " cid TEXT NOT NULL PRIMARY KEY,"       // :conv/id
    " edn TEXT NOT NULL,"                   // the conversation, as edn::write prints it
    " version INTEGER NOT NULL DEFAULT 0,"  // :conv/version when an integer, else 0
    " touched INTEGER);"                    // :conv/touched, ms since the epoch (NULL: none)
    "CREATE INDEX IF NOT EXISTS stube_conversations_touched ON stube_conversations (touched);"
    "PRAGMA user_version = 1;";
static_assert(kSchemaVersion == 1, "kCreate sets user_version to 1");

// Refuses a schema version this library does not read.
void check_version(const Db& db, std::int64_t found) {
  if (found > kSchemaVersion) {
    fail(db.shown(), "open the database",
         "its stube schema version (PRAGMA user_version) is " + std::to_string(found) +
             ", newer than this library's (" + std::to_string(kSchemaVersion) + "); upgrade stube");
  }
  if (found < 0) {
    fail(db.shown(), "open the database",
         "PRAGMA user_version is " + std::to_string(found) + ", not a stube schema version");
  }
}

bool has_table(Db& db) {
  return db.query_int(
             "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
             "name = 'stube_conversations'",
             "look for the table stube_conversations") != 0;
}

// Returns the schema version (user_version) unless the database is not a
// stube store: see refuse_foreign.
std::int64_t stube_version(Db& db) {
  const std::int64_t found = db.query_int("PRAGMA user_version", "read the schema version");
  if (found != 0 && !has_table(db)) {
    fail(db.shown(), "open the database",
         "PRAGMA user_version is " + std::to_string(found) +
             " but there is no table stube_conversations: another program's database, or a "
             "stube store whose table was dropped (stube creates its table only where "
             "user_version is 0); nothing was changed");
  }
  return found;
}

[[noreturn]] void missing(const std::string& shown, std::string_view why) {
  throw MissingStore("sqlite store: " + shown + " " + std::string(why) + "; nothing was created");
}

}  // namespace

void set_busy_timeout(Db& db, std::chrono::milliseconds busy_timeout) {
  const auto ms = busy_timeout.count();
  sqlite3_busy_timeout(db.get(), ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms < 0 ? 0 : ms));
}

void configure(Db& db, SqliteSync sync, std::chrono::milliseconds busy_timeout) {
  set_busy_timeout(db, busy_timeout);
  const std::string mode = db.query_text("PRAGMA journal_mode = WAL", "switch to WAL mode");
  if (mode != "wal") {
    fail(db.shown(), "switch to WAL mode", "the journal mode stayed \"" + mode + "\"");
  }
  db.exec(sync == SqliteSync::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
          "set synchronous");
  // Read back: what the store reports on open is what the connection runs with.
  const std::int64_t level = db.query_int("PRAGMA synchronous", "read synchronous");
  const std::int64_t wanted = sync == SqliteSync::full ? 2 : 1;
  if (level != wanted) {
    fail(db.shown(), "set synchronous",
         "PRAGMA synchronous is " + std::to_string(level) + ", not " + std::to_string(wanted));
  }
  // Keep a WAL that one huge commit grew from staying large on disk.
  db.exec("PRAGMA journal_size_limit = 67108864", "set journal_size_limit");
}

void ensure_schema(Db& db) {
  constexpr std::string_view what = "create the schema";
  db.exec(statements::begin, what);
  try {
    const std::int64_t found = stube_version(db);
    check_version(db, found);
    if (found == 0) db.exec(kCreate, what);
    db.exec(statements::commit, what);
  } catch (...) {
    sqlite3_exec(db.get(), statements::rollback, nullptr, nullptr, nullptr);
    throw;
  }
}

void refuse_foreign(Db& db) {
  (void)stube_version(db);
}

void require_store(const std::string& path, const std::string& shown,
                   std::chrono::milliseconds busy_timeout) {
  std::error_code ec;
  const auto type = std::filesystem::status(path, ec).type();
  if (type == std::filesystem::file_type::not_found) missing(shown, "does not exist");
  if (type == std::filesystem::file_type::directory) missing(shown, "is a directory");
  Db db(path, shown, OpenMode::read_only);
  // A server's connection may hold a lock a moment (a checkpoint at its
  // close): wait as the store's own connections do, not fail at once.
  set_busy_timeout(db, busy_timeout);
  if (!has_table(db)) missing(shown, "holds no stube store (no table stube_conversations)");
  check_version(db, db.query_int("PRAGMA user_version", "read the schema version"));
}

}  // namespace stube::store_detail::sqlite
