// The SQLite store's schema (versioned by PRAGMA user_version), the
// connection settings, and the statements over the table.
#pragma once

#include <chrono>
#include <string>

#include "store/sqlite_db.hpp"
#include "stube/sqlite_store.hpp"

namespace stube::store_detail::sqlite {

// The schema this library writes; a database with a higher user_version
// was written by a newer stube and is refused.
inline constexpr int kSchemaVersion = 1;

// Busy timeout, WAL mode and the synchronous setting. Throws StoreError
// when WAL cannot be enabled (e.g. a file system without shared memory).
void configure(Db& db, SqliteSync sync, std::chrono::milliseconds busy_timeout);

// Creates the table and index if the database has none (user_version 0),
// in one transaction; throws StoreError for a newer schema version, and as
// refuse_foreign() does.
void ensure_schema(Db& db);

// Read-only, before configure() switches the file to WAL: throws StoreError
// for a database with a user_version set but no table stube_conversations,
// another program's (many keep their own schema version there) or a store
// whose table was dropped; stube creates its table only where user_version
// is 0.
void refuse_foreign(Db& db);

// For SqliteStoreOptions::create = false, before any connection that may
// write: checks, read-only, that `path` is a database holding the table
// stube_conversations with a schema version this library reads. Throws
// MissingStore when the file or the table is missing (a directory is
// missing a database too), StoreError when the file is not a database or
// cannot be read.
void require_store(const std::string& path, const std::string& shown,
                   std::chrono::milliseconds busy_timeout);

// sqlite3_busy_timeout, clamped to what it takes.
void set_busy_timeout(Db& db, std::chrono::milliseconds busy_timeout);

namespace statements {
extern const char* const begin;
extern const char* const commit;
extern const char* const rollback;
extern const char* const upsert;      // ?1 cid, ?2 edn, ?3 version, ?4 touched (ms or NULL)
extern const char* const remove;      // ?1 cid
extern const char* const load;        // ?1 cid -> edn
extern const char* const all;         // -> cid, edn
extern const char* const cids_after;  // ?1 cid -> the cids after it, in order
}  // namespace statements

}  // namespace stube::store_detail::sqlite
