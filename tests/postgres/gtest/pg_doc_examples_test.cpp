// The postgres_store example of docs/store.md, compiled and run. Its
// conninfo strings name a deployment's database (db.internal), so the block
// runs inside namespace doc_pg, whose `stube` namespace is the real one
// except for the two factories: they check that libpq accepts the string the
// doc wrote (PQconninfoParse), then open the test's database with the doc's
// options. The marked region must stay byte-identical to the doc
// (tests/kernel/docs_test.cpp checks), so it is left unformatted.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "pg_support.hpp"
#include "stube/conversation.hpp"
#include "stube/postgres_store.hpp"
#include "stube/store.hpp"

namespace doc_pg {

const stube::test::TestDatabase*& test_db() {
  static const stube::test::TestDatabase* db = nullptr;
  return db;
}

// libpq's reading of a conninfo: keyword -> value of the ones given.
std::map<std::string, std::string> parsed(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (!options) {
    const std::string reason = error ? error : "out of memory";
    PQfreemem(error);
    throw std::invalid_argument("libpq cannot parse " + conninfo + ": " + reason);
  }
  std::map<std::string, std::string> out;
  for (PQconninfoOption* o = options; o->keyword; ++o)
    if (o->val) out[o->keyword] = o->val;
  PQconninfoFree(options);
  return out;
}

// What the doc's strings asked for, in the order the block gave them.
std::vector<std::map<std::string, std::string>>& asked() {
  static std::vector<std::map<std::string, std::string>> v;
  return v;
}

namespace stube {
using namespace ::stube;
inline std::shared_ptr<ConversationStore> postgres_store(const std::string& conninfo,
                                                         PostgresStoreOptions options = {}) {
  asked().push_back(parsed(conninfo));
  return ::stube::postgres_store(test_db()->conninfo(), options);
}
inline std::shared_ptr<ConversationStore> open_store(std::string_view url) {
  if (url.substr(0, 13) != "postgresql://") throw std::logic_error("not a postgresql: URL");
  asked().push_back(parsed(std::string(url)));
  return ::stube::open_store(test_db()->url());
}
}  // namespace stube

std::map<std::string, std::shared_ptr<::stube::ConversationStore>> postgres_store_example() {
  // clang-format off
// snippet: store-postgres
#include "stube/postgres_store.hpp"

auto store = stube::postgres_store("host=db.internal dbname=app user=stube");
auto same  = stube::postgres_store("postgresql://stube@db.internal:5432/app?sslmode=require",
                                   {.pool_size = 8, .tombstone_ttl = std::chrono::hours(1)});
auto url   = stube::open_store("postgresql://stube@db.internal/app");   // default options
// end snippet
  // clang-format on
  return {{"store", store}, {"same", same}, {"url", url}};
}

}  // namespace doc_pg

namespace stube::test {
namespace {

TEST(PgDocs, PostgresStoreExample) {
  TestDatabase db;
  doc_pg::test_db() = &db;
  doc_pg::asked().clear();
  auto stores = doc_pg::postgres_store_example();
  doc_pg::test_db() = nullptr;
  // libpq reads the three strings as the doc means them.
  const auto& asked = doc_pg::asked();
  ASSERT_EQ(asked.size(), 3u);
  for (const auto& a : asked) {
    EXPECT_EQ(a.at("host"), "db.internal");
    EXPECT_EQ(a.at("dbname"), "app");
    EXPECT_EQ(a.at("user"), "stube");
  }
  EXPECT_EQ(asked[1].at("port"), "5432");
  EXPECT_EQ(asked[1].at("sslmode"), "require");
  // Shared stores over one database: each sees the others' saves.
  for (const auto& [name, store] : stores) EXPECT_TRUE(store->shared()) << name;
  const edn::Value conv = conv::new_conversation();
  const std::string cid(conv::id(conv));
  const edn::Value saved = stores.at("store")->save(conv);
  EXPECT_EQ(stores.at("same")->load(cid), saved);
  EXPECT_EQ(stores.at("url")->load_all().at(cid), saved);
  stores.at("url")->remove(cid);
  EXPECT_EQ(stores.at("same")->load(cid), std::nullopt);
}

}  // namespace
}  // namespace stube::test
