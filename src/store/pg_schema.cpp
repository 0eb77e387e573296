// The schema, created on first use, and the statements over it.
#include "store/pg_schema.hpp"

#include <string>

namespace stube::store_detail::pg {

namespace statements {

const Statement insert{"stube_insert",
                       "INSERT INTO stube_conversations (cid, edn, version, touched) "
                       "VALUES ($1, $2, 1, $3) ON CONFLICT (cid) DO NOTHING",
                       {kText, kBytea, kTimestamptz}};

const Statement update{"stube_update",
                       "UPDATE stube_conversations SET edn = $2, version = $3 + 1, touched = $4 "
                       "WHERE cid = $1 AND version = $3 AND deleted_at IS NULL",
                       {kText, kBytea, kInt8, kTimestamptz}};

const Statement touch{"stube_touch",
                      "UPDATE stube_conversations SET touched = greatest(touched, $3) "
                      "WHERE cid = $1 AND version = $2 AND deleted_at IS NULL",
                      {kText, kInt8, kTimestamptz}};

const Statement probe{"stube_probe",
                      "SELECT version, deleted_at IS NOT NULL, edn = $2 "
                      "FROM stube_conversations WHERE cid = $1",
                      {kText, kBytea}};

const Statement load{"stube_load",
                     "SELECT edn, version FROM stube_conversations "
                     "WHERE cid = $1 AND deleted_at IS NULL",
                     {kText}};

const Statement load_all{"stube_load_all",
                         "SELECT cid, edn, version FROM stube_conversations "
                         "WHERE deleted_at IS NULL",
                         {}};

const Statement scan{"stube_scan",
                     "SELECT cid, edn FROM stube_conversations "
                     "WHERE deleted_at IS NULL ORDER BY cid",
                     {}};

const Statement remove{"stube_remove",
                       "INSERT INTO stube_conversations (cid, edn, version, touched, deleted_at) "
                       "VALUES ($1, ''::bytea, 0, now(), now()) "
                       "ON CONFLICT (cid) DO UPDATE SET edn = ''::bytea, deleted_at = now() "
                       "WHERE stube_conversations.deleted_at IS NULL",
                       {kText}};

const Statement remove_current{"stube_remove_current",
                               "UPDATE stube_conversations SET edn = ''::bytea, deleted_at = now() "
                               "WHERE cid = $1 AND version = $2 AND deleted_at IS NULL",
                               {kText, kInt8}};

const Statement try_reaper_lock{
    "stube_try_reaper_lock", "SELECT pg_try_advisory_xact_lock($1)", {kInt8}};

// The idle ones come off the partial index in touched order; rows a saving
// process holds locked are skipped (that save is about to make them
// fresh), and the rest are tombstoned in the same statement.
const Statement reap{"stube_reap",
                     "WITH idle AS (SELECT cid FROM stube_conversations "
                     "WHERE deleted_at IS NULL AND touched < $1 ORDER BY touched LIMIT $2 "
                     "FOR UPDATE SKIP LOCKED) "
                     "UPDATE stube_conversations AS c SET edn = ''::bytea, deleted_at = now() "
                     "FROM idle WHERE c.cid = idle.cid RETURNING c.cid",
                     {kTimestamptz, kInt8}};

const Statement purge{"stube_purge",
                      "DELETE FROM stube_conversations WHERE cid IN ("
                      "SELECT cid FROM stube_conversations "
                      "WHERE deleted_at < now() - make_interval(secs => $1::float8) LIMIT $2)",
                      {kInt8, kInt8}};

// txid_*, not pg_current_xact_id & co.: the server may be older than 13.
const Statement transaction_id{"stube_transaction_id", "SELECT txid_current_if_assigned()", {}};

const Statement transaction_status{"stube_transaction_status", "SELECT txid_status($1)", {kInt8}};

}  // namespace statements

namespace {

constexpr const char* kCreate[] = {
    "CREATE TABLE stube_conversations ("
    " cid text COLLATE \"C\" PRIMARY KEY,"
    " edn bytea NOT NULL,"
    " version bigint NOT NULL,"
    " touched timestamptz NOT NULL,"
    " deleted_at timestamptz)",
    "CREATE INDEX stube_conversations_idle ON stube_conversations (touched) "
    "WHERE deleted_at IS NULL",
    "CREATE INDEX stube_conversations_tombstones ON stube_conversations (deleted_at) "
    "WHERE deleted_at IS NOT NULL",
    "COMMENT ON TABLE stube_conversations IS 'stube conversations: one EDN document per "
    "conversation id; version is :conv/version (compare-and-set); deleted_at marks a "
    "tombstone. See docs/store.md.'",
    "INSERT INTO stube_schema (version) VALUES (1)",
};

constexpr const char* kVersion = "SELECT max(version)::bigint FROM stube_schema";

void check_version(const Connection& c, std::int64_t found) {
  if (found > kSchemaVersion) {
    throw StoreError("postgres store: " + c.description() + " has stube schema version " +
                     std::to_string(found) + ", newer than this library's (" +
                     std::to_string(kSchemaVersion) + "); upgrade stube");
  }
}

[[noreturn]] void missing(const Connection& c, std::string_view what) {
  throw MissingStore("postgres store: " + c.description() + " holds no stube store (no " +
                     std::string(what) + "); nothing was created");
}

}  // namespace

void ensure_schema(Connection& c) {
  constexpr std::string_view what = "create the schema";
  Transaction tx(c, what);
  c.exec_sql(("SELECT pg_advisory_xact_lock(" + std::to_string(kSchemaLock) + ")").c_str(), what);
  c.exec_sql("CREATE TABLE IF NOT EXISTS stube_schema (version integer NOT NULL)", what);
  const Result r = c.exec_sql(kVersion, what);
  if (r.is_null(0, 0)) {
    for (const char* sql : kCreate) c.exec_sql(sql, what);
  } else {
    check_version(c, r.int8(0, 0));
  }
  tx.commit();
}

void check_schema(Connection& c) {
  constexpr std::string_view what = "check the schema";
  // to_regclass resolves a name as the statements do (search_path) and
  // yields NULL, not an error, for a table that does not exist.
  const Result tables = c.exec_sql(
      "SELECT to_regclass('stube_conversations') IS NOT NULL, "
      "to_regclass('stube_schema') IS NOT NULL",
      what);
  if (!tables.boolean(0, 0)) missing(c, "table stube_conversations");
  if (!tables.boolean(0, 1)) missing(c, "table stube_schema");
  const Result r = c.exec_sql(kVersion, what);
  if (r.is_null(0, 0)) missing(c, "schema version in stube_schema");
  check_version(c, r.int8(0, 0));
}

}  // namespace stube::store_detail::pg
