// File-store specifics: the on-disk format, temporary files, skipped records,
// cid validation against the file system, and backend errors.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>
#include <type_traits>

#include "common/small_stack.hpp"
#include "edn/packed.hpp"
#include "store/checks.hpp"
#include "store/deferred_close.hpp"
#include "store/posix_io.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"
#include "stube/store.hpp"
#include "support.hpp"

namespace stube::test {
namespace {

namespace fs = std::filesystem;
using edn::kw;
using edn::Value;

void spit(const fs::path& file, std::string_view text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << file;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(FileStore, WritesOnePrStrFilePerConversation) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  const Value c = varied_conversation("cv-format", 7);
  store->save(c);
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"cv-format.edn"});
  // Exactly the printer's text (what pr-str writes), no trailing newline.
  EXPECT_EQ(slurp(dir.path() / "cv-format.edn"), edn::write(c));
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "cv-format.edn").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "conversations hold owner tokens: private to the user";
}

TEST(FileStore, CreatesTheDirectoryIfMissing) {
  ScratchDir dir;
  const fs::path nested = dir.path() / "a" / "b" / "convs";
  auto store = file_store(nested);
  EXPECT_TRUE(fs::is_directory(nested));
  store->save(conv::make("cv-1"));
  EXPECT_TRUE(fs::exists(nested / "cv-1.edn"));
}

// FileStoreOptions::create = false: a directory that is not there is a
// MissingStore naming it, and nothing is created, not even a parent.
TEST(FileStore, WithoutCreateAMissingDirectoryIsAMissingStoreAndIsNotCreated) {
  ScratchDir dir;
  const fs::path missing = dir.path() / "a" / "convs";
  for (const Durability durability : {Durability::rename, Durability::durable}) {
    const std::string error = missing_store_error(
        [&] { file_store(missing, {.durability = durability, .create = false}); });
    EXPECT_TRUE(contains(error, "file store: " + missing.string() + " does not exist")) << error;
  }
  EXPECT_TRUE(file_names(dir.path()).empty());

  const fs::path plain = dir.path() / "plain";
  spit(plain, "not a directory");
  const std::string error = missing_store_error([&] { file_store(plain, {.create = false}); });
  EXPECT_TRUE(contains(error, plain.string() + " is not a directory")) << error;
  EXPECT_EQ(slurp(plain), "not a directory");
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"plain"});
}

TEST(FileStore, WithoutCreateAnExistingDirectoryLoadsAndSaves) {
  ScratchDir dir;
  const Value a = varied_conversation("cv-a", 1);
  const Value b = varied_conversation("cv-b", 2);
  file_store(dir.path())->save(a);
  {
    auto store = file_store(dir.path(), {.durability = Durability::durable, .create = false});
    const ConversationMap loaded = store->load_all();
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded.at("cv-a"), a);
    store->save(b);
    store->remove("cv-a");
  }
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"cv-b.edn"});
  EXPECT_EQ(file_store(dir.path())->load_all().at("cv-b"), b);
}

// Durable mode also fsyncs the parent of every directory it creates, so
// that the directory entries survive a power loss. An fsync cannot be
// observed from here (only a power cut would show it), so this checks that
// the path through that code opens the store and saves, relative and
// absolute, with and without a trailing slash.
TEST(FileStore, DurableCreatesNestedDirectoriesAndSaves) {
  ScratchDir dir;
  for (const fs::path& nested :
       {dir.path() / "a" / "b" / "convs", fs::path(dir.path() / "c" / "d" / ""),
        fs::relative(dir.path() / "e" / "f")}) {
    auto store = file_store(nested, {.durability = Durability::durable});
    EXPECT_TRUE(fs::is_directory(nested)) << nested;
    store->save(conv::make("cv-1"));
    EXPECT_TRUE(fs::exists(nested / "cv-1.edn")) << nested;
    EXPECT_EQ(file_store(nested, {.durability = Durability::durable})->load_all().size(), 1u);
  }
}

// A child process that lives until the object is destroyed: it waits for
// the end of a pipe that only the parent holds open.
class LiveChild {
 public:
  LiveChild() {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[1]);
      char c;
      (void)!::read(fds[0], &c, 1);
      ::_exit(0);
    }
    ::close(fds[0]);
    write_end_ = fds[1];
  }
  LiveChild(const LiveChild&) = delete;
  LiveChild& operator=(const LiveChild&) = delete;
  ~LiveChild() {
    if (write_end_ >= 0) ::close(write_end_);
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int write_end_ = -1;
};

// The pid of a process that has exited and been reaped (free again until
// the kernel's pid counter wraps around to it).
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  if (child > 0) ::waitpid(child, nullptr, 0);
  return child;
}

std::string temp_named(std::string_view cid, pid_t pid, std::uint64_t counter) {
  return "." + std::string(cid) + ".edn." + std::to_string(pid) + "." + std::to_string(counter) +
         ".tmp";
}

// Writes `text` to `file`, last modified two minutes ago: a left-over, not a
// save in flight.
void spit_old(const std::filesystem::path& file, std::string_view text) {
  spit(file, text);
  age_by_two_minutes(file);
}

TEST(FileStore, OpeningRemovesLeftOverTemporaryFilesOnly) {
  ScratchDir dir;
  const pid_t dead = dead_pid();
  ASSERT_GT(dead, 0);
  // Dead writers' files, and our own pid's (an earlier process that had it).
  const std::vector<std::string> temps = {temp_named("cv-a", dead, 0), temp_named("cv-b", dead, 42),
                                          temp_named("x", ::getpid(), 2)};
  const std::vector<std::string> others = {".hidden",          "notes.txt",        "x.edn.tmp",
                                           ".cv-a.edn.12.tmp", ".a b.edn.1.2.tmp", "cv-keep.edn"};
  for (const auto& n : temps) spit_old(dir.path() / n, "{:half");
  for (const auto& n : others) spit_old(dir.path() / n, "{:conv/id \"cv-keep\"}");
  auto store = file_store(dir.path());
  auto expected = others;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(file_names(dir.path()), expected);
}

// A store opened only to be read (open_existing_store: stube-store ls,
// verify, show, stats) writes nothing, not even a left-over's removal: on
// a read-only copy that was a warning, and verify removed the evidence.
TEST(FileStore, OpeningAnExistingStoreToReadItLeavesLeftOversAlone) {
  ScratchDir dir;
  const pid_t dead = dead_pid();
  ASSERT_GT(dead, 0);
  const std::string temp = temp_named("cv-a", dead, 0);
  spit_old(dir.path() / temp, "{:half");
  auto reader = open_existing_store("file:" + dir.path().string());
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{temp});
  auto options_reader = file_store(dir.path(), {.remove_left_overs = false});
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{temp});
  auto writer = file_store(dir.path());
  EXPECT_TRUE(file_names(dir.path()).empty());
}

// A tool opening a live server's directory must not delete the server's
// saves in flight (its rename would fail): a live process's temporary
// files stay, a dead one's go.
TEST(FileStore, OpeningKeepsTheTemporaryFilesOfLiveProcesses) {
  ScratchDir dir;
  const LiveChild writer;
  ASSERT_GT(writer.pid(), 0);
  const pid_t dead = dead_pid();
  ASSERT_GT(dead, 0);
  const std::string live_temp = temp_named("cv-live", writer.pid(), 7);
  spit_old(dir.path() / live_temp, "{:conv/id \"cv-live\"");
  spit_old(dir.path() / temp_named("cv-dead", dead, 7), "{:conv/id \"cv-dead\"");
  auto store = file_store(dir.path());
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{live_temp});
}

// A writer in another pid namespace (another container on the same
// directory) is no process here, or looks like this one: a pid alone
// deleted its saves in flight. A temporary file written within the last
// minute is a save in flight whatever its pid.
TEST(FileStore, OpeningKeepsRecentTemporaryFilesWhateverTheirPid) {
  ScratchDir dir;
  const pid_t dead = dead_pid();
  ASSERT_GT(dead, 0);
  const std::vector<std::string> in_flight = {temp_named("cv-a", dead, 1),
                                              temp_named("cv-b", ::getpid(), 2)};
  for (const auto& n : in_flight) spit(dir.path() / n, "{:conv/id");
  spit_old(dir.path() / temp_named("cv-c", dead, 3), "{:conv/id");
  auto store = file_store(dir.path());
  auto expected = in_flight;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(file_names(dir.path()), expected);
}

TEST(FileStore, LoadAllIgnoresTemporaryAndOtherFilesSilently) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  const Value c = conv::make("cv-real");
  store->save(c);
  spit(dir.path() / ".cv-real.edn.1.1.tmp", "{:conv/id \"cv-real\" :half");  // a writer mid-save
  spit(dir.path() / "README.txt", "not a record");
  LogCapture capture;
  const ConversationMap loaded = store->load_all();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded.at("cv-real"), c);
  EXPECT_TRUE(capture.at(log::Level::warn).empty());
}

TEST(FileStore, LoadAllSkipsBadRecordsWithOneWarningEachAndLeavesThem) {
  ScratchDir dir;
  const std::map<std::string, std::string> bad = {
      {"unterminated.edn", "{:conv/id \"unterminated\""},
      {"empty.edn", ""},
      {"vector.edn", "[1 2 3]"},
      {"no-id.edn", "{:conv/stack []}"},
      {"number-id.edn", "{:conv/id 5}"},
      {"mismatch.edn", "{:conv/id \"someone-else\"}"},
      {"bad name.edn", "{:conv/id \"bad name\"}"},
      {"garbage.edn", "\xff\xfe{:conv/id"},
      {"duplicate.edn", "{:conv/id \"duplicate\" :conv/id \"duplicate\"}"},
      {"eval.edn", "#=(java.lang.System/exit 1)"},
  };
  for (const auto& [name, text] : bad) spit(dir.path() / name, text);
  fs::create_directory(dir.path() / "a-directory.edn");
  ASSERT_EQ(::mkfifo((dir.path() / "a-fifo.edn").c_str(), 0600), 0);
  const Value good1 = varied_conversation("good-1", 1);
  const Value good2 = varied_conversation("good-2", 2);
  auto store = file_store(dir.path());
  store->save(good1);
  store->save(good2);

  LogCapture capture;
  const ConversationMap loaded = store->load_all();
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded.at("good-1"), good1);
  EXPECT_EQ(loaded.at("good-2"), good2);

  const auto warnings = capture.at(log::Level::warn);
  ASSERT_EQ(warnings.size(), bad.size() + 2);
  for (const auto& [name, text] : bad) {
    const fs::path file = dir.path() / name;
    int mentions = 0;
    for (const auto& w : warnings) mentions += contains(w, file.string()) ? 1 : 0;
    EXPECT_EQ(mentions, 1) << name;
    EXPECT_EQ(slurp(file), text) << name << " must be left untouched";
  }
  for (const char* name : {"a-directory.edn", "a-fifo.edn"}) {
    int mentions = 0;
    for (const auto& w : warnings) mentions += contains(w, (dir.path() / name).string()) ? 1 : 0;
    EXPECT_EQ(mentions, 1) << name;
    EXPECT_TRUE(fs::exists(dir.path() / name));
  }
  for (const auto& w : warnings) {
    if (contains(w, "mismatch.edn")) {
      EXPECT_TRUE(contains(w, "someone-else")) << w;
    }
    if (contains(w, "unterminated.edn")) {
      EXPECT_TRUE(contains(w, "line 1")) << w;
    }
  }
  const auto infos = capture.at(log::Level::info);
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_TRUE(contains(infos[0], "loaded 2 conversations, skipped 12")) << infos[0];
  EXPECT_TRUE(contains(infos[0], dir.path().string())) << infos[0];
}

TEST(FileStore, LoadAllPacksWhatItReads) {
  ScratchDir dir;
  {
    auto store = file_store(dir.path());
    for (unsigned i = 0; i < 200; ++i)
      store->save(varied_conversation("cv-pack-" + std::to_string(i), i));
  }
  const std::size_t before = edn::detail::packed_chunks_live();
  ConversationMap loaded = file_store(dir.path())->load_all();
  ASSERT_EQ(loaded.size(), 200u);
  EXPECT_GT(edn::detail::packed_chunks_live(), before);
  loaded.clear();
  EXPECT_EQ(edn::detail::packed_chunks_live(), before);
}

TEST(FileStore, ReadsWhatClojurePrStrWrites) {
  ScratchDir dir;
  spit(dir.path() / "cv-clj.edn",
       "{:conv/id \"cv-clj\", :conv/instances {\"ix-1\" {:instance/id \"ix-1\", :n 1N, "
       ":r 1/2, :d 1.5M}}, :conv/stack [\"ix-1\"], :conv/history [], "
       ":conv/created #inst \"2024-01-02T03:04:05.123-00:00\", "
       ":conv/touched #inst \"2024-01-02T03:04:05.123-00:00\"}");
  spit(dir.path() / "cv-ns.edn",
       "#:conv{:id \"cv-ns\", :instances {}, :stack [], :history [], "
       ":created #inst \"2024-01-02T03:04:05.123-00:00\", "
       ":touched #inst \"2024-01-02T03:04:05.123-00:00\"}");
  LogCapture capture;
  const ConversationMap loaded = file_store(dir.path())->load_all();
  ASSERT_EQ(loaded.size(), 2u) << ::testing::PrintToString(capture.messages().size());
  const edn::Instant when{1704164645, 123000000};
  EXPECT_EQ(conv::created(loaded.at("cv-ns")), when);
  EXPECT_EQ(conv::touched(loaded.at("cv-clj")), when);
  EXPECT_EQ(conv::instance(loaded.at("cv-clj"), "ix-1")[":d"], Value::decimal("1.5"));
  EXPECT_EQ(conv::stack(loaded.at("cv-clj")), edn::vec({Value("ix-1")}));
}

TEST(FileStore, InvalidIdsNeverTouchAPathOutsideTheDirectory) {
  ScratchDir dir;
  const fs::path inside = dir.path() / "store";
  auto store = file_store(inside);
  for (const std::string& bad :
       std::vector<std::string>{"../escaped", "../../escaped", "/tmp/escaped", "sub/escaped"}) {
    const Value c = conv::make("cv-ok").assoc(conv::keys::id(), Value(bad));
    EXPECT_THROW(store->save(c), InvalidCid);
    EXPECT_THROW(store->remove(bad), InvalidCid);
  }
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"store"});
  EXPECT_TRUE(file_names(inside).empty());
  EXPECT_FALSE(fs::exists("/tmp/escaped.edn"));
}

TEST(FileStore, InvalidCidMessageNamesTheId) {
  ScratchDir dir;
  try {
    file_store(dir.path())->remove("../x");
    FAIL() << "no exception";
  } catch (const InvalidCid& e) {
    EXPECT_TRUE(contains(e.what(), "\"../x\"")) << e.what();
  }
}

TEST(FileStore, BackendErrorsAreDistinctFromBadData) {
  static_assert(!std::is_base_of_v<StoreError, InvalidCid>);
  static_assert(!std::is_base_of_v<InvalidCid, StoreError>);
  static_assert(std::is_base_of_v<std::invalid_argument, InvalidCid>);
  ScratchDir dir;
  spit(dir.path() / "a-file", "x");
  try {
    file_store(dir.path() / "a-file");
    FAIL() << "no exception";
  } catch (const StoreError& e) {
    EXPECT_TRUE(contains(e.what(), (dir.path() / "a-file").string())) << e.what();
  }
}

TEST(FileStore, AFailedRenameIsReportedAndCleanedUp) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  // A non-empty directory where the record should go: rename(2) must fail.
  fs::create_directories(dir.path() / "cv-blocked.edn" / "inside");
  try {
    store->save(conv::make("cv-blocked"));
    FAIL() << "no exception";
  } catch (const StoreError& e) {
    EXPECT_TRUE(contains(e.what(), "rename")) << e.what();
    EXPECT_TRUE(contains(e.what(), (dir.path() / "cv-blocked.edn").string())) << e.what();
  }
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"cv-blocked.edn"})
      << "the temporary file must be removed after a failed save";
  EXPECT_THROW(store->remove("cv-blocked"), StoreError);
}

// Concurrent saves are written in batches by one of the savers (see
// write_atomically): a failure in a batch belongs to its own save only.
TEST(FileStore, AFailedSaveAmongConcurrentOnesFailsAloneAndTheOthersLand) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  fs::create_directories(dir.path() / "cv-blocked.edn" / "inside");
  std::atomic<int> blocked_failures{0}, other_failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int v = 0; v < 100; ++v) {
        const bool blocked = t == 0;
        const std::string cid = blocked ? "cv-blocked" : "cv-" + std::to_string(t);
        try {
          store->save(varied_conversation(cid, v));
        } catch (const StoreError&) {
          ++(blocked ? blocked_failures : other_failures);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(blocked_failures.load(), 100);
  EXPECT_EQ(other_failures.load(), 0);
  const auto convs = file_store(dir.path())->load_all();
  ASSERT_EQ(convs.size(), 3u);
  for (int t = 1; t < 4; ++t) {
    const std::string cid = "cv-" + std::to_string(t);
    EXPECT_EQ(convs.at(cid), varied_conversation(cid, 99)) << cid;
  }
}

// Uses up this process's descriptors (RLIMIT_NOFILE lowered to what is open
// now plus `spare`), restoring both when it goes.
class DescriptorShortage {
 public:
  explicit DescriptorShortage(int spare) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    int probe = ::dup(0);
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(probe + 1 + spare);
    ::close(probe);
    ::setrlimit(RLIMIT_NOFILE, &low);
    for (int fd; (fd = ::dup(0)) >= 0;) held_.push_back(fd);
    for (int i = 0; i < spare && !held_.empty(); ++i) {
      ::close(held_.back());
      held_.pop_back();
    }
  }
  ~DescriptorShortage() {
    for (int fd : held_) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  DescriptorShortage(const DescriptorShortage&) = delete;
  DescriptorShortage& operator=(const DescriptorShortage&) = delete;

 private:
  rlimit saved_{};
  std::vector<int> held_;
};

// Out of descriptors is the machine's problem, not the file's: a read says
// so (and load_all then fails), where a bad file is skipped.
TEST(FileStore, ARecordThatCannotBeOpenedForWantOfDescriptorsIsNotBadData) {
  ScratchDir dir;
  file_store(dir.path())->save(conv::make("cv-a"));
  const store_detail::Fd dirfd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dirfd);
  std::string text, why;
  store_detail::FileRead read;
  {
    DescriptorShortage none(0);
    read = store_detail::read_file_at(dirfd.get(), "cv-a.edn", 1 << 20, text, why);
  }
  EXPECT_EQ(read, store_detail::FileRead::out_of_resources) << why;
  EXPECT_EQ(why, "cannot open: Too many open files");
  EXPECT_EQ(store_detail::read_file_at(dirfd.get(), "cv-a.edn", 1 << 20, text, why),
            store_detail::FileRead::read);
}

// A save with no descriptor to be had (none free, none held by the store's
// closer to take back: it has released nothing yet) fails naming the
// temporary file and the reason, a StoreError, and the stored version stays;
// the next save lands.
TEST(FileStore, ASaveWithNoDescriptorLeftFailsAndKeepsTheStoredVersion) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  store->save(varied_conversation("cv-a", 1));
  std::exception_ptr failure;
  {
    // The exception is looked at outside: UBSan checks the type of an
    // object it meets for the first time with a pipe, which it could not
    // make in here (the store's type it met in the save above).
    DescriptorShortage none(0);
    try {
      store->save(varied_conversation("cv-a", 2));
    } catch (...) {
      failure = std::current_exception();
    }
  }
  std::string error;
  try {
    if (failure) std::rethrow_exception(failure);
  } catch (const StoreError& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("create"), std::string::npos) << error;
  EXPECT_NE(error.find(".cv-a.edn."), std::string::npos) << error;
  EXPECT_NE(error.find("Too many open files"), std::string::npos) << error;
  EXPECT_EQ(store->load_all().at("cv-a"), varied_conversation("cv-a", 1));
  store->save(varied_conversation("cv-a", 3));
  EXPECT_EQ(store->load_all().at("cv-a"), varied_conversation("cv-a", 3));
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"cv-a.edn"});
}

// A load that runs short of descriptors: tests/store_fd (its own binary,
// whose openat makes the shortage).

// How many of `forks` children forked while two threads of the parent save
// through `store` (conversations `parent_conv` makes) hung in their own save
// of `child_conv(k)` or failed it.
struct ForkedSaves {
  int hung = 0, failed = 0;
};
ForkedSaves fork_while_saving(std::shared_ptr<ConversationStore> store, int forks,
                              const std::function<Value(const std::string& cid)>& make) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> savers;
  for (int t = 0; t < 2; ++t) {
    savers.emplace_back([&, t] {
      const Value n = kw("n");
      for (std::int64_t i = 0; !stop.load(); ++i) {
        const std::string cid = "cv-parent-" + std::to_string(t) + "-" + std::to_string(i % 1000);
        (void)store->save(make(cid).assoc(n, i));
      }
    });
  }
  ForkedSaves result;
  for (int k = 0; k < forks; ++k) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::alarm(3);  // a hang becomes a SIGALRM the parent counts
      try {
        (void)store->save(make("cv-child-" + std::to_string(k)));
        store.reset();  // and lets go of the store it inherited
      } catch (...) {
        ::_exit(2);
      }
      ::_exit(0);
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid) {
      ++result.failed;
      continue;
    }
    if (WIFSIGNALED(status))
      ++result.hung;
    else if (WEXITSTATUS(status) != 0)
      ++result.failed;
  }
  stop = true;
  for (auto& t : savers) t.join();
  return result;
}

// A child forked while other threads of its parent save: the parent's batch
// (or the closer's lock) may be taken at the fork, by a thread the child
// does not have. The child's own save must not wait for it. (Before: most
// children hung in GroupCommit::submit.)
TEST(FileStore, AForkedChildSavesWhileItsParentIsSaving) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  // First uses of the library's function-local statics (keyword keys) come
  // before the threads: one a thread is initialising at the fork stays
  // locked in the child, a hazard of fork in any C++ program, not the store's.
  (void)store->save(conv::make("cv-warm").assoc(kw("n"), 0));
  constexpr int kForks = 40;
  const ForkedSaves r =
      fork_while_saving(store, kForks, [](const std::string& cid) { return conv::make(cid); });
  EXPECT_EQ(r.hung, 0) << "of " << kForks << " children";
  EXPECT_EQ(r.failed, 0) << "of " << kForks << " children";
  const ConversationMap all = file_store(dir.path())->load_all();
  for (int k = 0; k < kForks; ++k) EXPECT_TRUE(all.contains("cv-child-" + std::to_string(k))) << k;
}

// The same with conversations the store skips with a warning (a running
// flow): the warning's once-per-conversation lock and the log's lock may be
// held by a parent's thread at the fork. (Before: most children hung.)
TEST(FileStore, AForkedChildSkipsAnUnprintableSaveWhileItsParentDoesToo) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  LogCapture capture;  // the warnings, out of the output; a sink runs under the log's lock
  const auto unprintable = [](const std::string& cid) {
    return conv::make(cid).assoc(kw("flow"), Value::opaque(std::make_shared<int>(1), "flow"));
  };
  (void)store->save(unprintable("cv-warm"));
  constexpr int kForks = 40;
  const ForkedSaves r = fork_while_saving(store, kForks, unprintable);
  EXPECT_EQ(r.hung, 0) << "of " << kForks << " children";
  EXPECT_EQ(r.failed, 0) << "of " << kForks << " children";
  EXPECT_TRUE(capture.has(log::Level::warn, {"cv-warm", "was not saved"}));
}

// Temporary names carry the pid so that processes never share one; the pid
// is cached, and a forked child must see its own.
TEST(FileStore, TemporaryNamesCarryTheSavingProcessesPidAlsoAfterAFork) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  fs::create_directories(dir.path() / "cv-blocked.edn" / "inside");
  const auto temp_name_in_error = [&] {
    try {
      store->save(conv::make("cv-blocked"));
    } catch (const StoreError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string pid_part = [](pid_t pid) {
    return ".cv-blocked.edn." + std::to_string(pid) + ".";
  }(::getpid());
  EXPECT_TRUE(contains(temp_name_in_error(), pid_part)) << temp_name_in_error();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string message = temp_name_in_error();
    const std::string mine = ".cv-blocked.edn." + std::to_string(::getpid()) + ".";
    const char verdict = contains(message, mine) ? 'y' : 'n';
    (void)!::write(fds[1], &verdict, 1);
    ::_exit(0);
  }
  ::close(fds[1]);
  char verdict = 0;
  EXPECT_EQ(::read(fds[0], &verdict, 1), 1);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_EQ(verdict, 'y') << "the child's temporary file was named with another pid";
}

// A process that is pid 1 in its container, killed in a save and started
// again within a minute, finds its own young temporary files (kept: see
// above) under names its counter will reach: a save there takes the next
// free name instead of failing.
TEST(FileStore, ASaveGoesPastATemporaryNameAnEarlierProcessWithOurPidLeft) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  // The counter's last value, from the temporary file a failed save names.
  fs::create_directories(dir.path() / "cv-blocked.edn" / "inside");
  std::string message;
  try {
    store->save(conv::make("cv-blocked"));
  } catch (const StoreError& e) {
    message = e.what();
  }
  const std::string prefix = ".cv-blocked.edn." + std::to_string(::getpid()) + ".";
  const std::size_t at = message.find(prefix);
  ASSERT_NE(at, std::string::npos) << message;
  const std::uint64_t last = std::stoull(message.substr(at + prefix.size()));
  for (std::uint64_t next = last + 1; next <= last + 3; ++next)
    spit(dir.path() / temp_named("cv-a", ::getpid(), next), "{:conv/id");
  const Value conv = conv::make("cv-a");
  ASSERT_NO_THROW(store->save(conv));
  EXPECT_EQ(store->load_all().at("cv-a"), conv);
}

TEST(FileStore, AFailedWriteIsReportedAndCleanedUp) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  // The file-size limit makes write(2) fail with EFBIG, even for root.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old), 0);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit small = saved;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  try {
    store->save(large_conversation("cv-too-big", 100000));
  } catch (const StoreError& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::sigaction(SIGXFSZ, &old, nullptr);
  EXPECT_TRUE(contains(message, "write")) << message;
  EXPECT_TRUE(contains(message, dir.path().string())) << message;
  EXPECT_TRUE(file_names(dir.path()).empty()) << "no partial or temporary file may remain";
}

TEST(FileStore, SavingIntoARemovedDirectoryIsABackendError) {
  ScratchDir dir;
  const fs::path gone = dir.path() / "gone";
  auto store = file_store(gone);
  fs::remove_all(gone);
  try {
    store->save(conv::make("cv-1"));
    FAIL() << "no exception";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(gone.string()), std::string::npos) << e.what();
  }
}

TEST(FileStore, ConcurrentSavesOfOneConversationLeaveOneCompleteVersion) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int v = 0; v < 50; ++v) {
        store->save(large_conversation("cv-same", 20000 + 1000 * t).assoc(kw("writer"), t));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"cv-same.edn"});
  const Value loaded = file_store(dir.path())->load_all().at("cv-same");
  const int writer = static_cast<int>(loaded[":writer"].as_int());
  EXPECT_EQ(loaded,
            large_conversation("cv-same", 20000 + 1000 * writer).assoc(kw("writer"), writer));
}

// The file store holds a replaced or removed file open until a background
// thread releases it (see DeferredClose): never more than a bounded number
// at a time, and none once the store is gone.
TEST(FileStore, ReplacedAndRemovedFilesAreReleasedAndNoDescriptorLeaks) {
  const auto open_descriptors = [] {
    return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator());
  };
  // The store's closer holds at most max_pending_for(the soft limit) files;
  // at most 2048 descriptors make that 64 or less, which 300 saves can reach.
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  const rlimit saved = limit;
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_cur, 2048);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  const long bound = static_cast<long>(store_detail::max_pending_for(limit.rlim_cur));
  const auto before = open_descriptors();
  ScratchDir dir;
  auto store = file_store(dir.path());
  long most = 0;
  for (int v = 0; v < 300; ++v) {
    store->save(varied_conversation("cv-" + std::to_string(v % 7), v));
    if (v % 3 == 0) store->remove("cv-" + std::to_string((v + 1) % 7));
    most = std::max<long>(most, open_descriptors() - before);
  }
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_LE(most, bound + 2) << "held descriptors must stay bounded (" << bound
                             << " waiting, the directory's)";
  store.reset();
  EXPECT_EQ(open_descriptors(), before) << "every held file is released when the store closes";
  auto reopened = file_store(dir.path());
  const auto convs = reopened->load_all();
  for (const auto& [cid, c] : convs) EXPECT_EQ(conv::id(c), cid);
  EXPECT_EQ(file_names(dir.path()).size(), convs.size());
}

// A replaced file held for its deferred release keeps its blocks until the
// background thread closes it: on a full disk a save releases the held
// ones and tries again, so it succeeds wherever it would without the
// deferral. A 2 MiB disk holds two versions of a 900 KB conversation (the
// file and the temporary one replacing it), not three.
TEST(FileStore, AFullDiskFirstReleasesTheReplacedFilesItHolds) {
  ScratchDir dir;
  const int code = in_child_on_tmpfs(dir.path(), 2 << 20, [&] {
    auto store = file_store(dir.path());
    const Value big = large_conversation("cv-big", 900 * 1000);
    constexpr int kSaves = 300;
    int failed = 0;
    for (int i = 0; i < kSaves; ++i) {
      try {
        store->save(big.assoc(kw("n"), i));
      } catch (const StoreError& e) {
        if (failed++ == 0) std::fprintf(stderr, "save %d: %s\n", i, e.what());
      }
    }
    if (failed > 0) std::fprintf(stderr, "%d of %d saves failed\n", failed, kSaves);
    const auto stored = store->load_all();
    const bool last_kept =
        stored.size() == 1 && stored.begin()->second.get(kw("n")) == Value(kSaves - 1);
    return failed > 0 ? 1 : last_kept ? 0 : 3;
  });
  EXPECT_EQ(code, 0) << "1: saves failed for want of space (see stderr); 2: no small disk could "
                        "be mounted; 3: the last save is not what loads; < 0: a signal";
}

// A store that saves is refused at open on a directory it cannot write (a
// read-only mount here), naming it; a reading one (remove_left_overs =
// false, as open_existing_store opens) still opens it and loads its records.
TEST(FileStore, AReadOnlyDirectoryIsRefusedAtOpenButStillReads) {
  ScratchDir dir;
  const int code = in_child_on_tmpfs(dir.path(), 1 << 20, [&] {
    file_store(dir.path())->save(conv::make("cv-1"));
    if (!make_read_only(dir.path())) return 2;
    const std::string message = store_error_of([&] { file_store(dir.path()); });
    const bool named = contains(message, dir.path().string()) &&
                       contains(message, "is not writable (Read-only file system)");
    if (!named) std::fprintf(stderr, "refusal: \"%s\"\n", message.c_str());
    const auto read = file_store(dir.path(), {.create = false, .remove_left_overs = false});
    const bool loaded = read->load_all().count("cv-1") == 1;
    const bool tool_loaded =
        open_existing_store("file:" + dir.path().string())->load_all().size() == 1;
    return !named ? 1 : !loaded || !tool_loaded ? 3 : 0;
  });
  EXPECT_EQ(code, 0)
      << "1: the writing store opened, or its message does not name the directory (see stderr); "
         "2: no read-only disk could be mounted; 3: a reading store did not load the record";
}

// A record nested deeper than the loading thread's stack can read is the
// thread's limit, not bad data: the load fails (as when memory runs out)
// instead of skipping a conversation that a larger stack loads.
TEST(FileStore, ALoadShortOfStackFailsInsteadOfSkippingTheRecord) {
  ScratchDir dir;
  Value deep = Value(1);
  for (int level = 0; level < 990; ++level) deep = edn::vec({deep});
  const Value c =
      conv::put_instance(conv::make("cv-deep", edn::Instant{1700000000, 0}), "i1",
                         edn::map({{kw("instance/id"), Value("i1")}, {kw("deep"), deep}}));
  file_store(dir.path())->save(c);
  std::string error;
  std::size_t loaded = 0;
  LogCapture log;
  run_with_stack(128 * 1024, [&] {
    try {
      loaded = file_store(dir.path(), {.load_threads = 1})->load_all().size();
    } catch (const StoreError& e) {
      error = e.what();
    }
  });
  EXPECT_EQ(loaded, 0u);
  EXPECT_NE(error.find("cv-deep.edn"), std::string::npos) << error;
  EXPECT_NE(error.find("stack"), std::string::npos) << error;
  EXPECT_TRUE(log.at(log::Level::warn).empty()) << "the record was skipped as bad data";
  EXPECT_EQ(file_store(dir.path())->load_all().size(), 1u);  // a full-size stack loads it
}

// Saving on a thread whose stack cannot print the conversation fails the
// save (the runtime logs it and saves again later) and keeps the stored
// copy, instead of crashing the process.
TEST(FileStore, ASaveShortOfStackFailsAndKeepsTheStoredCopy) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  const Value shallow = conv::make("cv-deep", edn::Instant{1700000000, 0});
  store->save(shallow);
  const std::string before = slurp(dir.path() / "cv-deep.edn");
  Value deep = Value(1);
  for (int level = 0; level < 990; ++level) deep = edn::vec({deep});
  const Value c = conv::put_instance(
      shallow, "i1", edn::map({{kw("instance/id"), Value("i1")}, {kw("deep"), deep}}));
  std::string error;
  run_with_stack(128 * 1024, [&] {
    try {
      store->save(c);
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  EXPECT_NE(error.find("stack is too small"), std::string::npos) << error;
  EXPECT_EQ(slurp(dir.path() / "cv-deep.edn"), before);
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"cv-deep.edn"});
  store->save(c);  // this thread's stack holds it
  EXPECT_EQ(file_store(dir.path())->load_all().at("cv-deep"), c);
}

TEST(FileStore, NonPrintableSaveKeepsTheFileAndDoesNotSerialise) {
  ScratchDir dir;
  auto store = file_store(dir.path());
  const Value c = conv::make("cv-flow");
  store->save(c);
  const std::string before = slurp(dir.path() / "cv-flow.edn");
  LogCapture capture;
  store->save(unprintable_conversation("cv-flow"));
  EXPECT_EQ(slurp(dir.path() / "cv-flow.edn"), before);
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"cv-flow.edn"});
  EXPECT_EQ(capture.at(log::Level::warn).size(), 1u);
}

// The thread's text buffer is reused between saves and reads, but one that
// a huge conversation grew is freed when that save or read is done: an idle
// thread, or load_all's, kept 2-3x the largest conversation for ever.
TEST(FileStore, AHugeConversationDoesNotPinItsBufferAfterwards) {
  ScratchDir dir;
  auto store = file_store(dir.path(), {.load_threads = 1});
  const std::size_t huge = 4 * store_detail::ScratchText::kKeep;
  store->save(conv::make("cv-huge").assoc(kw("big"), Value(std::string(huge, 'x'))));
  EXPECT_LE(store_detail::ScratchText::kept_capacity(), store_detail::ScratchText::kKeep);
  const ConversationMap loaded = file_store(dir.path(), {.load_threads = 1})->load_all();
  ASSERT_TRUE(loaded.contains("cv-huge"));
  EXPECT_LE(store_detail::ScratchText::kept_capacity(), store_detail::ScratchText::kKeep);
  // A small one keeps the buffer for the next.
  store->save(conv::make("cv-small"));
  EXPECT_GT(store_detail::ScratchText::kept_capacity(), 0u);
}

// A record over max_record_bytes is neither read (a stray huge or sparse
// file must not exhaust memory at startup) nor written; the rest is loaded
// and the stored version stays.
TEST(FileStore, RecordsOverTheSizeLimitAreSkippedAndNotWritten) {
  ScratchDir dir;
  const Value small = conv::make("cv-small");
  const std::size_t limit = edn::write(small).size() + 100;
  auto store = file_store(dir.path(), {.max_record_bytes = limit});
  store->save(small);
  const fs::path huge = dir.path() / "cv-huge.edn";
  spit(huge, "");
  fs::resize_file(huge, std::uintmax_t{64} << 30);  // sparse: 64 GiB of nothing
  LogCapture capture;
  const ConversationMap loaded = store->load_all();
  EXPECT_EQ(loaded.size(), 1u);
  EXPECT_TRUE(loaded.contains("cv-small"));
  const auto warnings = capture.at(log::Level::warn);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(contains(warnings[0], huge.string()) &&
              contains(warnings[0], "larger than the record limit (68719476736 bytes, at most " +
                                        std::to_string(limit)))
      << warnings[0];
  EXPECT_EQ(fs::file_size(huge), std::uintmax_t{64} << 30) << "left untouched";

  const Value big = small.assoc(kw("big"), Value(std::string(limit, 'x')));
  try {
    store->save(big);
    ADD_FAILURE() << "a record over the limit was saved";
  } catch (const StoreError& e) {
    EXPECT_TRUE(contains(e.what(), "\"cv-small\" is ") &&
                contains(e.what(), "over the record limit of " + std::to_string(limit)))
        << e.what();
  }
  EXPECT_EQ(store->load_all().at("cv-small"), small);
}

TEST(InMemoryStore, EveryOperationIsANoOp) {
  auto store = in_memory_store();
  const Value c = varied_conversation("cv-mem", 1);
  EXPECT_EQ(store->save(c), c);
  LogCapture capture;
  const Value live = unprintable_conversation("cv-flow");
  EXPECT_EQ(store->save(live), live);
  EXPECT_TRUE(capture.messages().empty()) << "nothing is skipped: nothing is ever stored";
  EXPECT_TRUE(store->load_all().empty());
  EXPECT_NO_THROW(store->remove("cv-mem"));
  EXPECT_NO_THROW(store->remove("cv-never"));
}

}  // namespace
}  // namespace stube::test
