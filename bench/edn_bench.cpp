// edn_bench — EDN read/print throughput on the conversation corpus.
//
//   edn_bench [--docs=N] [benchmark flags]   # MB/s of EDN text, one thread
//   edn_bench [--docs=N] --dump=FILE         # write the corpus, one doc a line
//   edn_bench [--docs=N] --read-loop=R       # read the corpus R times, untimed:
//                                            # for callgrind (R=0 minus R=3)
//
// The dump lets bench/reference/edn_reference.clj time Clojure on exactly the
// same text (bench/run_edn_bench.sh does both and prints the ratio).
#include <benchmark/benchmark.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "corpus.hpp"
#include "stube/edn.hpp"

namespace edn = stube::edn;

namespace {

struct Corpus {
  std::vector<edn::Value> values;
  std::vector<std::string> texts;  // edn::write of each value
  std::size_t bytes = 0;
};

std::size_t g_docs = 500;

const Corpus& corpus() {
  static const Corpus c = [] {
    Corpus built;
    built.values = stube::bench::conversation_corpus(g_docs);
    for (const auto& v : built.values) {
      built.texts.push_back(edn::write(v));
      built.bytes += built.texts.back().size();
    }
    return built;
  }();
  return c;
}

void report_corpus(benchmark::State& state, std::size_t bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes_per_iteration));
  state.counters["docs"] = static_cast<double>(corpus().values.size());
  state.counters["avg_doc_bytes"] =
      static_cast<double>(corpus().bytes) / static_cast<double>(corpus().values.size());
}

void BM_Read(benchmark::State& state) {
  const Corpus& c = corpus();
  for (auto _ : state) {
    for (const auto& text : c.texts) benchmark::DoNotOptimize(edn::read(text));
  }
  report_corpus(state, c.bytes);
}
BENCHMARK(BM_Read)->Unit(benchmark::kMillisecond);

// Appending into one reused buffer: the printer's own cost.
void BM_Write(benchmark::State& state) {
  const Corpus& c = corpus();
  std::string out;
  for (auto _ : state) {
    for (const auto& v : c.values) {
      out.clear();
      edn::write(v, out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  report_corpus(state, c.bytes);
}
BENCHMARK(BM_Write)->Unit(benchmark::kMillisecond);

// A fresh string per document, as most callers use it.
void BM_WriteNewString(benchmark::State& state) {
  const Corpus& c = corpus();
  for (auto _ : state) {
    for (const auto& v : c.values) benchmark::DoNotOptimize(edn::write(v));
  }
  report_corpus(state, c.bytes);
}
BENCHMARK(BM_WriteNewString)->Unit(benchmark::kMillisecond);

// Bytes counted are the compact text's, so the figure compares with BM_Write.
void BM_Pretty(benchmark::State& state) {
  const Corpus& c = corpus();
  for (auto _ : state) {
    for (const auto& v : c.values) benchmark::DoNotOptimize(edn::pretty(v));
  }
  report_corpus(state, c.bytes);
}
BENCHMARK(BM_Pretty)->Unit(benchmark::kMillisecond);

// A large value deep down: 999 vectors around a 1 MB string. Pretty printing
// must cost about what writing does (it once wrote every level out in full
// to see whether it fit the line: O(depth × size)). Compare the two.
const edn::Value& deep_value() {
  static const edn::Value v = [] {
    edn::Value x(std::string(1'000'000, 'x'));
    for (int i = 0; i < 999; ++i) x = edn::vec({x});
    return x;
  }();
  return v;
}

void BM_WriteDeep(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(edn::write(deep_value()));
}
BENCHMARK(BM_WriteDeep)->Unit(benchmark::kMillisecond);

void BM_PrettyDeep(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(edn::pretty(deep_value()));
}
BENCHMARK(BM_PrettyDeep)->Unit(benchmark::kMillisecond);

int dump(const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  for (const auto& text : corpus().texts) out << text << '\n';
  out.flush();
  if (!out) {
    std::cerr << "edn_bench: cannot write " << path << ": " << std::strerror(errno) << '\n';
    return 1;
  }
  std::cout << "wrote " << corpus().texts.size() << " documents, " << corpus().bytes
            << " bytes of EDN to " << path << '\n';
  return 0;
}

// Reads every document of the corpus `times` times and prints how many bytes
// that was. Made for instruction counts: a run with 0 costs everything but
// the reads, so the difference of two runs is the reader's alone.
int read_loop(std::size_t times) {
  const auto& texts = corpus().texts;  // built in every run, also with 0
  std::size_t bytes = 0, documents = 0;
  for (std::size_t t = 0; t < times; ++t) {
    for (const auto& text : texts) {
      documents += edn::read(text).is_nil() ? 0 : 1;
      bytes += text.size();
    }
  }
  std::cout << "read " << bytes << " bytes of EDN in " << documents << " documents\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Our own flags first; the rest goes to Google Benchmark.
  std::string dump_path;
  const char* read_times = nullptr;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--dump=")) {
      dump_path = arg.substr(7);
    } else if (arg.starts_with("--read-loop=")) {
      read_times = argv[i] + 12;
    } else if (arg.starts_with("--docs=")) {
      g_docs = std::strtoull(argv[i] + 7, nullptr, 10);
      if (g_docs == 0) {
        std::cerr << "edn_bench: --docs needs a positive count\n";
        return 2;
      }
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (!dump_path.empty()) return dump(dump_path);
  if (read_times != nullptr) return read_loop(std::strtoull(read_times, nullptr, 10));

  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
