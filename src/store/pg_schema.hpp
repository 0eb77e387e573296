// The PostgreSQL store's schema (version 1) and its statements.
//
//   stube_schema(version integer)        one row: the schema version
//   stube_conversations(
//     cid        text COLLATE "C" PRIMARY KEY,
//     edn        bytea NOT NULL,         the conversation as EDN text ('' in a tombstone)
//     version    bigint NOT NULL,        :conv/version of the stored value
//     touched    timestamptz NOT NULL,   its :conv/touched (the reaper's key)
//     deleted_at timestamptz)            NULL, or when it was removed (a tombstone)
//   index stube_conversations_idle       (touched) WHERE deleted_at IS NULL
//   index stube_conversations_tombstones (deleted_at) WHERE deleted_at IS NOT NULL
//
// The EDN is bytea, not text, because an EDN string may hold a NUL
// character, which a PostgreSQL text value cannot.
#pragma once

#include <cstdint>

#include "store/pg_connection.hpp"

namespace stube::store_detail::pg {

inline constexpr int kSchemaVersion = 1;

// Advisory lock keys ("stube\0\0" + a number): schema creation, and the
// reaper (held for one reap transaction, so one process reaps at a time).
inline constexpr std::int64_t kSchemaLock = 0x7374756265000001;
inline constexpr std::int64_t kReaperLock = 0x7374756265000002;

namespace statements {
// $1 cid, $2 edn, $3 touched: creates version 1 unless the cid exists (live
// or tombstone).
extern const Statement insert;
// $1 cid, $2 edn, $3 expected version, $4 touched: version $3 -> $3 + 1.
extern const Statement update;
// $1 cid, $2 expected version, $3 touched: moves touched (never back) and
// nothing else, for a conversation whose save was skipped (unprintable).
extern const Statement touch;
// $1 cid, $2 edn or NULL -> (version, deleted, edn = $2): why a CAS failed.
extern const Statement probe;
// $1 cid -> (edn, version) when live.
extern const Statement load;
// -> (cid, edn, version) of every live conversation.
extern const Statement load_all;
// -> (cid, edn) of every live conversation, by cid (stube-store).
extern const Statement scan;
// $1 cid: tombstones it, also when it was never saved (delete wins).
extern const Statement remove;
// $1 cid, $2 expected version: tombstones it only while it is live at that
// version (affected: 1), for an end a copy's step asked for.
extern const Statement remove_current;
// $1 lock key (kReaperLock) -> (bool): takes it for this transaction if free.
extern const Statement try_reaper_lock;
// $1 cutoff, $2 batch -> (cid) of the live conversations it tombstoned.
extern const Statement reap;
// $1 age in seconds, $2 batch: deletes tombstones older than that.
extern const Statement purge;
// -> (bigint) this transaction's id, NULL while it has written nothing.
extern const Statement transaction_id;
// $1 transaction id -> (text) 'committed', 'aborted', 'in progress', or
// NULL when it is too old to tell: whether a COMMIT whose reply was lost
// took effect.
extern const Statement transaction_status;
}  // namespace statements

// Creates the schema if missing (under kSchemaLock, so racing processes do
// not collide) and checks its version. Throws StoreError when the database
// holds a newer schema than this library knows.
void ensure_schema(Connection& c);
// Checks, with SELECTs only, that the database holds the schema in a version
// this library reads. Throws MissingStore naming the database when a table
// (or the version row) is missing, StoreError when the schema is newer.
void check_schema(Connection& c);

}  // namespace stube::store_detail::pg
