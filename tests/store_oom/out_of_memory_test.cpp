// Running out of memory while loading is the machine's problem, not the
// record's: every backend fails its load (a StoreError) instead of skipping
// the record as bad data. Skipped, a live conversation would be missing from
// this run and back at the next: an old version resurrected.
//
// This test binary's operator new can be told to refuse large allocations
// on the calling thread (OutOfMemory below); otherwise it is malloc's. A
// binary of its own: replaced, new and delete are malloc and free to the
// sanitizers, which then cannot tell a new from a malloc in the tests that
// run here.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <string>

#include "common/scratch_dir.hpp"
#include "store/checks.hpp"
#include "store/support.hpp"
#include "stube/conversation.hpp"
#include "stube/sqlite_store.hpp"
#include "stube/store.hpp"

namespace {

constexpr std::size_t kLarge = std::size_t{1} << 20;
// Large allocations this thread may still make; negative: no limit.
thread_local long t_large_left = -1;

}  // namespace

void* operator new(std::size_t bytes) {
  if (bytes >= kLarge && t_large_left >= 0) {
    if (t_large_left == 0) throw std::bad_alloc();
    --t_large_left;
  }
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}
// GCC cannot tell that these pair with the operator new above (it warns
// where it inlines them): they do, both are malloc's.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace stube::test {
namespace {

// While alive, the `allowed`-th next allocation of a megabyte or more on
// this thread, and every later one, throws std::bad_alloc.
class OutOfMemory {
 public:
  explicit OutOfMemory(long allowed) { t_large_left = allowed; }
  ~OutOfMemory() { t_large_left = -1; }
  OutOfMemory(const OutOfMemory&) = delete;
  OutOfMemory& operator=(const OutOfMemory&) = delete;
};

// A conversation with a 2 MiB string: parsing its record allocates that much.
edn::Value conversation_with_a_large_string(const std::string& cid) {
  return conv::make(cid).assoc(edn::Value::keyword("big"),
                               edn::Value(std::string(2 * kLarge, 'x')));
}

TEST(OutOfMemory, ReadingARecordSaysSoApartFromBadData) {
  const std::string text = edn::write(conversation_with_a_large_string("cv-big"));
  std::string problem;
  bool starved = false;
  {
    const OutOfMemory none(0);
    EXPECT_FALSE(store_detail::read_record("cv-big", text, "the file name", problem, starved));
  }
  EXPECT_TRUE(starved);
  EXPECT_EQ(problem, "out of memory");
  EXPECT_TRUE(store_detail::read_record("cv-big", text, "the file name", problem, starved));
  EXPECT_FALSE(starved);
  EXPECT_FALSE(store_detail::read_record("cv-big", "{:conv/id", "the file name", problem, starved));
  EXPECT_FALSE(starved) << "bad data is not a shortage";
}

TEST(OutOfMemory, TheFileStoreFailsLoadAllInsteadOfSkippingTheRecord) {
  ScratchDir dir;
  auto store = file_store(dir.path(), {.load_threads = 1});
  store->save(conversation_with_a_large_string("cv-big"));
  ASSERT_EQ(store->load_all().size(), 1u);  // and the thread keeps its read buffer
  std::string error;
  {
    const OutOfMemory none(0);
    error = store_error_of([&] { store->load_all(); });
  }
  EXPECT_NE(error.find("cannot load " + (dir.path() / "cv-big.edn").string() + ": out of memory"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("nothing was loaded"), std::string::npos) << error;
  EXPECT_EQ(store->load_all().size(), 1u);
}

TEST(OutOfMemory, TheSqliteStoreFailsLoadAndLoadAllInsteadOfSkippingTheRow) {
  ScratchDir dir;
  auto store = sqlite_store(dir.path() / "convs.db", {.load_threads = 1});
  store->save(conversation_with_a_large_string("cv-big"));
  std::string error;
  {
    const OutOfMemory none(0);  // load_all copies the row's text first
    error = store_error_of([&] { store->load_all(); });
  }
  EXPECT_NE(error.find("cannot load the conversations in "), std::string::npos) << error;
  EXPECT_NE(error.find("nothing was loaded"), std::string::npos) << error;
  {
    const OutOfMemory one(1);  // then parses it
    error = store_error_of([&] { store->load_all(); });
  }
  EXPECT_NE(error.find("cannot load conversation \"cv-big\" in "), std::string::npos) << error;
  EXPECT_NE(error.find("out of memory"), std::string::npos) << error;
  {
    const OutOfMemory none(0);
    error = store_error_of([&] { store->load("cv-big"); });
  }
  EXPECT_NE(error.find("cannot load conversation \"cv-big\""), std::string::npos) << error;
  EXPECT_EQ(store->load_all().size(), 1u);
  EXPECT_TRUE(store->load("cv-big"));
}

}  // namespace
}  // namespace stube::test
