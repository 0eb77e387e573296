// stube/sqlite_store.hpp — conversations in one SQLite database file, for a
// single server process that wants a real database (SPEC §7).
//
//   auto store = stube::sqlite_store("/var/lib/stube/convs.db");
//   auto fast  = stube::open_store("sqlite:/var/lib/stube/convs.db?synchronous=normal");
//
// One row per conversation in the table stube_conversations (cid primary
// key, the EDN text, :conv/version, :conv/touched as epoch milliseconds,
// indexed), created on first use unless options.create is false; the schema
// version is PRAGMA user_version (see docs/store.md, "sqlite_store"). The
// database runs in WAL mode.
//
// Semantics are the file store's, not a shared store's: save() replaces the
// stored value and returns its argument, remove() is idempotent, shared()
// is false. load(cid) reads one row.
//
// Saves and removes from many threads are batched into group commits: each
// caller queues its statement and waits; one of them runs BEGIN, every
// queued statement, COMMIT, and wakes the others. A save returns only after
// the COMMIT that contains it succeeded, so with the default
// synchronous=FULL an acknowledged save has reached the disk. If the
// commit fails, every caller of that batch gets the StoreError.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "stube/store.hpp"

namespace stube {

// SQLite's PRAGMA synchronous, in WAL mode.
enum class SqliteSync {
  // The WAL is fsynced at every commit: an acknowledged save survives a
  // power loss. The default.
  full,
  // The WAL is fsynced only at checkpoints: still crash-safe for the
  // process and never corrupt, but a power loss may roll back the most
  // recent commits. Much faster on slow disks.
  normal,
};

struct SqliteStoreOptions {
  SqliteSync synchronous = SqliteSync::full;
  // How long an operation waits for a lock another connection (another
  // process, e.g. `stube-store`) holds before it fails with StoreError.
  std::chrono::milliseconds busy_timeout{5000};
  // Threads load_all parses rows with; 0 means one per core.
  unsigned load_threads = 0;
  // false: open only a database file that exists and holds stube's table
  // (stube_conversations), so that a mistyped path or another program's
  // database is refused instead of becoming a store. The table is looked
  // for read-only before anything is written: nothing is created and a
  // database that is not a store is left byte for byte as it was (not
  // switched to WAL mode). A missing file or table is a MissingStore naming
  // the path.
  bool create = true;
  // The largest record a save writes, in bytes (at most a little under
  // SQLite's own limit on a row, SQLITE_LIMIT_LENGTH: 10^9 bytes as Debian
  // builds it, less 512 for the rest of the row). A save
  // of a larger conversation throws StoreError naming it before it joins a
  // group commit, so the saves batched with it are not failed with it.
  std::size_t max_record_bytes = std::size_t{1} << 30;
};

// A store over the SQLite database at `path` (created with mode 0600 if
// missing, unless options.create is false; its directory must exist).
// Throws StoreError naming the path when the file cannot be opened, is not
// a database, or has a schema version newer than this library understands.
std::shared_ptr<ConversationStore> sqlite_store(const std::filesystem::path& path,
                                                SqliteStoreOptions options = {});

}  // namespace stube
