// load_rounds — repeated load_all of one file store, for A/B comparisons of
// two builds of the library on the same files (see docs/PERFORMANCE.md,
// "A/B of packed loading"):
//
//   build/bench/store_bench --fill=DIR --docs=5000
//   build/bench/load_rounds DIR [ROUNDS=7] [THREADS=0: all cores]
//
// One untimed load first, then ROUNDS timed ones; each round's map is
// dropped before the next, as in store_bench. Prints every round's rate
// (conversations per second of wall time) and the median.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "stube/log.hpp"
#include "stube/store.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: load_rounds DIR [ROUNDS] [THREADS]\n");
    return 2;
  }
  stube::log::set_sink([](stube::log::Level, std::string_view) {});
  stube::FileStoreOptions options;
  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 7;
  if (argc > 3) options.load_threads = static_cast<unsigned>(std::atoi(argv[3]));
  auto store = stube::file_store(argv[1], options);
  store->load_all();
  std::vector<double> rates;
  for (int r = 0; r < rounds; ++r) {
    stube::ConversationMap loaded;
    const auto t0 = std::chrono::steady_clock::now();
    loaded = store->load_all();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (loaded.empty()) {
      std::fprintf(stderr, "load_rounds: no conversations in %s\n", argv[1]);
      return 1;
    }
    rates.push_back(static_cast<double>(loaded.size()) / s);
  }
  for (double rate : rates) std::printf("%.0f ", rate);
  std::sort(rates.begin(), rates.end());
  std::printf(" median %.0f\n", rates[rates.size() / 2]);
}
