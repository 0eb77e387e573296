// store_bench — the file store against the raw-I/O floor, on the conversation
// corpus (bench/corpus.hpp, ~7 KB each). bench/run_store_bench.sh also runs
// the original Clojure algorithm (bench/reference/store_reference.clj) on the
// same documents and passes its figures in, so one table shows all of them.
//
//   store_bench --dump=FILE [--docs=N]      # the corpus, one document a line
//   store_bench --dir=DIR [--docs=N] [--durable-docs=N] [--rounds=R]
//               [--memory=M] [--reference=FILE]
//
// Every save phase first creates the files in an empty directory ("create"),
// then replaces them R times ("replace", the steady state of a running
// server, reported as the median round). Dirty pages are synced between
// phases so one phase's write-back does not slow the next. Loads read a warm
// page cache, as does the reference. --memory=M writes M more documents in a
// child process and reports its RSS growth across load_all against their
// total EDN bytes.
#include <fcntl.h>
#include <sys/wait.h>
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
#include <string>
#include <thread>
#include <vector>

#include "corpus.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"
#include "stube/store.hpp"

namespace fs = std::filesystem;
namespace edn = stube::edn;

namespace {

struct Options {
  std::string dir;
  std::string dump;
  std::string reference;
  std::size_t docs = 5000;
  std::size_t durable_docs = 1000;
  int rounds = 3;
  std::size_t memory = 0;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "store_bench: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void fresh_dir(const fs::path& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
}

// Save rates (documents per second) of one way of saving.
struct SaveRates {
  double create = 0;
  double replace = 0;
};

// Times `save_all` once into an empty `dir`, then `rounds` times over it.
SaveRates time_saves(const fs::path& dir, std::size_t docs, int rounds,
                     const std::function<void()>& save_all) {
  fresh_dir(dir);
  ::sync();
  auto t0 = std::chrono::steady_clock::now();
  save_all();
  SaveRates r;
  r.create = static_cast<double>(docs) / seconds_since(t0);
  std::vector<double> replace;
  for (int i = 0; i < rounds; ++i) {
    ::sync();
    t0 = std::chrono::steady_clock::now();
    save_all();
    replace.push_back(static_cast<double>(docs) / seconds_since(t0));
  }
  r.replace = median(replace);
  return r;
}

// The floor: the bytes our save writes, with nothing but the system calls it
// makes (relative to an open directory, like the file store).
void raw_save_all(const fs::path& dir, const std::vector<std::string>& cids,
                  const std::vector<std::string>& texts) {
  static std::uint64_t counter = 0;
  const int dirfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) die("open " + dir.string());
  for (std::size_t i = 0; i < cids.size(); ++i) {
    const std::string tmp = "." + cids[i] + ".edn." + std::to_string(::getpid()) + "." +
                            std::to_string(counter++) + ".tmp";
    const std::string target = cids[i] + ".edn";
    const int fd = ::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) die("open " + tmp);
    if (::write(fd, texts[i].data(), texts[i].size()) != static_cast<ssize_t>(texts[i].size())) {
      die("write " + tmp);
    }
    if (::close(fd) != 0) die("close " + tmp);
    if (::renameat(dirfd, tmp.c_str(), dirfd, target.c_str()) != 0) die("rename " + tmp);
  }
  ::close(dirfd);
}

double time_loads(const fs::path& dir, std::size_t docs, int rounds, unsigned threads) {
  auto store = stube::file_store(dir, {.load_threads = threads});
  std::vector<double> rates;
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto loaded = store->load_all();
    rates.push_back(static_cast<double>(loaded.size()) / seconds_since(t0));
    if (loaded.size() != docs) {
      std::fprintf(stderr, "store_bench: loaded %zu of %zu\n", loaded.size(), docs);
      std::exit(1);
    }
  }
  return median(rates);
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

// In a child process, so the heap holds nothing but the loaded conversations:
// writes `count` documents streaming (never all in memory), then load_all.
MemoryFigures measure_memory(const fs::path& dir, std::size_t count) {
  int fds[2];
  if (::pipe(fds) != 0) die("pipe");
  const pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    ::close(fds[0]);
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
    const bool ok = ::write(fds[1], &m, sizeof m) == static_cast<ssize_t>(sizeof m);
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  MemoryFigures m;
  const bool got = ::read(fds[0], &m, sizeof m) == static_cast<ssize_t>(sizeof m);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die("memory child failed");
  fs::remove_all(dir);
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

int dump(const Options& o) {
  std::ofstream out(o.dump, std::ios::binary);
  for (const auto& doc : stube::bench::conversation_corpus(o.docs)) out << edn::write(doc) << '\n';
  return out.good() ? 0 : 1;
}

std::string ratio(double a, double b) {
  if (b <= 0) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fx", a / b);
  return buf;
}

std::string percent(double a, double b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100.0 * a / b);
  return buf;
}

void row(const char* label, double rate, const std::string& vs_ref, const std::string& vs_floor,
         const std::string& note = "") {
  std::printf("%-34s %10.0f %10s %10s   %s\n", label, rate, vs_ref.c_str(), vs_floor.c_str(),
              note.c_str());
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

  const SaveRates floor = time_saves(base / "floor", corpus.size(), o.rounds,
                                     [&] { raw_save_all(base / "floor", cids, texts); });
  const SaveRates rename = time_saves(base / "rename", corpus.size(), o.rounds, [&] {
    auto store = stube::file_store(base / "rename");
    for (const auto& doc : corpus) store->save(doc);
  });
  const SaveRates durable = time_saves(base / "durable", durable_docs, o.rounds, [&] {
    auto store = stube::file_store(base / "durable", {.durability = stube::Durability::durable});
    for (const auto& doc : durable_corpus) store->save(doc);
  });
  ::sync();
  const double load = time_loads(base / "rename", corpus.size(), o.rounds, 0);
  const double load1 = time_loads(base / "rename", corpus.size(), o.rounds, 1);
  fs::remove_all(base / "floor");
  fs::remove_all(base / "rename");
  fs::remove_all(base / "durable");

  const auto ref = read_reference(o.reference);
  const auto get = [&](const char* k) { return ref.count(k) ? ref.at(k) : 0.0; };
  const double ref_create = get("reference_save_create");
  const double ref_replace = get("reference_save_replace");
  const double ref_load = get("reference_load");

  std::printf("store benchmark: %zu conversations, %.0f bytes each on average (%.1f MB), in %s\n",
              corpus.size(), static_cast<double>(bytes) / static_cast<double>(corpus.size()),
              static_cast<double>(bytes) / 1e6, o.dir.c_str());
  std::printf("%u cores; median of %d rounds; ops/s = conversations per second\n\n",
              std::thread::hardware_concurrency(), o.rounds);
  std::printf("%-34s %10s %10s %10s\n", "", "ops/s", "vs ref", "vs floor");
  std::printf("save, replacing existing files (the steady state)\n");
  row("  floor: raw open/write/close/rename", floor.replace, ratio(floor.replace, ref_replace), "");
  row("  reference (Clojure original)", ref_replace, "", "");
  row("  stube file_store (rename)", rename.replace, ratio(rename.replace, ref_replace),
      percent(rename.replace, floor.replace), "target >= 3x ref, >= 80% floor");
  row("  stube file_store (durable)", durable.replace, ratio(durable.replace, ref_replace),
      percent(durable.replace, floor.replace),
      "(" + std::to_string(durable_docs) + " conversations)");
  std::printf("save, creating new files\n");
  row("  floor: raw open/write/close/rename", floor.create, ratio(floor.create, ref_create), "");
  row("  reference (Clojure original)", ref_create, "", "");
  row("  stube file_store (rename)", rename.create, ratio(rename.create, ref_create),
      percent(rename.create, floor.create), "target >= 3x ref, >= 80% floor");
  row("  stube file_store (durable)", durable.create, ratio(durable.create, ref_create),
      percent(durable.create, floor.create),
      "(" + std::to_string(durable_docs) + " conversations)");
  std::printf("load_all (warm page cache)\n");
  row("  reference (Clojure original)", ref_load, "", "");
  row("  stube load_all, all cores", load, ratio(load, ref_load), "", "target >= 25x ref");
  row("  stube load_all, one thread", load1, ratio(load1, ref_load), "");

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
    } else if (a.rfind("--reference=", 0) == 0) {
      o.reference = value("--reference=");
    } else if (a.rfind("--docs=", 0) == 0) {
      o.docs = std::stoul(value("--docs="));
    } else if (a.rfind("--durable-docs=", 0) == 0) {
      o.durable_docs = std::stoul(value("--durable-docs="));
    } else if (a.rfind("--rounds=", 0) == 0) {
      o.rounds = std::max(1, std::stoi(value("--rounds=")));
    } else if (a.rfind("--memory=", 0) == 0) {
      o.memory = std::stoul(value("--memory="));
    } else {
      std::fprintf(stderr,
                   "store_bench: unknown argument %s (see the comment in store_bench.cpp)\n",
                   a.c_str());
      return 2;
    }
  }
  if (!o.dump.empty()) return dump(o);
  if (o.dir.empty()) {
    std::fprintf(stderr, "store_bench: --dir=DIR or --dump=FILE is required\n");
    return 2;
  }
  return run(o);
}
