// The examples of docs/store.md, compiled and run against real stores in a
// scratch directory; each test asserts what the doc says of its code. The
// marked regions must stay byte-identical to the doc's blocks
// (tests/kernel/docs_test.cpp checks), so they are left unformatted.
//
// The doc's paths are a deployment's (/var/lib/stube/…). The blocks that
// open stores run inside namespace doc_paths, whose `stube` namespace is the
// real one except for the store factories: those open the same path under
// the test's scratch directory (doc_root()), so the code runs unchanged
// without touching the machine's /var/lib.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/scratch_dir.hpp"
#include "conformance.hpp"
#include "stube/conversation.hpp"
#include "stube/edn.hpp"
#include "stube/log.hpp"
#include "stube/sqlite_store.hpp"
#include "stube/store.hpp"

// The SQLite store's default instance of the conformance suite, as
// "Writing a new backend" shows it: in the suite's namespace, since the macro
// takes the suite's name unqualified.
namespace stube::test {
// clang-format off
// snippet: store-conformance
#include "conformance.hpp"
INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance,
    ::testing::Values(stube::test::Backend{"sqlite", [](const std::filesystem::path& dir) {
      return stube::open_store("sqlite:" + (dir / "convs.db").string());
    }}),
    stube::test::BackendName{});
// end snippet
// clang-format on
}  // namespace stube::test

namespace fs = std::filesystem;

namespace own_store {
// clang-format off
// snippet: store-own
// A store of your own: a map in memory, with the checks every store makes.
#include <map>
#include <mutex>

#include "stube/log.hpp"
#include "stube/store.hpp"

class MapStore final : public stube::ConversationStore {
 public:
  stube::ConversationMap load_all() override {
    std::lock_guard lock(mu_);
    stube::ConversationMap out;
    for (const auto& [cid, text] : records_) {
      std::string problem;
      if (auto conv = stube::store_checks::read_record(cid, text, "the record's key", problem))
        out.emplace(cid, std::move(*conv));
      else  // skipped with a warning, never deleted
        stube::log::warn("map store: skipped " + cid + ": " + problem);
    }
    return out;
  }
  stube::edn::Value save(const stube::edn::Value& conv) override {
    const std::string_view cid = stube::store_checks::checked_cid("map store", conv);
    if (!stube::store_checks::printable_or_warn("map store", cid, conv, &unsaved_)) return conv;
    std::string text = stube::edn::write(conv);  // printed once, outside the lock
    std::lock_guard lock(mu_);
    records_[std::string(cid)] = std::move(text);
    return conv;
  }
  void remove(std::string_view cid) override {
    stube::store_checks::check_cid("map store", cid);
    std::lock_guard lock(mu_);
    if (auto it = records_.find(cid); it != records_.end()) records_.erase(it);
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> records_;  // cid -> EDN text
  stube::store_checks::UnsavedWarnings unsaved_;  // one warning per conversation
};
// end snippet
// clang-format on
}  // namespace own_store

// The example store passes the conformance suite: "reopening" a scratch
// directory's store is taking the same MapStore again. It has no put_raw
// (its records are private, as the doc shows it), so StoreBadRecords is not
// instantiated for it; nor for the SQLite instance above, whose
// synchronous=normal and one-load-thread siblings (sqlite_store_test.cpp)
// run it.
namespace stube::test {
INSTANTIATE_TEST_SUITE_P(
    OwnMapStore, StoreConformance,
    ::testing::Values(Backend{
        "own_map",
        [](const std::filesystem::path& dir) {
          static std::mutex mu;
          static std::map<std::filesystem::path, std::shared_ptr<own_store::MapStore>> stores;
          std::lock_guard lock(mu);
          auto& store = stores[dir];
          if (!store) store = std::make_shared<own_store::MapStore>();
          return std::shared_ptr<ConversationStore>(store);
        }}),
    BackendName{});
}  // namespace stube::test

// "The contract" as the doc declares it, in a namespace of its own, next to
// the real declarations it summarises.
namespace doc_contract {
namespace edn = ::stube::edn;
// clang-format off
// snippet: store-contract
namespace stube {
using ConversationMap = std::map<std::string, edn::Value, std::less<>>;

class ConversationStore {
 public:
  virtual ConversationMap load_all() = 0;                // cid -> conversation
  virtual edn::Value save(const edn::Value& conv) = 0;   // returns conv
  virtual void remove(std::string_view cid) = 0;         // idempotent
};
}
// end snippet
// clang-format on
}  // namespace doc_contract

namespace {

using Real = ::stube::ConversationStore;
using Doc = doc_contract::stube::ConversationStore;
static_assert(std::is_same_v<doc_contract::stube::ConversationMap, ::stube::ConversationMap>);
static_assert(std::is_same_v<decltype(&Real::load_all), ::stube::ConversationMap (Real::*)()>);
static_assert(std::is_same_v<decltype(&Doc::load_all), ::stube::ConversationMap (Doc::*)()>);
static_assert(std::is_same_v<decltype(&Real::save),
                             ::stube::edn::Value (Real::*)(const ::stube::edn::Value&)>);
static_assert(
    std::is_same_v<decltype(&Doc::save), ::stube::edn::Value (Doc::*)(const ::stube::edn::Value&)>);
static_assert(std::is_same_v<decltype(&Real::remove), void (Real::*)(std::string_view)>);
static_assert(std::is_same_v<decltype(&Doc::remove), void (Doc::*)(std::string_view)>);
static_assert(std::is_abstract_v<Real> && std::is_abstract_v<Doc>);

// The three operations are all a backend must implement ("Writing a new
// backend"): the rest of the real interface has defaults.
class MapStore final : public Real {
 public:
  ::stube::ConversationMap load_all() override {
    std::lock_guard lock(mu_);
    return convs_;
  }
  ::stube::edn::Value save(const ::stube::edn::Value& conv) override {
    std::lock_guard lock(mu_);
    convs_.insert_or_assign(std::string(::stube::conv::id(conv)), conv);
    return conv;
  }
  void remove(std::string_view cid) override {
    std::lock_guard lock(mu_);
    if (auto it = convs_.find(cid); it != convs_.end()) convs_.erase(it);
  }

 private:
  std::mutex mu_;
  ::stube::ConversationMap convs_;
};

TEST(StoreDocs, TheContractIsTheRealInterface) {
  MapStore store;
  const ::stube::edn::Value conv = ::stube::conv::new_conversation();
  const std::string cid(::stube::conv::id(conv));
  EXPECT_EQ(store.save(conv), conv);  // returns conv
  const ::stube::ConversationMap all = store.load_all();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all.find(std::string_view(cid))->second, conv);  // std::less<>: string_view lookup
  store.remove(cid);
  store.remove(cid);  // idempotent
  EXPECT_TRUE(store.load_all().empty());
  EXPECT_FALSE(store.shared());
}

}  // namespace

// The store factories of the doc's blocks, on doc_root().
namespace doc_paths {

fs::path& doc_root() {
  static fs::path root;
  return root;
}
// An absolute path, moved under doc_root().
fs::path rebased(const fs::path& path) {
  if (doc_root().empty()) throw std::logic_error("doc_root() is not set");
  return path.is_absolute() ? doc_root() / path.relative_path() : doc_root() / path;
}
// A file: or sqlite: URL whose path is rebased.
std::string rebased_url(std::string_view url) {
  for (std::string_view scheme : {"file:", "sqlite:"})
    if (url.substr(0, scheme.size()) == scheme)
      return std::string(scheme) + rebased(fs::path(url.substr(scheme.size()))).string();
  throw std::logic_error("not a file: or sqlite: URL: " + std::string(url));
}

namespace stube {
using namespace ::stube;
inline std::shared_ptr<ConversationStore> file_store(const fs::path& dir,
                                                     FileStoreOptions options = {}) {
  return ::stube::file_store(rebased(dir), options);
}
inline std::shared_ptr<ConversationStore> sqlite_store(const fs::path& path,
                                                       SqliteStoreOptions options = {}) {
  return ::stube::sqlite_store(rebased(path), options);
}
inline std::shared_ptr<ConversationStore> open_store(std::string_view url) {
  return ::stube::open_store(rebased_url(url));
}
inline std::shared_ptr<ConversationStore> open_existing_store(std::string_view url) {
  return ::stube::open_existing_store(rebased_url(url));
}
}  // namespace stube

// The stores a block opened, by the names it gave them.
using Stores = std::map<std::string, std::shared_ptr<::stube::ConversationStore>>;

Stores file_store_example() {
  // clang-format off
// snippet: store-file
auto store = stube::file_store("/var/lib/stube/convs");                  // rename only
auto safe  = stube::file_store("/var/lib/stube/convs",
                               {.durability = stube::Durability::durable});
// end snippet
  // clang-format on
  return {{"store", store}, {"safe", safe}};
}

Stores sqlite_store_example() {
  // clang-format off
// snippet: store-sqlite
#include <stube/sqlite_store.hpp>
auto store = stube::sqlite_store("/var/lib/stube/convs.db");             // durable (FULL)
auto fast  = stube::sqlite_store("/var/lib/stube/convs.db",
                                 {.synchronous = stube::SqliteSync::normal});
auto same  = stube::open_store("sqlite:/var/lib/stube/convs.db?synchronous=normal");
// end snippet
  // clang-format on
  return {{"store", store}, {"fast", fast}, {"same", same}};
}

Stores open_existing_store_example() {
  // clang-format off
// snippet: store-open-existing
auto store = stube::open_existing_store("sqlite:/var/lib/stube/convs.db");
// end snippet
  // clang-format on
  return {{"store", store}};
}

}  // namespace doc_paths

namespace stube::test {
namespace {

// Sets doc_paths::doc_root() to a fresh scratch directory for one test.
class StoreDocsOnDisk : public ::testing::Test {
 protected:
  StoreDocsOnDisk() { doc_paths::doc_root() = dir_.path(); }
  ~StoreDocsOnDisk() override { doc_paths::doc_root().clear(); }
  fs::path deployed(const fs::path& path) const { return doc_paths::rebased(path); }
  ScratchDir dir_{"store-docs"};
};

TEST_F(StoreDocsOnDisk, FileStoreOneFilePerConversation) {
  auto stores = doc_paths::file_store_example();
  const fs::path dir = deployed("/var/lib/stube/convs");
  EXPECT_TRUE(fs::is_directory(dir));  // created, with its missing ancestors
  const edn::Value conv = conv::new_conversation();
  const std::string cid(conv::id(conv));
  EXPECT_EQ(stores.at("store")->save(conv), conv);
  const fs::path file = dir / (cid + ".edn");
  ASSERT_TRUE(fs::exists(file));
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Both name the same directory: the durable one sees the save, and what
  // it saves replaces the file in turn.
  EXPECT_EQ(stores.at("safe")->load_all().at(cid), conv);
  const edn::Value later = conv::touch(conv.assoc(edn::kw("n"), 1));
  stores.at("safe")->save(later);
  EXPECT_EQ(stores.at("store")->load_all().at(cid), later);
  stores.at("store")->remove(cid);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(stores.at("store")->shared());
}

TEST_F(StoreDocsOnDisk, SqliteStoreOneDatabaseFile) {
  fs::create_directories(deployed("/var/lib/stube"));  // as a deployment has it
  auto stores = doc_paths::sqlite_store_example();
  EXPECT_TRUE(fs::exists(deployed("/var/lib/stube/convs.db")));
  const edn::Value conv = conv::new_conversation();
  const std::string cid(conv::id(conv));
  EXPECT_EQ(stores.at("store")->save(conv), conv);  // save returns its argument
  // The three open the same database: what one saves the others read.
  EXPECT_EQ(stores.at("fast")->load(cid), conv);  // load(cid) reads one row
  EXPECT_EQ(stores.at("same")->load_all().at(cid), conv);
  stores.at("same")->remove(cid);
  stores.at("same")->remove(cid);  // idempotent
  EXPECT_EQ(stores.at("store")->load(cid), std::nullopt);
  EXPECT_FALSE(stores.at("store")->shared());
}

TEST_F(StoreDocsOnDisk, OpenExistingStoreCreatesNothing) {
  const fs::path db = deployed("/var/lib/stube/convs.db");
  fs::create_directories(db.parent_path());
  // Not there: MissingStore, and nothing is left behind.
  EXPECT_THROW(doc_paths::open_existing_store_example(), MissingStore);
  EXPECT_FALSE(fs::exists(db));
  const edn::Value conv = conv::new_conversation();
  sqlite_store(db)->save(conv);
  auto stores = doc_paths::open_existing_store_example();
  EXPECT_EQ(stores.at("store")->load_all().at(std::string(conv::id(conv))), conv);
  // A URL it cannot take is std::invalid_argument naming it.
  EXPECT_THROW(open_existing_store("sqlite:" + db.string() + "?bogus=1"), std::invalid_argument);
}

TEST(StoreDocs, ConversationHelpers) {
  const edn::Value instance = edn::map({{edn::kw("instance/id"), "ix-1"}, {edn::kw("n"), 1}});
  std::vector<edn::Value> parts;
  // clang-format off
// snippet: store-conversation
edn::Value c = conv::new_conversation();        // fresh id, created = touched = now
c = conv::put_instance(c, "ix-1", instance);
c = conv::with_stack(c, edn::vec({"ix-1"}));
c = conv::push_history(c, 20);                  // snapshot without its own history, ≤ 20 kept
c = conv::touch(c);
conv::id(c); conv::instances(c); conv::stack(c); conv::history(c);
conv::created(c); conv::touched(c); conv::instance(c, "ix-1"); conv::top(c);
// end snippet
  // clang-format on
  const std::string id(conv::id(c));
  EXPECT_EQ(id.substr(0, 3), "cv-");
  EXPECT_EQ(id.size(), 25u);
  EXPECT_TRUE(conv::valid_id(id));
  EXPECT_EQ(conv::instances(c), edn::map({{"ix-1", instance}}));
  EXPECT_EQ(conv::stack(c), edn::vec({"ix-1"}));
  ASSERT_EQ(conv::history(c).size(), 1u);
  const edn::Value& snapshot = conv::history(c)[0];
  EXPECT_FALSE(snapshot.contains(conv::keys::history()));  // without its own history
  EXPECT_EQ(snapshot[":conv/stack"], edn::vec({"ix-1"}));
  EXPECT_EQ(conv::instance(c, "ix-1"), instance);
  EXPECT_EQ(conv::top(c), edn::Value("ix-1"));  // the top frame's id
  EXPECT_LE(conv::created(c), conv::touched(c));
  // ≤ 20 kept.
  for (int i = 0; i < 30; ++i) c = conv::push_history(c, 20);
  EXPECT_EQ(conv::history(c).size(), 20u);
  EXPECT_TRUE(conv::instance(c, "ix-2").is_nil());
  // An accessor of a missing part throws TypeError naming the conversation
  // and the key; find_id does not throw.
  try {
    conv::stack(edn::map({{edn::kw("conv/id"), "cv-x"}}));
    ADD_FAILURE() << "no TypeError";
  } catch (const edn::TypeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cv-x"), std::string::npos) << what;
    EXPECT_NE(what.find(":conv/stack"), std::string::npos) << what;
  }
  EXPECT_EQ(conv::find_id(edn::vec({})), std::nullopt);
  EXPECT_EQ(conv::find_id(c), id);
}

TEST(StoreDocs, ALogSinkOfYourOwn) {
  // clang-format off
// snippet: store-log-sink
std::vector<std::string> seen;
auto previous = stube::log::set_sink([&seen](stube::log::Level level, std::string_view msg) {
  seen.push_back(std::string(stube::log::level_name(level)) + ": " + std::string(msg));
});
stube::log::warn("disk almost full");        // seen: {"warn: disk almost full"}
stube::log::set_sink(std::move(previous));   // an empty function restores stderr
// end snippet
  // clang-format on
  EXPECT_EQ(seen, std::vector<std::string>{"warn: disk almost full"});
  stube::log::debug("after the sink was restored");
  EXPECT_EQ(seen.size(), 1u);
}

}  // namespace
}  // namespace stube::test
