// Running out of file descriptors while loading is the machine's problem,
// not the record's: the file store's load_all fails whole (a StoreError
// naming the file) instead of skipping the record as bad data. Skipped, a
// live conversation would be missing from this run and back at the next:
// an old version resurrected.
//
// This test binary's openat can be told to refuse the opens of records
// (cv-*.edn, read only) from the Nth on with EMFILE, as a process out of
// descriptors would; every other open is libc's. A binary of its own, so
// that no other test meets the shortage, and deterministic, where lowering
// RLIMIT_NOFILE made the record opens race the directory listing for the
// last descriptor.
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <string>
#include <string_view>

#include "common/scratch_dir.hpp"
#include "stube/conversation.hpp"
#include "stube/store.hpp"

namespace {

// Record opens still allowed before the shortage; negative: no shortage.
std::atomic<int> g_record_opens_left{-1};

bool is_record(std::string_view path) {
  const std::string_view name = path.substr(path.rfind('/') + 1);  // npos + 1 == 0
  return name.starts_with("cv-") && name.ends_with(".edn");
}

// Whether this open of `path` runs short (once short, every one does).
bool short_of_descriptors(const char* path, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || !is_record(path)) return false;
  int left = g_record_opens_left.load();
  while (left > 0 && !g_record_opens_left.compare_exchange_weak(left, left - 1)) {
  }
  return left == 0;
}

}  // namespace

extern "C" int openat(int dirfd, const char* path, int flags, ...) {
  mode_t mode = 0;
  if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
    va_list args;
    va_start(args, flags);
    mode = va_arg(args, mode_t);
    va_end(args);
  }
  if (short_of_descriptors(path, flags)) {
    errno = EMFILE;
    return -1;
  }
  using Openat = int (*)(int, const char*, int, ...);
  static const auto real = reinterpret_cast<Openat>(dlsym(RTLD_NEXT, "openat"));
  return real(dirfd, path, flags, mode);
}

namespace stube {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// With descriptors short, load_all either loads every conversation or fails
// naming the file: never a partial map. Whichever record runs short (the
// first, one of the middle ones, the last), with eight loading threads.
TEST(DescriptorShortage, ALoadThatRunsShortFailsWholeAndTheNextLoadsEverything) {
  test::ScratchDir dir("fd-shortage");
  constexpr int kConversations = 200;
  {
    auto store = file_store(dir.path());
    for (int i = 0; i < kConversations; ++i) store->save(conv::make("cv-" + std::to_string(i)));
  }
  auto store = file_store(dir.path(), {.load_threads = 8});
  for (const int short_after : {0, 1, 57, kConversations - 1}) {
    g_record_opens_left = short_after;
    try {
      const ConversationMap loaded = store->load_all();
      ADD_FAILURE() << "short after " << short_after << " opens, loaded " << loaded.size();
    } catch (const StoreError& e) {
      const std::string error = e.what();
      EXPECT_TRUE(contains(error, "Too many open files")) << error;
      EXPECT_TRUE(contains(error, "nothing was loaded")) << error;
      EXPECT_TRUE(contains(error, dir.path().string() + "/cv-")) << error;
    }
    g_record_opens_left = -1;
    EXPECT_EQ(store->load_all().size(), static_cast<std::size_t>(kConversations));
  }
}

// The shortage is the one this binary makes: with none, every record loads
// (the opens are counted, not refused).
TEST(DescriptorShortage, WithoutAShortageEveryRecordLoads) {
  test::ScratchDir dir("fd-plenty");
  auto store = file_store(dir.path());
  for (int i = 0; i < 20; ++i) store->save(conv::make("cv-" + std::to_string(i)));
  g_record_opens_left = 20;
  EXPECT_EQ(store->load_all().size(), 20u);
  EXPECT_EQ(g_record_opens_left.load(), 0) << "the store's opens did not come through openat";
  g_record_opens_left = -1;
}

}  // namespace
}  // namespace stube
