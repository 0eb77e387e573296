// store_detail::parallel_for, the loop of every store's load_all: every
// index runs once, and a process that may start no more threads (a pids
// limit) still gets them all done on the calling thread instead of failing
// with std::system_error (which would stop a server from starting).
#include "store/parallel_for.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "stube/conversation.hpp"
#include "stube/sqlite_store.hpp"
#include "stube/store.hpp"
#include "support.hpp"

namespace stube::test {
namespace {

bool each_ran_once(std::size_t n, unsigned threads) {
  std::vector<std::atomic<int>> runs(n);
  store_detail::parallel_for(n, threads, [&](std::size_t i) { ++runs[i]; });
  for (const auto& r : runs)
    if (r.load() != 1) return false;
  return true;
}

TEST(ParallelFor, RunsEveryIndexOnce) {
  for (unsigned threads : {0u, 1u, 2u, 8u}) {
    SCOPED_TRACE(threads);
    EXPECT_TRUE(each_ran_once(0, threads));
    EXPECT_TRUE(each_ran_once(1, threads));
    EXPECT_TRUE(each_ran_once(1000, threads));
  }
}

// Runs `body` in a forked child that may start no thread: as root it
// becomes nobody first (root is exempt from RLIMIT_NPROC), then allows its
// user one process, itself. The child's exit status: 0 when body returned
// true, 1 when false, 2 when a thread could still be started (the test
// would prove nothing), 3 when body threw.
int without_threads(const std::function<bool()>& body) {
  const pid_t pid = ::fork();
  if (pid != 0) {
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
  }
  ::alarm(60);  // a hang becomes a signal the parent reports
  if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(4);
  const rlimit one{1, 1};
  if (::setrlimit(RLIMIT_NPROC, &one) != 0) ::_exit(5);
  try {
    std::thread probe([] {});
    probe.join();
    ::_exit(2);
  } catch (const std::system_error&) {
  }
  try {
    ::_exit(body() ? 0 : 1);
  } catch (...) {
    ::_exit(3);
  }
}

TEST(ParallelFor, DoesItAllOnTheCallingThreadWhenNoThreadCanStart) {
  EXPECT_EQ(without_threads([] { return each_ran_once(1000, 4); }), 0);
}

// The same through the stores: load_all under a pids limit loads everything.
TEST(ParallelFor, StoresLoadEverythingWhenNoThreadCanStart) {
  ScratchDir dir;
  const auto file_dir = dir.path() / "files";
  const auto db = dir.path() / "convs.db";
  {
    auto files = file_store(file_dir);
    auto sqlite = sqlite_store(db);
    for (int i = 0; i < 50; ++i) {
      files->save(conv::make("cv-" + std::to_string(i)));
      sqlite->save(conv::make("cv-" + std::to_string(i)));
    }
  }
  // The child may run as nobody: let it read the records (stores create
  // them private) and write the SQLite database's journal files.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path()))
    std::filesystem::permissions(entry.path(), std::filesystem::perms::all);
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
  EXPECT_EQ(without_threads(
                [&] { return file_store(file_dir, {.load_threads = 4})->load_all().size() == 50; }),
            0);
  EXPECT_EQ(without_threads(
                [&] { return sqlite_store(db, {.load_threads = 4})->load_all().size() == 50; }),
            0);
}

}  // namespace
}  // namespace stube::test
