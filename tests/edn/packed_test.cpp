// Packed allocation (src/edn/packed.hpp): values read inside a
// PackedAllocation are the same values, outlive the scope, may die on any
// thread, and give every chunk back once its last node is gone.
#include "edn/packed.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "stube/edn.hpp"

namespace edn = stube::edn;
using edn::Value;
using edn::detail::packed_chunks_live;
using edn::detail::PackedAllocation;

namespace {

// A conversation-shaped document, different for every i.
std::string document(int i) {
  std::string text = "{:conv/id \"cv-" + std::to_string(i) + "\", :conv/stack [\"ix-1\" \"ix-2\"]";
  text += ", :conv/instances {\"ix-1\" {:component :demo/counter, :state {:n " + std::to_string(i) +
          ", :label \"counter number " + std::to_string(i) + "\"}}}";
  text += ", :conv/history [";
  for (int h = 0; h < 10; ++h) text += "{:n " + std::to_string(h) + ", :tags #{:a :b \"c\"}} ";
  text += "], :conv/created #inst \"2026-12-02T08:00:00.000-00:00\"}";
  return text;
}

std::vector<Value> read_documents(int first, int count) {
  std::vector<Value> out;
  for (int i = first; i < first + count; ++i) out.push_back(edn::read(document(i)));
  return out;
}

TEST(PackedTest, ValuesReadPackedEqualValuesReadOrdinarily) {
  std::vector<Value> packed;
  {
    PackedAllocation scope;
    packed = read_documents(0, 50);
  }
  const std::vector<Value> plain = read_documents(0, 50);
  ASSERT_EQ(packed.size(), plain.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(packed[i], plain[i]);
    EXPECT_EQ(packed[i].hash(), plain[i].hash());
    EXPECT_EQ(edn::write(packed[i]), edn::write(plain[i]));
  }
}

TEST(PackedTest, EveryChunkIsFreedWhenItsLastNodeDies) {
  const std::size_t before = packed_chunks_live();
  std::vector<Value> values;
  {
    PackedAllocation scope;
    values = read_documents(0, 500);  // far more than one 64 KiB chunk
  }
  EXPECT_GT(packed_chunks_live(), before + 2);
  values.erase(values.begin(), values.begin() + 250);
  EXPECT_GT(packed_chunks_live(), before);
  values.clear();
  EXPECT_EQ(packed_chunks_live(), before);
}

TEST(PackedTest, APartKeepsItsChunkAfterTheWholeIsGone) {
  const std::size_t before = packed_chunks_live();
  Value label;
  {
    PackedAllocation scope;
    Value doc = edn::read(document(7));
    label = doc[":conv/instances"]["ix-1"][":state"][":label"];
  }
  EXPECT_EQ(packed_chunks_live(), before + 1);
  EXPECT_EQ(label.as_string(), "counter number 7");
  label = Value();
  EXPECT_EQ(packed_chunks_live(), before);
}

TEST(PackedTest, NestedScopesShareTheThreadsChunk) {
  const std::size_t before = packed_chunks_live();
  std::vector<Value> values;
  {
    PackedAllocation outer;
    values.push_back(edn::read(document(1)));
    {
      PackedAllocation inner;
      values.push_back(edn::read(document(2)));
    }
    values.push_back(edn::read(document(3)));
  }
  EXPECT_EQ(packed_chunks_live(), before + 1);
  EXPECT_EQ(values[2], edn::read(document(3)));
  values.clear();
  EXPECT_EQ(packed_chunks_live(), before);
}

TEST(PackedTest, LargeNodesAndValuesOutsideAScopeAreNotPacked) {
  const std::size_t before = packed_chunks_live();
  const std::string big(100'000, 'x');
  Value v;
  {
    PackedAllocation scope;
    v = edn::read("[\"" + big + "\"]");  // the vector is packed, the string is not
  }
  EXPECT_EQ(packed_chunks_live(), before + 1);
  EXPECT_EQ(v.items()[0].as_string(), big);
  Value outside = edn::read(document(1));
  v = Value();
  EXPECT_EQ(packed_chunks_live(), before);
  EXPECT_EQ(outside[":conv/id"].as_string(), "cv-1");
}

TEST(PackedTest, ValuesReadOnManyThreadsDieOnOthers) {
  const std::size_t before = packed_chunks_live();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 300;
  std::vector<std::vector<Value>> read(kThreads);
  {
    std::vector<std::jthread> readers;
    for (int t = 0; t < kThreads; ++t) {
      readers.emplace_back([&read, t] {
        PackedAllocation scope;
        read[t] = read_documents(t * kPerThread, kPerThread);
      });
    }
  }
  // Each thread drops every other thread's values, interleaved, while the
  // values are shared with the main thread for a moment.
  {
    std::vector<std::jthread> droppers;
    for (int t = 0; t < kThreads; ++t) {
      droppers.emplace_back([&read, t] {
        std::vector<Value>& mine = read[(t + 1) % kThreads];
        for (std::size_t i = 0; i < mine.size(); ++i) {
          const Value copy = mine[i];
          mine[i] = Value();
          EXPECT_EQ(
              copy[":conv/id"].as_string(),
              "cv-" + std::to_string(((t + 1) % kThreads) * kPerThread + static_cast<int>(i)));
        }
      });
    }
  }
  EXPECT_EQ(packed_chunks_live(), before);
}

TEST(PackedTest, SpareChunksGoBackBeyondTheLimitOnlyOnceLoadingStopped) {
  using edn::detail::packed_spare_chunks;
  using edn::detail::set_packed_spare_limits;
  // While chunks are still being taken, every emptied chunk is kept...
  const auto defaults = set_packed_spare_limits({4, std::chrono::hours(1)});
  const std::size_t live_before = packed_chunks_live();
  std::vector<Value> values;
  {
    PackedAllocation scope;
    values = read_documents(0, 500);
  }
  const std::size_t used = packed_chunks_live() - live_before;
  ASSERT_GT(used, 8u);
  values.clear();
  EXPECT_GE(packed_spare_chunks(), used);
  // ... and once none has been taken for `keep`, those beyond the limit go
  // back to the kernel as chunks are freed. They are still usable.
  set_packed_spare_limits({4, std::chrono::nanoseconds(0)});
  {
    PackedAllocation scope;
    values = read_documents(0, 500);
  }
  values.clear();
  EXPECT_EQ(packed_spare_chunks(), 4u);
  {
    PackedAllocation scope;
    values = read_documents(0, 500);
  }
  EXPECT_EQ(values[499], edn::read(document(499)));
  values.clear();
  set_packed_spare_limits(defaults);
  EXPECT_EQ(packed_chunks_live(), live_before);
}

TEST(PackedTest, ValuesSurviveTheirThread) {
  const std::size_t before = packed_chunks_live();
  std::vector<Value> values;
  std::jthread([&values] {
    PackedAllocation scope;
    values = read_documents(0, 100);
  }).join();
  EXPECT_EQ(values[99][":conv/id"].as_string(), "cv-99");
  EXPECT_EQ(values[99], edn::read(document(99)));
  values.clear();
  EXPECT_EQ(packed_chunks_live(), before);
}

}  // namespace
