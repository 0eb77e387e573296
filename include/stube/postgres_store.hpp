// stube/postgres_store.hpp — conversations in a PostgreSQL database, shared
// by several server processes (SPEC §7; the "shared backends" part of
// stube/store.hpp).
//
//   auto store = stube::postgres_store("host=db.internal dbname=app user=stube");
//   auto same  = stube::open_store("postgresql://stube@db.internal/app");
//
// One row per conversation in the table stube_conversations, created on
// first use unless create_schema is false (see docs/store.md,
// "postgres_store" and "Several servers, one database"):
//
//  * save() is a compare-and-set on :conv/version (absent = 0): version v is
//    stored as v+1 only while the stored version is still v and the
//    conversation was not removed; it returns conv with :conv/version v+1 and
//    otherwise throws StaleConversation, writing nothing;
//  * remove() leaves a tombstone, so no later save from any process brings
//    the conversation back (delete wins); tombstones older than
//    `tombstone_ttl` are purged by reap(), on open, and now and then by
//    remove();
//  * load(cid) reads one conversation (load-on-miss after a failover);
//  * reap() ends idle conversations in batches, one process at a time (a
//    transaction-level advisory lock).
//
// Every operation is thread-safe: calls run on a small pool of connections,
// each used by one thread at a time; a call that finds them all busy for
// `acquire_timeout` is a StoreError. A connection that was lost (server
// restart, pg_terminate_backend, network) is re-established and the
// statement retried once (a reap whose COMMIT's reply was lost asks the
// server whether it committed); a database that stays unreachable is a
// StoreError, never a crash. Connections default to a 10 s connect_timeout
// and TCP keepalives (libpq has neither), so a dead network or server ends
// in a StoreError too; whatever conninfo, the PG* environment or PGSERVICE
// sets wins. There is no default statement_timeout (docs/store.md says why).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "stube/store.hpp"

namespace stube {

struct PostgresStoreOptions {
  // Connections opened at most (lazily, one per concurrent operation).
  std::size_t pool_size = 4;
  // How long a removed conversation's tombstone keeps late saves out. More
  // than 1,000 years counts as 1,000 years (PostgreSQL's timestamps end).
  std::chrono::seconds tombstone_ttl{std::chrono::hours(24)};
  // False: open only a database that already holds stube's schema, and
  // change nothing on open (no schema, no purge of old tombstones): opening
  // runs SELECTs only. A database without the schema is a MissingStore
  // naming it. stube-store's read-only commands open with false.
  bool create_schema = true;
  // How long an operation waits for a connection when all pool_size are
  // busy (a database that hangs holds them all) before it throws
  // StoreError naming the database. Zero: fail at once (the URL option takes
  // whole seconds, 1 or more; set this field for zero); more than a year
  // counts as a year. (New fields go after the older ones, so that
  // positional initialisers written for those keep their meaning.)
  std::chrono::milliseconds acquire_timeout{std::chrono::seconds(30)};
  // The largest record a save writes, in bytes: at most 1 GiB less 1 MiB
  // (PostgreSQL's limit on a value and on a message; a larger option counts
  // as that). A save of a larger conversation throws StoreError naming it,
  // and nothing is written.
  std::size_t max_record_bytes = (std::size_t{1} << 30) - (std::size_t{1} << 20);
};

// A store over the database `conninfo` names: a libpq connection string
// ("host=… dbname=…") or URI ("postgresql://user@host:port/db?…"). Connects
// once and creates the schema if missing (unless options.create_schema is
// false: then MissingStore naming the database). Throws StoreError naming
// the database when it cannot connect, or when the schema is newer than
// this library understands; std::invalid_argument with libpq's reason (the
// password hidden) when libpq cannot read `conninfo`.
std::shared_ptr<ConversationStore> postgres_store(const std::string& conninfo,
                                                  PostgresStoreOptions options = {});

}  // namespace stube
