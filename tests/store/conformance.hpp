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
// The test bodies are in conformance_test.cpp; see docs/store.md.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "stube/store.hpp"
#include "support.hpp"

namespace stube::test {

struct Backend {
  std::string name;  // [A-Za-z0-9_] only: it names the test instance
  std::function<std::shared_ptr<ConversationStore>(const std::filesystem::path& scratch)> open;
};

inline void PrintTo(const Backend& b, std::ostream* os) {
  *os << b.name;
}

struct BackendName {
  std::string operator()(const ::testing::TestParamInfo<Backend>& info) const {
    return info.param.name;
  }
};

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  // A new store over this test's storage: a second call sees what the first saved.
  std::shared_ptr<ConversationStore> open() { return GetParam().open(scratch_.path()); }

  ScratchDir scratch_{"conformance"};
};

}  // namespace stube::test
