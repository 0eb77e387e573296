// The store conformance suite (see conformance.hpp), and its instantiation
// for the file store in both durability modes.
#include "conformance.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "edn/packed.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"

namespace stube::test {
namespace {

using edn::kw;
using edn::Value;

// What scan() visits: every stored record's text by cid, unchecked.
std::map<std::string, std::string> scanned(ConversationStore& store) {
  std::map<std::string, std::string> out;
  store.scan([&out](std::string_view cid, std::string_view text) { out.emplace(cid, text); });
  return out;
}

std::vector<std::string> cids_of(const std::map<std::string, std::string>& records) {
  std::vector<std::string> cids;
  for (const auto& [cid, text] : records) cids.push_back(cid);
  return cids;
}

// How many of `lines` mention `cid`.
std::size_t naming(const std::vector<std::string>& lines, std::string_view cid) {
  return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [cid](const auto& l) {
    return l.find(cid) != std::string::npos;
  }));
}

TEST_P(StoreConformance, RoundTripsVariedConversations) {
  std::map<std::string, Value> saved;
  {
    auto store = open();
    for (unsigned seed = 0; seed < 40; ++seed) {
      const std::string cid = conv::mint_id();
      const Value c = varied_conversation(cid, seed);
      const Value returned = store->save(c);
      EXPECT_EQ(returned, as_saved(*store, c));
      saved.emplace(cid, returned);
    }
  }
  const ConversationMap loaded = open()->load_all();
  ASSERT_EQ(loaded.size(), saved.size());
  for (const auto& [cid, c] : saved) {
    const auto it = loaded.find(cid);
    ASSERT_NE(it, loaded.end()) << cid;
    EXPECT_EQ(it->second, c) << cid;
    // Value == takes -0.0 for 0.0 and any NaN for any other: the printed
    // text tells them apart.
    EXPECT_EQ(edn::write(it->second), edn::write(c)) << cid;
  }
}

TEST_P(StoreConformance, LoadAllOfAnEmptyStoreIsEmpty) {
  EXPECT_TRUE(open()->load_all().empty());
}

TEST_P(StoreConformance, SaveReplacesTheStoredValue) {
  auto store = open();
  const Value v1 = varied_conversation("cv-replace", 1);
  const Value v2 = v1.assoc(kw("version"), 2);
  const Value s1 = store->save(v1);
  const Value s2 = store->save(on_top_of(*store, s1, v2));
  EXPECT_EQ(s2, as_saved(*store, v2, 2));
  const ConversationMap loaded = open()->load_all();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded.at("cv-replace"), s2);
}

TEST_P(StoreConformance, RemoveIsIdempotent) {
  auto store = open();
  EXPECT_NO_THROW(store->remove("cv-never-saved"));
  store->save(conv::make("cv-gone"));
  EXPECT_NO_THROW(store->remove("cv-gone"));
  EXPECT_NO_THROW(store->remove("cv-gone"));
  EXPECT_TRUE(open()->load_all().empty());
}

TEST_P(StoreConformance, RemoveThenLoadAllKeepsTheOthers) {
  auto store = open();
  store->save(varied_conversation("cv-a", 2));
  const Value b = store->save(varied_conversation("cv-b", 3));
  store->remove("cv-a");
  const ConversationMap loaded = open()->load_all();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded.at("cv-b"), b);
}

TEST_P(StoreConformance, NonPrintableIsSkippedWithAWarning) {
  auto store = open();
  const Value durable = store->save(varied_conversation("cv-flow", 4));
  const Value live = on_top_of(*store, durable, unprintable_conversation("cv-flow"));
  const Value fresh = unprintable_conversation("cv-fresh-flow");
  LogCapture capture;
  Value returned;
  ASSERT_NO_THROW(returned = store->save(live));
  // Opaque values compare by identity: the very same value (not stored, so
  // for a shared store also no new version).
  EXPECT_EQ(returned, live);
  ASSERT_NO_THROW(store->save(fresh));

  const auto warnings = capture.at(log::Level::warn);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("\"cv-flow\""), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("task component"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("\"cv-fresh-flow\""), std::string::npos) << warnings[1];
  // A flow skips a save at every step: one warning per conversation says it.
  ASSERT_NO_THROW(store->save(live));
  ASSERT_NO_THROW(store->save(fresh));
  EXPECT_EQ(capture.at(log::Level::warn).size(), 2u);

  // The stored copy is the last printable one; the fresh flow was never stored.
  const ConversationMap loaded = open()->load_all();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded.at("cv-flow"), durable);
  // The next printable save goes through (a shared store still holds the
  // version the caller has).
  const Value next = varied_conversation("cv-flow", 5);
  EXPECT_EQ(store->save(on_top_of(*store, returned, next)), as_saved(*store, next, 2));
}

// A conversation the reader could not load back is not written at all: it
// would be lost at the next load_all anyway, and the older stored copy is
// better than none.
TEST_P(StoreConformance, TooDeepToLoadBackIsSkippedWithAWarning) {
  auto store = open();
  const Value durable = store->save(varied_conversation("cv-deep", 4));
  Value nested = edn::vec({});
  const auto nest_to = [&](std::size_t depth) {  // the conversation map is one level
    while (nested.depth() < depth - 1) nested = edn::vec({nested});
    return on_top_of(*store, durable, varied_conversation("cv-deep", 5).assoc(kw("deep"), nested));
  };
  LogCapture capture;
  const Value too_deep = nest_to(1001);
  ASSERT_EQ(too_deep.depth(), 1001u);
  EXPECT_EQ(store->save(too_deep), too_deep);
  const auto warnings = capture.at(log::Level::warn);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("\"cv-deep\""), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("1001 levels deep"), std::string::npos) << warnings[0];
  EXPECT_EQ(open()->load_all().at("cv-deep"), durable);

  // 1000 levels is still fine, and loads back equal.
  nested = edn::vec({});
  const Value deepest = nest_to(1000);
  const Value saved = store->save(deepest);
  EXPECT_EQ(open()->load_all().at("cv-deep"), saved);
  EXPECT_EQ(capture.at(log::Level::warn).size(), 1u);
}

TEST_P(StoreConformance, RejectsInvalidIdsBeforeTouchingStorage) {
  auto store = open();
  for (const std::string& bad : std::vector<std::string>{"../x", "a/b", "", std::string(129, 'a'),
                                                         "a b", ".", "..", "x\ny", "é"}) {
    EXPECT_THROW(store->save(conv::make("cv-ok").assoc(conv::keys::id(), Value(bad))), InvalidCid)
        << bad;
    EXPECT_THROW(store->remove(bad), InvalidCid) << bad;
  }
  // Bytes that are not UTF-8 (a cid from a raw request) are an InvalidCid
  // too, whose message shows them; quoting them used to throw edn::TypeError.
  try {
    store->remove("cv-\xff\xc3");
    ADD_FAILURE() << "a cid that is not UTF-8 was taken";
  } catch (const InvalidCid& e) {
    EXPECT_NE(std::string_view(e.what()).find(R"("cv-\xFF\xC3")"), std::string_view::npos)
        << e.what();
  }
  EXPECT_THROW(store->save(edn::map({{kw("conv/id"), 7}})), InvalidCid);
  EXPECT_THROW(store->save(edn::map({})), InvalidCid);
  EXPECT_THROW(store->save(edn::vec({Value("cv-x")})), InvalidCid);
  EXPECT_NO_THROW(store->save(conv::make(std::string(128, 'a'))));
  // Nothing was written under an invalid id first: the one record stored
  // is the valid one, and loading finds nothing to skip.
  EXPECT_EQ(cids_of(scanned(*open())), std::vector<std::string>{std::string(128, 'a')});
  LogCapture capture;
  EXPECT_EQ(open()->load_all().size(), 1u);
  EXPECT_EQ(capture.at(log::Level::warn), std::vector<std::string>{});
}

TEST_P(StoreConformance, ManyConversations) {
  constexpr int kCount = 1000;
  std::map<std::string, Value> saved;
  {
    auto store = open();
    for (int i = 0; i < kCount; ++i) {
      const std::string cid = "cv-many-" + std::to_string(i);
      const Value c = conv::make(cid, edn::Instant{1700000000 + i, 0}).assoc(kw("n"), i);
      const Value returned = store->save(c);
      EXPECT_EQ(returned, as_saved(*store, c));
      saved.emplace(cid, returned);
    }
  }
  const ConversationMap loaded = open()->load_all();
  ASSERT_EQ(loaded.size(), saved.size());
  for (const auto& [cid, c] : saved) EXPECT_EQ(loaded.at(cid), c) << cid;
}

// Loaded conversations are kept after the store is gone, change like any
// value, and give all their memory back when dropped (the stores of this
// library load into packed chunks: src/edn/packed.hpp).
TEST_P(StoreConformance, LoadedConversationsOutliveTheStoreAndFreeTheirMemory) {
  const std::size_t chunks_before = edn::detail::packed_chunks_live();
  std::map<std::string, Value> saved;
  {
    auto store = open();
    for (unsigned i = 0; i < 300; ++i) {
      const std::string cid = "cv-outlive-" + std::to_string(i);
      saved.emplace(cid, store->save(varied_conversation(cid, i)));
    }
  }
  ConversationMap loaded = open()->load_all();
  ASSERT_EQ(loaded.size(), saved.size());
  for (auto& [cid, c] : loaded) {
    EXPECT_EQ(c, saved.at(cid)) << cid;
    c = c.assoc(kw("touched-after-load"), true);
    EXPECT_EQ(c.dissoc(kw("touched-after-load")), saved.at(cid)) << cid;
  }
  loaded.clear();
  EXPECT_EQ(edn::detail::packed_chunks_live(), chunks_before);
}

TEST_P(StoreConformance, ConcurrentSavesOfDifferentConversations) {
  constexpr int kThreads = 6;
  constexpr int kCidsPerThread = 20;
  constexpr int kVersions = 10;
  auto store = open();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      std::vector<Value> last(kCidsPerThread);
      for (int v = 0; v < kVersions; ++v) {
        for (int k = 0; k < kCidsPerThread; ++k) {
          const std::string cid = "cv-t" + std::to_string(t) + "-" + std::to_string(k);
          const Value next =
              varied_conversation(cid, static_cast<unsigned>(t * 100 + k)).assoc(kw("version"), v);
          Value& l = last[static_cast<std::size_t>(k)];
          l = store->save(v == 0 ? next : on_top_of(*store, l, next));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const ConversationMap loaded = open()->load_all();
  ASSERT_EQ(loaded.size(), static_cast<std::size_t>(kThreads * kCidsPerThread));
  for (int t = 0; t < kThreads; ++t) {
    for (int k = 0; k < kCidsPerThread; ++k) {
      const std::string cid = "cv-t" + std::to_string(t) + "-" + std::to_string(k);
      EXPECT_EQ(loaded.at(cid),
                as_saved(*store,
                         varied_conversation(cid, static_cast<unsigned>(t * 100 + k))
                             .assoc(kw("version"), kVersions - 1),
                         kVersions))
          << cid;
    }
  }
}

TEST_P(StoreConformance, LargeConversationsRoundTrip) {
  const Value big = large_conversation("cv-large", 3u << 20);
  ASSERT_GE(edn::write(big).size(), 3u << 20);
  const Value bigger = large_conversation("cv-larger", 8u << 20);
  auto store = open();
  EXPECT_TRUE(store->save(big) == as_saved(*store, big));
  EXPECT_TRUE(store->save(bigger) == as_saved(*store, bigger));
  const ConversationMap loaded = open()->load_all();
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_TRUE(loaded.at("cv-large") == as_saved(*store, big));
  EXPECT_TRUE(loaded.at("cv-larger") == as_saved(*store, bigger));
}

// Its argument for a local store; with the next :conv/version for a shared one.
TEST_P(StoreConformance, SaveReturnsItsArgument) {
  auto store = open();
  const Value c = varied_conversation("cv-returned", 9);
  const Value s1 = store->save(c);
  EXPECT_EQ(s1, as_saved(*store, c, 1));
  EXPECT_EQ(store->save(on_top_of(*store, s1, c)), as_saved(*store, c, 2));
}

// Records a backend must skip, by cid: unterminated EDN, not a map, a map
// whose :conv/id names another record, a map without a string :conv/id.
const std::map<std::string, std::string>& bad_records() {
  static const std::map<std::string, std::string> records{
      {"cv-unterminated", "{:conv/id \"cv-unterminated\" :x [1 2"},
      {"cv-vector", "[:conv/id \"cv-vector\"]"},
      // Names the good record: a backend keying by :conv/id would load it
      // in cv-good's place.
      {"cv-mismatch", "{:conv/id \"cv-good\" :conv/instances {}}"},
      {"cv-number-id", "{:conv/id 7}"},
  };
  return records;
}

// One bad record must not keep a server from starting (load_all failing),
// nor be loaded, nor be deleted: a person may want to look at it.
TEST_P(StoreBadRecords, LoadAllSkipsEachBadRecordNamingItAndLeavesItInPlace) {
  const Value good = open()->save(varied_conversation("cv-good", 6));
  for (const auto& [cid, text] : bad_records()) put_raw(cid, text);
  LogCapture capture;
  ConversationMap loaded;
  ASSERT_NO_THROW(loaded = open()->load_all());
  EXPECT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded["cv-good"], good);
  const std::vector<std::string> warnings = capture.at(log::Level::warn);
  EXPECT_EQ(warnings.size(), bad_records().size());
  for (const auto& [cid, text] : bad_records()) EXPECT_EQ(naming(warnings, cid), 1u) << cid;

  std::map<std::string, std::string> stored = scanned(*open());
  EXPECT_EQ(stored.size(), bad_records().size() + 1);
  for (const auto& [cid, text] : bad_records()) EXPECT_EQ(stored[cid], text) << cid;
}

std::shared_ptr<ConversationStore> rename_store(const std::filesystem::path& dir) {
  return file_store(dir);
}
std::shared_ptr<ConversationStore> durable_store(const std::filesystem::path& dir) {
  return file_store(dir, {.durability = Durability::durable});
}
std::shared_ptr<ConversationStore> one_thread_store(const std::filesystem::path& dir) {
  return file_store(dir, {.load_threads = 1});
}

// The file <cid>.edn, as the store names it.
void put_file(const std::filesystem::path& dir, std::string_view cid, std::string_view text) {
  std::ofstream out(dir / (std::string(cid) + ".edn"), std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + std::string(cid) + ".edn");
}

const Backend kFileBackends[] = {{"rename", rename_store, put_file},
                                 {"durable", durable_store, put_file},
                                 {"one_load_thread", one_thread_store, put_file}};

INSTANTIATE_TEST_SUITE_P(File, StoreConformance, ::testing::ValuesIn(kFileBackends), BackendName{});
INSTANTIATE_TEST_SUITE_P(File, StoreBadRecords, ::testing::ValuesIn(kFileBackends), BackendName{});

}  // namespace
}  // namespace stube::test
