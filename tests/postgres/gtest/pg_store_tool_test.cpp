// stube-store against a real PostgreSQL server: migrate a file store into
// the database and back, re-run on top of the stored versions, and ls /
// verify / stats / show over raw rows (tombstones hidden, bad rows named).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "pg_support.hpp"
#include "store/support.hpp"
#include "stube/conversation.hpp"
#include "tools/run_tool.hpp"

namespace stube::test {
namespace {

using edn::kw;
using edn::Value;

const Value kVersion = Value::keyword("conv", "version");

ConversationMap without_versions(const ConversationMap& convs) {
  ConversationMap out;
  for (const auto& [cid, conv] : convs) out.emplace(cid, conv.dissoc(kVersion));
  return out;
}

std::size_t line_count(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

class PostgresStoreTool : public ::testing::Test {
 protected:
  std::string file_url() const { return "file:" + dir_.path().string(); }
  // Ten varied conversations in the file store.
  ConversationMap fill_files() {
    auto files = file_store(dir_.path());
    for (unsigned seed = 0; seed < 10; ++seed) {
      files->save(varied_conversation("cv-" + std::to_string(seed), seed));
    }
    return files->load_all();
  }

  ScratchDir dir_{"pg-store-tool"};
  TestDatabase db_;
};

TEST_F(PostgresStoreTool, MigratesAFileStoreIntoTheDatabase) {
  const ConversationMap source = fill_files();
  const ToolRun r = stube_store({"migrate", file_url(), db_.url()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "10 copied, 0 kept (newer or unreadable in TO), 0 skipped (unreadable), 0 failed\n");
  const ConversationMap stored = db_.store()->load_all();
  EXPECT_EQ(without_versions(stored), source);
  for (const auto& [cid, conv] : stored) EXPECT_EQ(conv.get(kVersion), Value(1)) << cid;
}

// The same database under another spelling (postgres: for postgresql:, an
// extra option) used to be copied onto itself, every version bumped, so that
// a live server's next save of each conversation was refused as stale.
TEST_F(PostgresStoreTool, RefusesToCopyTheDatabaseOntoItselfUnderAnotherSpelling) {
  fill_files();
  ASSERT_EQ(stube_store({"migrate", file_url(), db_.url()}).status, 0);
  const ConversationMap before = db_.store()->load_all();
  std::string other = db_.url();
  ASSERT_TRUE(other.starts_with("postgresql:")) << other;
  other.replace(0, 11, "postgres:");
  other += other.find('?') == std::string::npos ? "?" : "&";
  other += "application_name=another";
  const ToolRun r = stube_store({"migrate", db_.url(), other});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("same store"), std::string::npos) << r.err;
  EXPECT_EQ(db_.store()->load_all(), before);
}

TEST_F(PostgresStoreTool, ReRunningSavesOnTopOfTheStoredVersions) {
  ConversationMap source = fill_files();
  ASSERT_EQ(stube_store({"migrate", file_url(), db_.url()}).status, 0);
  // A server moved one conversation on in the meantime (version 2).
  auto db = db_.store();
  db->save(db->load("cv-3")->assoc(kw("moved"), true));
  const ToolRun again = stube_store({"migrate", file_url(), db_.url()});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.out,
            "10 copied, 0 kept (newer or unreadable in TO), 0 skipped (unreadable), 0 failed\n");
  const ConversationMap stored = db_.store()->load_all();
  EXPECT_EQ(without_versions(stored), source);  // the file copy wins, as asked
  EXPECT_EQ(stored.at("cv-3").get(kVersion), Value(3));
  EXPECT_EQ(stored.at("cv-0").get(kVersion), Value(2));
}

TEST_F(PostgresStoreTool, ARemovedConversationIsNotResurrected) {
  fill_files();
  ASSERT_EQ(stube_store({"migrate", file_url(), db_.url()}).status, 0);
  db_.store()->remove("cv-5");  // delete wins, also against the tool
  const ToolRun r = stube_store({"migrate", file_url(), db_.url()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out,
            "9 copied, 0 kept (newer or unreadable in TO), 0 skipped (unreadable), 1 failed\n");
  EXPECT_NE(r.err.find("failed cv-5: "), std::string::npos) << r.err;
  EXPECT_FALSE(db_.store()->load("cv-5"));
}

// A row TO holds but cannot read cannot be replaced by a compare-and-set:
// the refusal says so, instead of naming a race with another process.
TEST_F(PostgresStoreTool, ACopyOverAnUnreadableRowSaysWhyItFailed) {
  fill_files();
  ASSERT_EQ(stube_store({"migrate", file_url(), db_.url()}).status, 0);
  db_.sql()->run(
      "UPDATE stube_conversations SET edn = convert_to('{:conv/id', 'UTF8') "
      "WHERE cid = 'cv-2'");
  const ToolRun r = stube_store({"migrate", "--overwrite", file_url(), db_.url()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out,
            "9 copied, 0 kept (newer or unreadable in TO), 0 skipped (unreadable), 1 failed\n");
  EXPECT_NE(r.err.find("failed cv-2: TO holds a record of it that cannot be read (not valid EDN"),
            std::string::npos)
      << r.err;
}

TEST_F(PostgresStoreTool, MigratesBackIntoFiles) {
  const ConversationMap source = fill_files();
  ASSERT_EQ(stube_store({"migrate", file_url(), db_.url()}).status, 0);
  ScratchDir back("pg-store-tool-back");
  const ToolRun r = stube_store({"migrate", db_.url(), "file:" + back.path().string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "10 copied, 0 kept (newer or unreadable in TO), 0 skipped (unreadable), 0 failed\n");
  EXPECT_EQ(without_versions(file_store(back.path())->load_all()), source);
}

TEST_F(PostgresStoreTool, ReadsRawRowsHidingTombstonesAndNamingBadOnes) {
  fill_files();
  ASSERT_EQ(stube_store({"migrate", file_url(), db_.url()}).status, 0);
  db_.store()->remove("cv-1");
  db_.sql()->run(
      "UPDATE stube_conversations SET edn = convert_to('{:conv/id', 'UTF8') "
      "WHERE cid = 'cv-2'");

  const ToolRun verify = stube_store({"verify", db_.url()});
  EXPECT_EQ(verify.status, 1);
  EXPECT_EQ(verify.out.substr(0, 5), "cv-2:") << verify.out;
  EXPECT_NE(verify.out.find("not valid EDN"), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("8 ok, 1 unreadable\n"), std::string::npos) << verify.out;

  const ToolRun ls = stube_store({"ls", db_.url()});
  EXPECT_EQ(ls.status, 0) << ls.err;
  EXPECT_EQ(line_count(ls.out), 10u) << ls.out;  // header + 9 rows
  EXPECT_EQ(ls.out.find("cv-1 "), std::string::npos) << ls.out;

  const ToolRun stats = stube_store({"stats", db_.url()});
  EXPECT_EQ(stats.status, 0) << stats.err;
  EXPECT_TRUE(stats.out.starts_with("conversations: 8\nunreadable: 1\ntotal bytes: ")) << stats.out;

  const ToolRun show = stube_store({"show", db_.url(), "cv-4"});
  EXPECT_EQ(show.status, 0) << show.err;
  EXPECT_EQ(edn::read(show.out), *db_.store()->load("cv-4"));
  EXPECT_EQ(stube_store({"show", db_.url(), "cv-1"}).status, 1);  // removed
  EXPECT_EQ(stube_store({"show", db_.url(), "cv-2"}).status, 1);  // unreadable
}

TEST_F(PostgresStoreTool, ScanVisitsLiveRowsAsStoredInCidOrder) {
  auto store = db_.store();
  const Value b = store->save(varied_conversation("cv-b", 2));
  const Value a = store->save(varied_conversation("cv-a", 1));
  store->save(conv::make("cv-gone"));
  store->remove("cv-gone");
  std::vector<std::pair<std::string, std::string>> seen;
  store->scan([&](std::string_view cid, std::string_view text) { seen.emplace_back(cid, text); });
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{{"cv-a", edn::write(a)},
                                                                    {"cv-b", edn::write(b)}}));
}

// docs/store.md, "Missing stores": the read-only commands open the database
// with open_existing_store (create_schema=false, even when the URL says
// create_schema=true), so pointed at a database without stube's tables
// they fail, naming it without its password, and create nothing.
TEST_F(PostgresStoreTool, ReadOnlyCommandsRefuseADatabaseWithoutTheSchemaAndCreateNothing) {
  // Trust authentication ignores the password; the messages must hide it.
  std::string url = db_.url();
  url.insert(url.find('@'), ":s3cret");
  const std::string named = db_.url().insert(db_.url().find('@'), ":***");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"ls", url},
           {"show", url, "cv-a"},
           {"verify", url},
           {"stats", url},
           {"ls", url + "?application_name=stube-tool-test&create_schema=true"},
           {"migrate", url, file_url()}}) {
    const ToolRun r = stube_store(args);
    EXPECT_EQ(r.status, 1) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("no store at " + named), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("database " + db_.name() + " on "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("holds no stube store (no table stube_conversations); nothing was "
                         "created"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("s3cret"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << args[0];
  }
  EXPECT_EQ(db_.sql()->one("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_name LIKE 'stube%'"),
            "0");
  EXPECT_EQ(db_.sql()->one("SELECT to_regclass('stube_conversations') IS NULL"), "t");
}

// migrate creates its TO's schema unless the URL says create_schema=false:
// then a database without it is named as the missing target, and left as
// it was.
TEST_F(PostgresStoreTool, MigrateToADatabaseThatMustHoldTheSchemaAndDoesNot) {
  fill_files();
  std::string url = db_.url();
  url.insert(url.find('@'), ":s3cret");
  const std::string named = db_.url().insert(db_.url().find('@'), ":***");
  const ToolRun r = stube_store({"migrate", file_url(), url + "?create_schema=false"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("TO " + named +
                       "?create_schema=false is not an existing store, and its create_schema=false "
                       "forbids creating one (without create_schema=false, migrate creates it): "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("holds no stube store"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("s3cret"), std::string::npos) << r.err;
  EXPECT_EQ(db_.sql()->one("SELECT to_regclass('stube_conversations') IS NULL"), "t");
}

// A bad option is a usage error naming the URL as the user typed it.
TEST_F(PostgresStoreTool, ABadOptionNamesTheUrlAsTyped) {
  const std::string url = db_.url() + "?pool_size=0";
  const ToolRun r = stube_store({"ls", url});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find(url + "\""), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("pool_size=0&create_schema"), std::string::npos) << r.err;
}

TEST_F(PostgresStoreTool, WritingCreatesTheSchemaAndReadingThenWorks) {
  const ToolRun migrate = stube_store({"migrate", file_url(), db_.url()});  // no conversations
  ASSERT_EQ(migrate.status, 0) << migrate.err;
  EXPECT_EQ(migrate.out,
            "0 copied, 0 kept (newer or unreadable in TO), 0 skipped (unreadable), 0 failed\n");
  EXPECT_EQ(db_.sql()->one("SELECT to_regclass('stube_conversations') IS NOT NULL"), "t");
  for (const char* command : {"ls", "verify", "stats"}) {
    const ToolRun r = stube_store({command, db_.url()});
    EXPECT_EQ(r.status, 0) << command << ": " << r.err;
  }
  fill_files();
  ASSERT_EQ(stube_store({"migrate", file_url(), db_.url()}).status, 0);
  const ToolRun ls = stube_store({"ls", db_.url()});
  EXPECT_EQ(ls.status, 0) << ls.err;
  EXPECT_EQ(line_count(ls.out), 11u) << ls.out;  // header + 10 rows
}

TEST_F(PostgresStoreTool, AnUnreachableDatabaseIsAFailure) {
  const ToolRun r = stube_store({"ls", "postgresql://stube@127.0.0.1:1/nowhere"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cannot open postgresql://stube@127.0.0.1:1/nowhere"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("no stube store"), std::string::npos) << r.err;  // a backend failure
}

}  // namespace
}  // namespace stube::test
