// The conformance suite every ConversationStore backend runs.
//
// A backend plugs in by instantiating the suite with a way to open it over a
// fresh scratch directory (reopening with the same directory must see the
// same data), in any .cpp of tests/store/:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance,
//       ::testing::Values(stube::test::Backend{"sqlite", [](const std::filesystem::path& dir) {
//         return stube::open_store("sqlite:" + (dir / "convs.db").string());
//       }}),
//       stube::test::BackendName{});
//
// A backend that can hold a record nobody checked (a file, a row another
// program or an older version wrote) also gives `put_raw`, and instantiates
// StoreBadRecords with it as well:
//
//   INSTANTIATE_TEST_SUITE_P(SqliteOptions, StoreBadRecords, ::testing::ValuesIn(kSqliteBackends),
//                            BackendName{});
//
// The test bodies are in conformance_test.cpp; see docs/store.md.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "stube/store.hpp"
#include "support.hpp"

namespace stube::test {

struct Backend {
  std::string name;  // [A-Za-z0-9_] only: it names the test instance
  std::function<std::shared_ptr<ConversationStore>(const std::filesystem::path& scratch)> open;
  // Stores `text` under `cid` in the storage that open(scratch) opens,
  // behind the store's back and unchecked: the file <cid>.edn, the row of
  // that cid. Optional: a backend that cannot hold unchecked text (its
  // records are only ever what its save printed) leaves it empty and is not
  // instantiated for StoreBadRecords.
  std::function<void(const std::filesystem::path& scratch, std::string_view cid,
                     std::string_view text)>
      put_raw = nullptr;
};

inline void PrintTo(const Backend& b, std::ostream* os) {
  *os << b.name;
}

struct BackendName {
  std::string operator()(const ::testing::TestParamInfo<Backend>& info) const {
    return info.param.name;
  }
};

// The suite runs unchanged on local stores (save returns its argument and
// overwrites) and on shared ones (stube/store.hpp: save compare-and-sets on
// :conv/version and returns the conversation with the next version). The
// tests save each new value on top of what the previous save returned
// (on_top_of) and expect what the backend returns (as_saved).
class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  // A new store over this test's storage: a second call sees what the first saved.
  std::shared_ptr<ConversationStore> open() { return GetParam().open(scratch_.path()); }

  // What `store` returns for, and later loads as, `c` when it is the
  // `nth` save of its cid: c itself, or for a shared store c with
  // :conv/version n.
  static edn::Value as_saved(const ConversationStore& store, const edn::Value& c,
                             std::int64_t nth = 1) {
    return store.shared() ? c.assoc(edn::Value::keyword("conv", "version"), nth) : c;
  }

  // `next`, ready to be saved over `returned` (what the last save of its
  // cid returned): for a shared store, with returned's :conv/version.
  static edn::Value on_top_of(const ConversationStore& store, const edn::Value& returned,
                              const edn::Value& next) {
    static const edn::Value version = edn::Value::keyword("conv", "version");
    return store.shared() ? next.assoc(version, returned.get(version)) : next;
  }

  ScratchDir scratch_{"conformance"};
};

// Records the backend did not write itself (damaged, or another program's):
// load_all must skip each with a warning naming it, load the rest, and leave
// it where it is. Instantiated only for backends with a put_raw.
class StoreBadRecords : public StoreConformance {
 protected:
  void SetUp() override {
    ASSERT_TRUE(GetParam().put_raw) << GetParam().name << " has no put_raw: do not instantiate "
                                    << "StoreBadRecords for it";
  }
  void put_raw(std::string_view cid, std::string_view text) {
    GetParam().put_raw(scratch_.path(), cid, text);
  }
};

}  // namespace stube::test
