// ConversationStore::scan: every stored record as raw text, for tools
// (stube-store verify): the file store's own, and the default over load_all.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include "stube/conversation.hpp"
#include "stube/log.hpp"
#include "stube/store.hpp"
#include "support.hpp"

namespace stube::test {
namespace {

namespace fs = std::filesystem;
using Records = std::vector<std::pair<std::string, std::string>>;

Records scan_all(ConversationStore& store) {
  Records out;
  store.scan([&](std::string_view cid, std::string_view text) { out.emplace_back(cid, text); });
  return out;
}

void spit(const fs::path& file, std::string_view text) {
  std::ofstream(file, std::ios::binary) << text;
}

TEST(FileStoreScan, VisitsEveryRecordAsStoredInNameOrder) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  const edn::Value good = varied_conversation("cv-good", 3);
  store->save(good);
  spit(dir.path() / "cv-broken.edn", "{:conv/id \"cv-broken\"");
  spit(dir.path() / "cv-empty.edn", "");
  spit(dir.path() / "bad name.edn", "{}");  // not a valid cid: still a record to report
  spit(dir.path() / ".hidden.edn", "{}");
  spit(dir.path() / "notes.txt", "not a record");
  EXPECT_EQ(scan_all(*store), (Records{{"bad name", "{}"},
                                       {"cv-broken", "{:conv/id \"cv-broken\""},
                                       {"cv-empty", ""},
                                       {"cv-good", edn::write(good)}}));
}

TEST(FileStoreScan, AnUnreadableRecordIsAStoreErrorNamingIt) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  store->save(conv::make("cv-ok"));
  fs::create_directory(dir.path() / "cv-dir.edn");
  try {
    scan_all(*store);
    FAIL() << "scan skipped a record it could not read";
  } catch (const StoreError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find((dir.path() / "cv-dir.edn").string()), std::string::npos) << what;
    EXPECT_NE(what.find("not a regular file"), std::string::npos) << what;
  }
}

// A record removed after the listing (a server ending a conversation while
// stube-store verify reads the directory) is simply not there: no error.
TEST(FileStoreScan, ARecordRemovedWhileScanningIsSkippedNotAnError) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  for (const char* cid : {"cv-a", "cv-b", "cv-c"}) store->save(conv::make(cid));
  std::vector<std::string> visited, unreadable;
  store->scan_reporting(
      [&](std::string_view cid, std::string_view) {
        visited.emplace_back(cid);
        if (cid == "cv-a") store->remove("cv-b");  // listed already, not yet read
      },
      [&](std::string_view cid, std::string_view why) {
        unreadable.push_back(std::string(cid) + ": " + std::string(why));
      });
  EXPECT_EQ(visited, (std::vector<std::string>{"cv-a", "cv-c"}));
  EXPECT_TRUE(unreadable.empty()) << unreadable.front();
}

// A record removed and saved again while it is read (between the open that
// misses it and the look at its name) is read, never reported unreadable
// nor skipped with a warning. The race is narrow: the loop gives it
// thousands of chances, which without the re-open found it in every run.
TEST(FileStoreScan, ARecordRemovedAndSavedAgainWhileReadIsNotUnreadable) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  const edn::Value c = conv::make("cv-churn");
  store->save(c);
  std::atomic<bool> done{false};
  std::thread churn([&] {
    while (!done) {
      store->remove("cv-churn");
      store->save(c);
    }
  });
  std::vector<std::string> unreadable;
  std::atomic<int> warnings{0};
  auto previous = log::set_sink([&](log::Level level, std::string_view) {
    if (level >= log::Level::warn) ++warnings;
  });
  for (int round = 0; round < 5000 && unreadable.empty(); ++round) {
    store->scan_reporting([](std::string_view, std::string_view) {},
                          [&](std::string_view cid, std::string_view why) {
                            unreadable.push_back(std::string(cid) + ": " + std::string(why));
                          });
    (void)store->load_all();
  }
  done = true;
  churn.join();
  log::set_sink(std::move(previous));
  EXPECT_TRUE(unreadable.empty()) << unreadable.front();
  EXPECT_EQ(warnings, 0);
}

// A symbolic link to nothing is there, and unreadable: reported, not taken
// for a record removed since the listing.
TEST(FileStoreScan, ADanglingSymbolicLinkIsReported) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  store->save(conv::make("cv-ok"));
  fs::create_symlink(dir.path() / "nowhere", dir.path() / "cv-dangle.edn");
  std::vector<std::string> unreadable;
  store->scan_reporting([](std::string_view, std::string_view) {},
                        [&](std::string_view cid, std::string_view why) {
                          unreadable.push_back(std::string(cid) + ": " + std::string(why));
                        });
  EXPECT_EQ(unreadable, std::vector<std::string>{"cv-dangle: a symbolic link to nothing"});
}

// A store with only load_all: scan prints what load_all returns.
class LoadAllOnly final : public ConversationStore {
 public:
  explicit LoadAllOnly(ConversationMap convs) : convs_(std::move(convs)) {}
  ConversationMap load_all() override { return convs_; }
  edn::Value save(const edn::Value& conv) override { return conv; }
  void remove(std::string_view) override {}

 private:
  ConversationMap convs_;
};

TEST(DefaultScan, PrintsEveryConversationLoadAllReturns) {
  const edn::Value a = varied_conversation("cv-a", 1);
  const edn::Value b = varied_conversation("cv-b", 2);
  LoadAllOnly store({{"cv-a", a}, {"cv-b", b}});
  EXPECT_EQ(scan_all(store), (Records{{"cv-a", edn::write(a)}, {"cv-b", edn::write(b)}}));
  EXPECT_TRUE(scan_all(*in_memory_store()).empty());
}

}  // namespace
}  // namespace stube::test
