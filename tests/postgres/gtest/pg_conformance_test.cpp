// The store conformance suite (tests/store/conformance.hpp) for the
// PostgreSQL store. The suite is version-aware: for a shared store it saves
// on top of what each save returned and expects the next :conv/version, so
// it runs unchanged here. SharedStoreConformance adds what only a shared
// store promises.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pg_support.hpp"
#include "store/conformance.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"

namespace stube::test {
namespace {

using edn::kw;
using edn::Value;

const Value kVersion = Value::keyword("conv", "version");

// One database per conformance scratch directory, so reopening a store over
// the same directory sees the same data. Dropped when the program exits.
const TestDatabase& database_of(const std::filesystem::path& scratch) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<TestDatabase>> databases;
  std::lock_guard lock(mu);
  auto& db = databases[scratch.string()];
  if (!db) db = std::make_unique<TestDatabase>();
  return *db;
}

std::shared_ptr<ConversationStore> postgres_over(const std::filesystem::path& scratch) {
  return database_of(scratch).store();
}

// `text` as an SQL string literal (standard_conforming_strings: only ' is special).
std::string sql_quoted(std::string_view text) {
  std::string out = "'";
  for (const char c : text) out.append(c == '\'' ? "''" : std::string(1, c));
  return out + "'";
}

// The live row of `cid`, written past the store.
void put_row(const std::filesystem::path& scratch, std::string_view cid, std::string_view text) {
  database_of(scratch).sql()->run(
      "INSERT INTO stube_conversations (cid, edn, version, touched) VALUES (" + sql_quoted(cid) +
      ", convert_to(" + sql_quoted(text) +
      ", 'UTF8'), 1, now()) ON CONFLICT (cid) DO UPDATE SET edn = excluded.edn, "
      "deleted_at = NULL");
}

const Backend kPostgres{"postgres", postgres_over, put_row};

INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformance, ::testing::Values(kPostgres), BackendName{});
INSTANTIATE_TEST_SUITE_P(Postgres, StoreBadRecords, ::testing::Values(kPostgres), BackendName{});

class SharedStoreConformance : public StoreConformance {};

// What a shared store returns for (and later loads as) c saved `times` times.
Value versioned(const Value& c, std::int64_t times = 1) {
  return c.assoc(kVersion, times);
}

TEST_P(SharedStoreConformance, IsShared) {
  EXPECT_TRUE(open()->shared());
}

TEST_P(SharedStoreConformance, SaveReturnsTheNextVersion) {
  auto store = open();
  const Value c = varied_conversation("cv-returned", 9);
  const Value s1 = store->save(c);
  EXPECT_EQ(s1, versioned(c, 1));
  EXPECT_EQ(store->save(s1), versioned(c, 2));
}

INSTANTIATE_TEST_SUITE_P(Postgres, SharedStoreConformance, ::testing::Values(kPostgres),
                         BackendName{});

}  // namespace
}  // namespace stube::test
