// kernel_bench — events per second through the pure fold and the Runtime,
// the cost of an event against the size of the conversation (history
// snapshots share structure), HTML render throughput, and the check of a
// patch's top-level elements against the nesting depth.
//
//   bench/run_kernel_bench.sh build          (the table, one and two cores)
//   build/bench/kernel_bench --benchmark_min_time=1
//
// Figures and the exact command: docs/PERFORMANCE.md, "Kernel and runtime".
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernel/patch_targets.hpp"
#include "kernel_components.hpp"
#include "stube/conversation.hpp"
#include "stube/kernel.hpp"
#include "stube/runtime.hpp"

namespace {

using stube::edn::kw;
using stube::edn::Value;

const std::shared_ptr<const stube::Registry>& shared_registry() {
  static const auto reg = bench::registry();
  return reg;
}

// --- the pure fold ---------------------------------------------------------------

void BM_FoldCounter(benchmark::State& state) {
  const stube::Registry& reg = *shared_registry();
  stube::KernelOptions opts;
  opts.history_limit = static_cast<std::size_t>(state.range(0));
  Value conv = stube::start_conversation(reg, "b/counter", {}, opts).conv;
  const std::string iid(stube::top_instance(conv));
  const stube::Event inc{"inc"};
  for (auto _ : state) {
    stube::Step s = stube::dispatch(reg, conv, iid, inc, opts);
    conv = std::move(s.conv);
    benchmark::DoNotOptimize(s.fragments.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("history_limit=" + std::to_string(opts.history_limit));
}
BENCHMARK(BM_FoldCounter)->Arg(20)->Arg(0);

// A conversation of one b/nest frame whose ballast makes it print to about
// `kb` kilobytes (1 KB, 100 KB, 1 MB below); `frames` > 1 spreads it over a
// call stack of that depth instead.
Value sized_conversation(const stube::Registry& reg, std::int64_t frames, std::int64_t kb) {
  constexpr std::int64_t kBytesPerString = 28;  // "ballast string number 123" plus ", "
  const std::int64_t per_frame = std::max<std::int64_t>(0, kb * 1000 / kBytesPerString / frames);
  const Value args = stube::edn::map({{kw("depth"), frames}, {kw("ballast"), per_frame}});
  return stube::start_conversation(reg, "b/nest", args, {}).conv;
}

// The size goes in the label, not a counter: Google Benchmark's CSV output
// needs every counter in every benchmark.
void label_size(benchmark::State& state, const Value& conv) {
  state.SetLabel("edn_bytes=" + std::to_string(stube::edn::write(conv).size()));
}

// One event against conversations of growing size: the snapshot is a
// reference, so the cost should follow the work the event does, not the
// size of what is kept.
void BM_FoldVsConversationSize(benchmark::State& state) {
  const stube::Registry& reg = *shared_registry();
  const stube::KernelOptions opts;
  Value conv = sized_conversation(reg, state.range(0), state.range(1));
  label_size(state, conv);
  const std::string iid(stube::top_instance(conv));
  const stube::Event inc{"inc"};
  for (auto _ : state) {
    stube::Step s = stube::dispatch(reg, conv, iid, inc, opts);
    conv = std::move(s.conv);
    benchmark::DoNotOptimize(s.fragments.data());
  }
  state.SetItemsProcessed(state.iterations());
}

// (frames, KB): 1 KB, 100 KB and 1 MB in one frame, and 100 KB over a stack
// of 100 frames.
void conversation_sizes(benchmark::internal::Benchmark* b) {
  b->Args({1, 1})->Args({1, 100})->Args({1, 1000})->Args({100, 100});
}
BENCHMARK(BM_FoldVsConversationSize)->Apply(conversation_sizes);

// The history step alone: snapshot the conversation (with 20 snapshots
// already in its history) into its own history.
void BM_PushHistory(benchmark::State& state) {
  const stube::Registry& reg = *shared_registry();
  Value conv = sized_conversation(reg, state.range(0), state.range(1));
  label_size(state, conv);
  for (int i = 0; i < 20; ++i) conv = stube::conv::push_history(conv, 20);
  for (auto _ : state) benchmark::DoNotOptimize(stube::conv::push_history(conv, 20));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PushHistory)->Apply(conversation_sizes);

// The reference: what a snapshot would cost without structural sharing, a
// deep copy of every collection and string of the conversation.
Value deep_copy(const Value& v) {
  switch (v.kind()) {
    case stube::edn::Kind::String:
      return Value(std::string(v.as_string()));
    case stube::edn::Kind::Vector: {
      std::vector<Value> items;
      items.reserve(v.size());
      for (const Value& x : v) items.push_back(deep_copy(x));
      return stube::edn::vec(items);
    }
    case stube::edn::Kind::Map: {
      std::vector<stube::edn::MapEntry> entries;
      entries.reserve(v.size());
      for (const auto& e : v.entries()) entries.push_back({deep_copy(e.key), deep_copy(e.val)});
      return stube::edn::map(entries);
    }
    default:
      return v;  // scalars, names (interned anyway) and the rest
  }
}

void BM_DeepCopySnapshot(benchmark::State& state) {
  const stube::Registry& reg = *shared_registry();
  const Value conv = sized_conversation(reg, state.range(0), state.range(1));
  label_size(state, conv);
  for (auto _ : state) benchmark::DoNotOptimize(deep_copy(conv));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DeepCopySnapshot)->Apply(conversation_sizes);

// --- the runtime (in-memory store) ---------------------------------------------

stube::Runtime& shared_runtime() {
  static stube::Runtime rt(shared_registry());
  return rt;
}

// Each benchmark thread drives its own conversation of one shared runtime:
// different conversations proceed in parallel.
void BM_RuntimeCounter(benchmark::State& state) {
  stube::Runtime& rt = shared_runtime();
  const stube::Runtime::Minted m = rt.mint("b/counter");
  const std::string iid(stube::top_instance(*rt.conversation(m.cid)));
  for (auto _ : state)
    benchmark::DoNotOptimize(rt.dispatch(m.cid, iid, stube::Event{"inc"}, m.owner));
  state.SetItemsProcessed(state.iterations());
  rt.end(m.cid);
}
BENCHMARK(BM_RuntimeCounter)
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// Every thread drives the same conversation: events queue on its lock.
void BM_RuntimeOneConversation(benchmark::State& state) {
  stube::Runtime& rt = shared_runtime();
  static const stube::Runtime::Minted m = rt.mint("b/counter");
  static const std::string iid(stube::top_instance(*rt.conversation(m.cid)));
  for (auto _ : state)
    benchmark::DoNotOptimize(rt.dispatch(m.cid, iid, stube::Event{"inc"}, m.owner));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RuntimeOneConversation)->Threads(2)->MeasureProcessCPUTime()->UseRealTime();

// --- rendering ---------------------------------------------------------------------

void BM_RenderTable(benchmark::State& state) {
  const stube::Registry& reg = *shared_registry();
  const stube::KernelOptions opts;
  const Value conv = stube::start_conversation(
                         reg, "b/table", stube::edn::map({{kw("rows"), state.range(0)}}), opts)
                         .conv;
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string html = stube::render_top(reg, conv, opts);
    bytes += html.size();
    benchmark::DoNotOptimize(html.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_RenderTable)->Arg(10)->Arg(1000);

// --- patch check -------------------------------------------------------------------

// check_patch_targets over a patch of n <div>s nested n deep, next to the
// same n side by side: the two should grow alike. (Until 2026-12-07 every
// <div> walked the open elements looking for a <p> to close: quadratic in
// the depth, 4.9 s at 32,000.)
void BM_PatchCheck(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const bool nested = state.range(1) != 0;
  std::string markup = "<div id=\"top\">";
  for (std::size_t i = 0; i < n; ++i) markup += nested ? "<div>" : "<div></div>";
  for (std::size_t i = 0; nested && i < n; ++i) markup += "</div>";
  markup += "</div>";
  for (auto _ : state) stube::check_patch_targets(markup);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_PatchCheck)
    ->ArgsProduct({{1000, 8000, 32000}, {0, 1}})
    ->ArgNames({"elements", "nested"})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
