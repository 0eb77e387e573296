// store_bench — the file and SQLite stores against the raw-I/O floor, on the
// conversation corpus (bench/corpus.hpp, ~7 KB each). bench/run_store_bench.sh
// also runs the original Clojure algorithm (bench/reference/store_reference.clj)
// on the same documents and passes its figures in, so one table shows all of
// them.
//
//   store_bench --dump=FILE [--docs=N]      # the corpus, one document a line
//   store_bench --fill=DIR [--docs=N]       # the corpus saved into a file store
//   store_bench --load-once=DIR             # one load_all of a file store, timed
//                                           # (bench/run_first_load_bench.sh)
//   store_bench --dir=DIR [--docs=N] [--durable-docs=N] [--rounds=R]
//               [--threads=T[,T…]] [--memory=M] [--reference=FILE]
//
// The SQLite store runs with synchronous=FULL (durable, the default) and
// NORMAL. Besides one thread saving, T threads save different conversations
// at once ("parallel"), where the SQLite store's group commit batches them;
// each such round starts from an empty store and is timed as a whole, on the
// replace pass, closing the store included.
//
// Saves are timed in R rounds into empty directories ("create") and R
// rounds over the existing files ("replace", the steady state of a running
// server); the median round is reported. The plain floor runs in rounds of
// its own; the floor with deferred release and the file store take turns
// document by document, each call timed on its own (wall time, and the
// process's CPU time), and closing each is timed too (what its background
// thread had left to do). "vs floor" compares with the plain floor, "vs
// later" with the floor of the store's own technique. Loads read a warm
// page cache, as does the reference; each is timed with its map kept (what
// a server's startup pays) and with freeing the map too. --memory=M writes M more documents in a
// child process and reports its RSS growth across load_all against their total EDN bytes.
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "corpus.hpp"
#include "store/deferred_close.hpp"
#include "store/posix_io.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"
#include "stube/sqlite_store.hpp"
#include "stube/store.hpp"

namespace fs = std::filesystem;
namespace edn = stube::edn;

namespace {

struct Options {
  std::string dir;
  std::string dump;
  std::string reference;
  std::string fill;
  std::string load_once;
  std::size_t docs = 5000;
  std::size_t durable_docs = 1000;
  int rounds = 3;
  std::vector<unsigned> threads{8};  // --threads=8,32: one parallel table per count
  std::size_t memory = 0;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Thrown, not exit(): main catches it, and on the way the RemoveOnExit
// guards remove what the run wrote.
[[noreturn]] void die(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

// Removes the directories a run writes when it leaves their scope, however
// it leaves: a failed run leaves no conversations behind in --dir (which may
// be the user's own directory).
class RemoveOnExit {
 public:
  explicit RemoveOnExit(std::vector<fs::path> dirs) : dirs_(std::move(dirs)) {}
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;
  ~RemoveOnExit() {
    std::error_code ignored;  // nothing to do about it on the way out
    for (const fs::path& dir : dirs_) fs::remove_all(dir, ignored);
  }

 private:
  std::vector<fs::path> dirs_;
};

void fresh_dir(const fs::path& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
}

// What one timed run measured: documents per second of wall-clock time, and
// CPU time (user + system, all threads) per document. The CPU figure is what
// the code costs; the rate also contains waiting for the disk.
struct Figure {
  double rate = 0;
  double cpu_us = 0;
};

double cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// Median rate and median CPU time of several runs.
Figure median(const std::vector<Figure>& runs) {
  std::vector<double> rates, cpus;
  for (const Figure& f : runs) {
    rates.push_back(f.rate);
    cpus.push_back(f.cpu_us);
  }
  return {median(rates), median(cpus)};
}

Figure timed(std::size_t docs, const std::function<void()>& f) {
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  f();
  const double wall = seconds_since(t0);
  return {static_cast<double>(docs) / wall,
          (cpu_seconds() - cpu0) * 1e6 / static_cast<double>(docs)};
}

// Saves document i. Made fresh for every round (untimed): opens the store.
using SaveOne = std::function<void(std::size_t i)>;

// One way of saving the first `docs` documents into `dir`, and its runs.
struct Saver {
  Saver(fs::path d, std::size_t n, std::function<SaveOne()> o)
      : dir(std::move(d)), docs(n), open(std::move(o)) {}
  fs::path dir;
  std::size_t docs;
  std::function<SaveOne()> open;
  std::vector<Figure> create, replace;
};

// One round: every document is saved by every saver in turn, in an order
// that rotates from document to document, and each call is timed on its own.
// So a slow spell of the shared disk, or the write-back of earlier saves,
// falls on all savers alike. `create` starts from empty directories.
void round_of(const std::vector<Saver*>& savers, bool create, int round) {
  const std::size_t n = savers.size();
  std::vector<SaveOne> ops;
  std::size_t docs = 0;
  for (Saver* s : savers) {
    if (create) fresh_dir(s->dir);
    ops.push_back(s->open());
    docs = std::max(docs, s->docs);
  }
  ::sync();
  std::vector<double> wall(n), cpu(n);
  for (std::size_t i = 0; i < docs; ++i) {
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t which = (i + k) % n;
      if (i >= savers[which]->docs) continue;
      // The whole process's CPU time: the file store releases replaced files
      // on a thread of its own, whose work counts too. What that thread does
      // during another saver's call is billed to that call.
      const double cpu0 = cpu_seconds();
      const auto t0 = std::chrono::steady_clock::now();
      ops[which](i);
      wall[which] += seconds_since(t0);
      cpu[which] += cpu_seconds() - cpu0;
    }
  }
  // Closing a saver is on its clock: the releases it left to its background
  // thread and had not finished (trims, on a discard-mounted disk) are its
  // work, not a cost to leave behind when the round ends. The first one
  // closed also pays for what the others' threads release meanwhile, so
  // which one goes first turns from round to round.
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t k = (j + static_cast<std::size_t>(round)) % n;
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    ops[k] = nullptr;
    wall[k] += seconds_since(t0);
    cpu[k] += cpu_seconds() - cpu0;
  }
  for (std::size_t k = 0; k < n; ++k) {
    const auto d = static_cast<double>(savers[k]->docs);
    (create ? savers[k]->create : savers[k]->replace).push_back({d / wall[k], cpu[k] * 1e6 / d});
  }
}

// The floor: the bytes our save writes, with nothing but the system calls it
// makes (relative to an open directory, like the file store). With
// `release_later`, also what the file store does about the replaced file:
// it is held open across the rename and closed on another thread (see
// src/store/deferred_close.hpp), so that freeing it is not waited for.
SaveOne raw_saver(const fs::path& dir, const std::vector<std::string>& cids,
                  const std::vector<std::string>& texts, bool release_later) {
  using stube::store_detail::DeferredClose;
  using stube::store_detail::Fd;
  auto dirfd = std::make_shared<Fd>(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!*dirfd) die("open " + dir.string());
  auto closer = release_later ? std::make_shared<DeferredClose>() : nullptr;
  return [dirfd, closer, &cids, &texts](std::size_t i) {
    static std::uint64_t counter = 0;
    const int dir_fd = dirfd->get();
    const std::string tmp = "." + cids[i] + ".edn." + std::to_string(::getpid()) + "." +
                            std::to_string(counter++) + ".tmp";
    const std::string target = cids[i] + ".edn";
    const int fd = ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) die("open " + tmp);
    if (::write(fd, texts[i].data(), texts[i].size()) != static_cast<ssize_t>(texts[i].size())) {
      die("write " + tmp);
    }
    if (::close(fd) != 0) die("close " + tmp);
    Fd replaced;
    if (closer) replaced = Fd(::openat(dir_fd, target.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (::renameat(dir_fd, tmp.c_str(), dir_fd, target.c_str()) != 0) die("rename " + tmp);
    if (closer) closer->close_later(std::move(replaced));
  };
}

using OpenStore = std::function<std::shared_ptr<stube::ConversationStore>()>;

// `threads` threads save the first `docs` documents (each its own slice)
// into a store opened on an empty `dir`, twice; the second pass, replacing,
// is timed, and closing the store with it. Median of `rounds`.
Figure time_parallel_saves(const fs::path& dir, const OpenStore& open,
                           const std::vector<edn::Value>& corpus, std::size_t docs,
                           unsigned threads, int rounds) {
  const RemoveOnExit cleanup({dir});
  std::vector<Figure> runs;
  for (int r = 0; r < rounds; ++r) {
    fresh_dir(dir);
    auto store = open();
    const auto pass = [&] {
      std::vector<std::jthread> pool;
      for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
          for (std::size_t i = t; i < docs; i += threads) store->save(corpus[i]);
        });
      }
    };
    pass();
    ::sync();
    // Closing is on the clock, as in round_of: the file store's releases
    // still queued for its background thread, and SQLite's close work, are
    // part of what the saves cost.
    runs.push_back(timed(docs, [&] {
      pass();
      store.reset();
    }));
  }
  return median(runs);
}

// load_all's rate as a server's startup pays it (the map kept: the
// conversations live on), and with freeing the map as well: the reference's
// rounds leave their maps to its collector, which runs within them, though
// a generational collector pays for live objects, not for dead ones. The
// target is judged on the first; both are printed.
struct LoadFigures {
  Figure kept, freed;
};

LoadFigures time_loads(const OpenStore& open, std::size_t docs, int rounds) {
  auto store = open();
  // One untimed load first, as for the saves and for the reference (whose
  // warm-up pass also loads everything once): the timed rounds then compare
  // warm heaps and warm code on both sides. The first load of a fresh
  // process is measured by run_first_load_bench.sh.
  store->load_all();
  std::vector<Figure> kept, freed;
  for (int i = 0; i < rounds; ++i) {
    stube::ConversationMap loaded;
    kept.push_back(timed(docs, [&] { loaded = store->load_all(); }));
    const std::size_t count = loaded.size();
    const Figure freeing = timed(docs, [&] { stube::ConversationMap().swap(loaded); });
    // Two phases one after the other: their times add up.
    freed.push_back(
        {1 / (1 / kept.back().rate + 1 / freeing.rate), kept.back().cpu_us + freeing.cpu_us});
    std::fprintf(stderr, "store_bench: load_all round %d: %.0f/s (%.0f/s with freeing)\n", i + 1,
                 kept.back().rate, freed.back().rate);
    if (count != docs)
      throw std::runtime_error("loaded " + std::to_string(count) + " of " + std::to_string(docs));
  }
  return {median(kept), median(freed)};
}

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

struct MemoryFigures {
  std::size_t docs = 0;
  double edn_mb = 0;
  double rss_mb = 0;
  double seconds = 0;
};

// The child's part of measure_memory: writes `count` documents streaming
// (never all in memory), then load_all; sends its figures down `out`.
// Returns the child's exit status. An error never leaves it: unwinding
// would run the parent's code (and its cleanup) in the child.
int memory_child(const fs::path& dir, std::size_t count, int out) noexcept try {
  fresh_dir(dir);
  stube::bench::CorpusRng rng(stube::bench::kCorpusSeed + 1);
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const edn::Value doc = stube::bench::conversation(rng);
    const std::string text = edn::write(doc);
    bytes += text.size();
    std::ofstream(dir / (std::string(stube::conv::id(doc)) + ".edn"), std::ios::binary) << text;
  }
  MemoryFigures m;
  const long before = rss_kib();
  const auto t0 = std::chrono::steady_clock::now();
  const auto loaded = stube::file_store(dir)->load_all();
  m.seconds = seconds_since(t0);
  m.rss_mb = static_cast<double>(rss_kib() - before) / 1024.0;
  m.docs = loaded.size();
  m.edn_mb = static_cast<double>(bytes) / (1024.0 * 1024.0);
  return ::write(out, &m, sizeof m) == static_cast<ssize_t>(sizeof m) ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "store_bench: memory child: %s\n", e.what());
  return 1;
}

// In a child process, so the heap holds nothing but the loaded conversations.
MemoryFigures measure_memory(const fs::path& dir, std::size_t count) {
  const RemoveOnExit cleanup({dir});  // the parent's: the child leaves by _exit
  int fds[2];
  if (::pipe(fds) != 0) die("pipe");
  const pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    ::close(fds[0]);
    ::_exit(memory_child(dir, count, fds[1]));
  }
  ::close(fds[1]);
  MemoryFigures m;
  const bool got = ::read(fds[0], &m, sizeof m) == static_cast<ssize_t>(sizeof m);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("the memory child failed");
  return m;
}

std::map<std::string, double> read_reference(const std::string& path) {
  std::map<std::string, double> out;
  if (path.empty()) return out;
  std::ifstream in(path);
  std::string key;
  double value = 0;
  while (in >> key >> value) out[key] = value;
  return out;
}

int fill(const Options& o) {
  auto store = stube::file_store(o.fill);
  for (const auto& doc : stube::bench::conversation_corpus(o.docs)) store->save(doc);
  return 0;
}

// The first load_all of a process (what a server does at startup): its heap
// is fresh, so every node costs a page fault, where the rounds of run()
// reuse the memory the previous round freed.
int load_once(const Options& o) {
  stube::log::set_sink([](stube::log::Level, std::string_view) {});
  auto store = stube::file_store(o.load_once);
  const auto t0 = std::chrono::steady_clock::now();
  const stube::ConversationMap loaded = store->load_all();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("load_once conversations=%zu seconds=%.4f per_s=%.0f\n", loaded.size(), s,
              static_cast<double>(loaded.size()) / s);
  return loaded.empty() ? 1 : 0;
}

int dump(const Options& o) {
  std::ofstream out(o.dump, std::ios::binary);
  for (const auto& doc : stube::bench::conversation_corpus(o.docs)) out << edn::write(doc) << '\n';
  return out.good() ? 0 : 1;
}

std::string fmt(const char* format, double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string ratio(double a, double b) {
  return b > 0 ? fmt("%.1fx", a / b) : "-";
}

// The two floors' rates a save is compared with (0: no comparison).
struct Floors {
  double plain = 0;  // raw open/write/close/rename: the floor issue #3 names
  double later = 0;  // the same with the old file released later: the store's technique
};

std::string percent_of(double rate, double floor) {
  return floor > 0 ? fmt("%.0f%%", 100 * rate / floor) : "";
}

// label | ops/s | CPU us/op | vs reference | vs floor | vs later | note
void row(const std::string& label, Figure f, double ref, Floors floors, const std::string& note) {
  std::printf("%-36s %9.0f %9.1f %8s %8s %8s   %s\n", label.c_str(), f.rate, f.cpu_us,
              ref > 0 ? ratio(f.rate, ref).c_str() : "", percent_of(f.rate, floors.plain).c_str(),
              percent_of(f.rate, floors.later).c_str(), note.c_str());
}

int run(const Options& o) {
  const fs::path base(o.dir);
  stube::log::set_sink([](stube::log::Level level, std::string_view msg) {
    if (level != stube::log::Level::info) stube::log::stderr_sink(level, msg);
  });
  const auto corpus = stube::bench::conversation_corpus(o.docs);
  std::vector<std::string> cids, texts;
  std::size_t bytes = 0;
  for (const auto& doc : corpus) {
    cids.emplace_back(stube::conv::id(doc));
    texts.push_back(edn::write(doc));
    bytes += texts.back().size();
  }
  const std::size_t durable_docs = std::min(o.durable_docs, corpus.size());
  const std::vector<edn::Value> durable_corpus(corpus.begin(), corpus.begin() + durable_docs);

  const auto store_saver = [&](stube::Durability durability, const fs::path& dir) {
    return [&corpus, durability, dir]() -> SaveOne {
      auto store = stube::file_store(dir, {.durability = durability});
      return [store, &corpus](std::size_t i) { store->save(corpus[i]); };
    };
  };
  Saver floor{base / "floor", corpus.size(),
              [&] { return raw_saver(base / "floor", cids, texts, false); }};
  Saver floor_later{base / "floor-later", corpus.size(),
                    [&] { return raw_saver(base / "floor-later", cids, texts, true); }};
  Saver rename{base / "rename", corpus.size(),
               store_saver(stube::Durability::rename, base / "rename")};
  // Durable saves run on their own: their fsyncs would also flush the
  // others' pending writes and bill them to the durable saver.
  Saver durable{base / "durable", durable_docs,
                store_saver(stube::Durability::durable, base / "durable")};
  const auto sqlite_saver = [&](stube::SqliteSync sync, const fs::path& dir) {
    return [&corpus, sync, dir]() -> SaveOne {
      auto store = stube::sqlite_store(dir / "convs.db", {.synchronous = sync});
      return [store, &corpus](std::size_t i) { store->save(corpus[i]); };
    };
  };
  // Each SQLite mode on its own too: FULL fsyncs, NORMAL checkpoints.
  Saver sqlite_full{base / "sqlite-full", durable_docs,
                    sqlite_saver(stube::SqliteSync::full, base / "sqlite-full")};
  Saver sqlite_normal{base / "sqlite-normal", corpus.size(),
                      sqlite_saver(stube::SqliteSync::normal, base / "sqlite-normal")};
  const RemoveOnExit cleanup(
      {floor.dir, floor_later.dir, rename.dir, durable.dir, sqlite_full.dir, sqlite_normal.dir});
  for (const bool create : {true, false}) {
    // The store and the floor of its technique take turns call by call, so
    // that a slow spell of the disk hits them alike. The plain floor runs on
    // its own: the releases the other two leave to a background thread (a
    // trim each, on a discard-mounted disk) would keep the device busy during
    // its calls and bill it for them.
    for (int r = 0; r < o.rounds; ++r) round_of({&floor}, create, r);
    for (int r = 0; r < o.rounds; ++r) round_of({&floor_later, &rename}, create, r);
    for (int r = 0; r < o.rounds; ++r) round_of({&durable}, create, r);
  }
  for (const bool create : {true, false}) {
    for (int r = 0; r < o.rounds; ++r) round_of({&sqlite_full}, create, r);
    for (int r = 0; r < o.rounds; ++r) round_of({&sqlite_normal}, create, r);
  }
  ::sync();
  const auto file_at = [](const fs::path& dir, unsigned threads) -> OpenStore {
    return [dir, threads] { return stube::file_store(dir, {.load_threads = threads}); };
  };
  const auto sqlite_at = [](const fs::path& dir, unsigned threads) -> OpenStore {
    return
        [dir, threads] { return stube::sqlite_store(dir / "convs.db", {.load_threads = threads}); };
  };
  const LoadFigures load = time_loads(file_at(base / "rename", 0), corpus.size(), o.rounds);
  const LoadFigures load1 = time_loads(file_at(base / "rename", 1), corpus.size(), o.rounds);
  const LoadFigures sqlite_load =
      time_loads(sqlite_at(base / "sqlite-normal", 0), corpus.size(), o.rounds);
  const LoadFigures sqlite_load1 =
      time_loads(sqlite_at(base / "sqlite-normal", 1), corpus.size(), o.rounds);
  for (const Saver* s : {&floor, &floor_later, &rename, &durable, &sqlite_full, &sqlite_normal})
    fs::remove_all(s->dir);

  // T threads saving different conversations at once.
  const fs::path par = base / "parallel";
  const auto file_durability = [&](stube::Durability d) -> OpenStore {
    return [&par, d] { return stube::file_store(par, {.durability = d}); };
  };
  const auto sqlite_sync = [&](stube::SqliteSync sync) -> OpenStore {
    return [&par, sync] { return stube::sqlite_store(par / "convs.db", {.synchronous = sync}); };
  };
  struct Parallel {
    unsigned threads;
    Figure rename, durable, sqlite_full, sqlite_normal;
  };
  std::vector<Parallel> parallel;
  for (const unsigned t : o.threads) {
    const auto run = [&](const OpenStore& open, std::size_t docs) {
      return time_parallel_saves(par, open, corpus, docs, t, o.rounds);
    };
    parallel.push_back({t, run(file_durability(stube::Durability::rename), corpus.size()),
                        run(file_durability(stube::Durability::durable), durable_docs),
                        run(sqlite_sync(stube::SqliteSync::full), durable_docs),
                        run(sqlite_sync(stube::SqliteSync::normal), corpus.size())});
  }

  const auto ref = read_reference(o.reference);
  const auto get = [&](const std::string& k) {
    return Figure{ref.count(k) ? ref.at(k) : 0.0,
                  ref.count(k + "_cpu_us") ? ref.at(k + "_cpu_us") : 0.0};
  };
  const Figure ref_create = get("reference_save_create");
  const Figure ref_replace = get("reference_save_replace");
  const Figure ref_load = get("reference_load");

  std::printf("store benchmark: %zu conversations, %.0f bytes each on average (%.1f MB), in %s\n",
              corpus.size(), static_cast<double>(bytes) / static_cast<double>(corpus.size()),
              static_cast<double>(bytes) / 1e6, o.dir.c_str());
  std::printf(
      "%u cores; medians of %d rounds; ops/s = conversations per second of wall time;\n"
      "CPU = user + system time of all threads per conversation\n\n",
      std::thread::hardware_concurrency(), o.rounds);
  std::printf("%-36s %9s %9s %8s %8s %8s\n", "", "ops/s", "CPU us", "vs ref", "vs floor",
              "vs later");
  const std::string durable_note = "(" + std::to_string(durable_docs) + " conversations)";
  for (const bool replacing : {true, false}) {
    std::printf(replacing ? "save, replacing existing files (the steady state)\n"
                          : "save, creating new files\n");
    const Figure r = replacing ? ref_replace : ref_create;
    const Figure plain = median(replacing ? floor.replace : floor.create);
    const Figure later = median(replacing ? floor_later.replace : floor_later.create);
    const Floors floors{plain.rate, later.rate};
    row("  floor: raw open/write/close/rename", plain, r.rate, {}, "");
    row("  floor, old file released later", later, r.rate, {plain.rate, 0},
        "(the file store's technique)");
    row("  reference (Clojure original)", r, 0, {}, "");
    row("  stube file_store (rename)", median(replacing ? rename.replace : rename.create), r.rate,
        floors, "target >= 3x ref, >= 80% of floor");
    row("  stube file_store (durable)", median(replacing ? durable.replace : durable.create),
        r.rate, floors, durable_note);
    row("  stube sqlite_store (FULL, durable)",
        median(replacing ? sqlite_full.replace : sqlite_full.create), r.rate, floors, durable_note);
    row("  stube sqlite_store (NORMAL)",
        median(replacing ? sqlite_normal.replace : sqlite_normal.create), r.rate, floors, "");
  }
  for (const Parallel& p : parallel) {
    std::printf("save, %u threads saving different conversations (replacing)\n", p.threads);
    row("  stube file_store (rename)", p.rename, ref_replace.rate, {}, "");
    row("  stube file_store (durable)", p.durable, ref_replace.rate, {}, durable_note);
    row("  stube sqlite_store (FULL, durable)", p.sqlite_full, ref_replace.rate, {},
        durable_note + " target >= 10x ref");
    row("  stube sqlite_store (NORMAL)", p.sqlite_normal, ref_replace.rate, {}, "");
  }
  std::printf("load_all (warm page cache)\n");
  row("  reference (Clojure original)", ref_load, 0, {}, "");
  row("  stube load_all, all cores", load.kept, ref_load.rate, {}, "target >= 25x ref");
  row("    and freeing the map", load.freed, ref_load.rate, {}, "");
  row("  stube load_all, one thread", load1.kept, ref_load.rate, {}, "");
  row("    and freeing the map", load1.freed, ref_load.rate, {}, "");
  row("  stube sqlite load_all, all cores", sqlite_load.kept, ref_load.rate, {}, "");
  row("  stube sqlite load_all, one thread", sqlite_load1.kept, ref_load.rate, {}, "");

  if (o.memory > 0) {
    const MemoryFigures m = measure_memory(base / "memory", o.memory);
    std::printf(
        "\nmemory: %zu conversations loaded in %.1f s, EDN %.0f MiB on disk, RSS growth %.0f MiB "
        "= %.2fx the EDN bytes (target <= 3x)\n",
        m.docs, m.seconds, m.edn_mb, m.rss_mb, m.rss_mb / m.edn_mb);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&](const char* flag) { return a.substr(std::strlen(flag)); };
    if (a.rfind("--dir=", 0) == 0) {
      o.dir = value("--dir=");
    } else if (a.rfind("--dump=", 0) == 0) {
      o.dump = value("--dump=");
    } else if (a.rfind("--fill=", 0) == 0) {
      o.fill = value("--fill=");
    } else if (a.rfind("--load-once=", 0) == 0) {
      o.load_once = value("--load-once=");
    } else if (a.rfind("--reference=", 0) == 0) {
      o.reference = value("--reference=");
    } else if (a.rfind("--docs=", 0) == 0) {
      o.docs = std::stoul(value("--docs="));
    } else if (a.rfind("--durable-docs=", 0) == 0) {
      o.durable_docs = std::stoul(value("--durable-docs="));
    } else if (a.rfind("--rounds=", 0) == 0) {
      o.rounds = std::max(1, std::stoi(value("--rounds=")));
    } else if (a.rfind("--threads=", 0) == 0) {
      o.threads.clear();
      std::string list = value("--threads=");
      for (std::size_t at = 0; at <= list.size();) {
        const std::size_t comma = std::min(list.find(',', at), list.size());
        o.threads.push_back(
            static_cast<unsigned>(std::max(1, std::stoi(list.substr(at, comma - at)))));
        at = comma + 1;
      }
    } else if (a.rfind("--memory=", 0) == 0) {
      o.memory = std::stoul(value("--memory="));
    } else {
      std::fprintf(stderr,
                   "store_bench: unknown argument %s (see the comment in store_bench.cpp)\n",
                   a.c_str());
      return 2;
    }
  }
  if (o.dir.empty() && o.dump.empty() && o.fill.empty() && o.load_once.empty()) {
    std::fprintf(stderr, "store_bench: --dir=DIR or --dump=FILE is required\n");
    return 2;
  }
  try {
    if (!o.dump.empty()) return dump(o);
    if (!o.fill.empty()) return fill(o);
    if (!o.load_once.empty()) return load_once(o);
    return run(o);
  } catch (const std::exception& e) {
    // Caught, so that the stack unwinds through the RemoveOnExit guards.
    std::fprintf(stderr, "store_bench: %s\n", e.what());
    return 1;
  }
}
