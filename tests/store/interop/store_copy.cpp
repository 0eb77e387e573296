// store_copy SRC DST — loads every conversation of the file store in SRC and
// saves it into the file store in DST; prints "loaded N skipped M".
// Used by tests/clojure/run_store_interop.sh (registered in tests/scripts.cmake).
#include <cstdio>
#include <exception>
#include <string>

#include "stube/log.hpp"
#include "stube/store.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: store_copy SRC-DIR DST-DIR\n");
    return 2;
  }
  std::size_t skipped = 0;
  stube::log::set_sink([&skipped](stube::log::Level level, std::string_view msg) {
    if (level == stube::log::Level::warn) ++skipped;
    stube::log::stderr_sink(level, msg);
  });
  try {
    const stube::ConversationMap convs = stube::file_store(argv[1])->load_all();
    auto out = stube::file_store(argv[2]);
    for (const auto& [cid, conv] : convs) out->save(conv);
    std::printf("loaded %zu skipped %zu\n", convs.size(), skipped);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store_copy: %s\n", e.what());
    return 1;
  }
}
