// kernel_profile — a fixed amount of kernel work for valgrind: instruction
// counts do not depend on what else the machine is doing, so they compare
// two versions of the kernel exactly where timings cannot.
//
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null
//       build/bench/kernel_profile fold 20000      20,000 counter events
//   ... kernel_profile render 20                   20 renders of a 1,000-row table
//   ... kernel_profile runtime 20000               20,000 events through a Runtime
//
// Divide valgrind's "I refs" by the count (start-up is under 1%).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "kernel_components.hpp"
#include "stube/kernel.hpp"
#include "stube/runtime.hpp"

namespace {

std::size_t fold(const stube::Registry& reg, int n) {
  stube::edn::Value conv = stube::start_conversation(reg, "b/counter", {}, {}).conv;
  const std::string iid(stube::top_instance(conv));
  std::size_t fragments = 0;
  for (int i = 0; i < n; ++i) {
    stube::Step s = stube::dispatch(reg, conv, iid, stube::Event{"inc"}, {});
    conv = std::move(s.conv);
    fragments += s.fragments.size();
  }
  return fragments;
}

std::size_t render(const stube::Registry& reg, int n) {
  const stube::edn::Value args = stube::edn::map({{bench::kw("rows"), 1000}});
  const stube::edn::Value conv = stube::start_conversation(reg, "b/table", args, {}).conv;
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i) bytes += stube::render_top(reg, conv, {}).size();
  return bytes;
}

std::size_t runtime(std::shared_ptr<const stube::Registry> reg, int n) {
  stube::Runtime rt(std::move(reg));
  const stube::Runtime::Minted m = rt.mint("b/counter");
  const std::string iid(stube::top_instance(*rt.conversation(m.cid)));
  std::size_t ok = 0;
  for (int i = 0; i < n; ++i)
    ok += rt.dispatch(m.cid, iid, stube::Event{"inc"}, m.owner) == stube::Runtime::Result::Ok;
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view what = argc == 3 ? argv[1] : "";
  const int n = argc == 3 ? std::atoi(argv[2]) : 0;
  const auto reg = bench::registry();
  std::size_t result = 0;
  if (what == "fold" && n > 0) {
    result = fold(*reg, n);
  } else if (what == "render" && n > 0) {
    result = render(*reg, n);
  } else if (what == "runtime" && n > 0) {
    result = runtime(reg, n);
  } else {
    std::fprintf(stderr, "usage: kernel_profile fold|render|runtime COUNT\n");
    return 2;
  }
  std::printf("%s x %d: %zu\n", std::string(what).c_str(), n, result);
  return 0;
}
