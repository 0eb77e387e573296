// pg_store_bench — the PostgreSQL store on the conversation corpus
// (bench/corpus.hpp, ~7 KB each) against a local server.
//
//   pg_store_bench --conninfo="host=… dbname=…" [--docs=N] [--rounds=R] [--threads=T]
//
// bench/run_pg_bench.sh starts a throwaway server (fsync on) and runs this.
// Phases, each on a fresh table: "create" saves N new conversations (INSERT),
// "replace" saves each of them again on top of what the last save returned
// (the compare-and-set UPDATE a running server does after every event), from
// one thread and from T threads (T connections); "load" reads them one by
// one (load-on-miss); "load_all" reads them all at once (startup). Rates are
// the median of R rounds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "corpus.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"
#include "stube/postgres_store.hpp"

namespace edn = stube::edn;

namespace {

struct Options {
  std::string conninfo;
  std::size_t docs = 5000;
  int rounds = 3;
  unsigned threads = 4;
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Saves docs[i] for every i in [from, to) on top of last[i]; returns nothing.
void save_range(stube::ConversationStore& store, const std::vector<edn::Value>& docs,
                std::vector<edn::Value>& last, std::size_t from, std::size_t to) {
  static const edn::Value kVersion = edn::Value::keyword("conv", "version");
  for (std::size_t i = from; i < to; ++i) {
    const edn::Value& base = last[i].is_nil() ? docs[i] : last[i];
    last[i] = store.save(docs[i].assoc(kVersion, base.get(kVersion)));
  }
}

// Saves with `threads` threads (each a slice of the docs); returns saves/s.
double save_all(stube::ConversationStore& store, const std::vector<edn::Value>& docs,
                std::vector<edn::Value>& last, unsigned threads) {
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  const std::size_t per = (docs.size() + threads - 1) / threads;
  for (unsigned t = 0; t < threads; ++t) {
    const std::size_t from = std::min(docs.size(), t * per);
    const std::size_t to = std::min(docs.size(), from + per);
    pool.emplace_back([&, from, to] { save_range(store, docs, last, from, to); });
  }
  for (auto& th : pool) th.join();
  return static_cast<double>(docs.size()) / seconds_since(t0);
}

struct Rates {
  double create = 0, replace = 0, replace_parallel = 0, load = 0, load_all = 0;
};

// The corpus under ids of its own for round `round`: a removed id stays
// taken (delete wins), so no round can reuse another's.
std::vector<edn::Value> for_round(const std::vector<edn::Value>& docs, int round) {
  std::vector<edn::Value> out;
  out.reserve(docs.size());
  for (const auto& d : docs) {
    const std::string id = std::string(stube::conv::id(d)) + "-r" + std::to_string(round);
    out.push_back(d.assoc(stube::conv::keys::id(), edn::Value(id)));
  }
  return out;
}

Rates run_round(const Options& o, const std::vector<edn::Value>& corpus, int round) {
  Rates r;
  const std::vector<edn::Value> docs = for_round(corpus, round);
  auto store = stube::postgres_store(o.conninfo, {.pool_size = o.threads});
  std::vector<edn::Value> last(docs.size());
  r.create = save_all(*store, docs, last, 1);
  r.replace = save_all(*store, docs, last, 1);
  r.replace_parallel = save_all(*store, docs, last, o.threads);

  auto t0 = Clock::now();
  for (const auto& d : docs) {
    if (!store->load(stube::conv::id(d))) std::abort();
  }
  r.load = static_cast<double>(docs.size()) / seconds_since(t0);

  t0 = Clock::now();
  const auto all = store->load_all();
  r.load_all = static_cast<double>(all.size()) / seconds_since(t0);
  if (all.size() != docs.size()) {
    std::fprintf(stderr, "load_all returned %zu of %zu\n", all.size(), docs.size());
    std::exit(1);
  }
  for (const auto& d : docs) store->remove(stube::conv::id(d));  // the next round loads its own
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* prefix) { return a.substr(std::strlen(prefix)); };
    if (a.rfind("--conninfo=", 0) == 0) {
      o.conninfo = value("--conninfo=");
    } else if (a.rfind("--docs=", 0) == 0) {
      o.docs = std::stoul(value("--docs="));
    } else if (a.rfind("--rounds=", 0) == 0) {
      o.rounds = std::stoi(value("--rounds="));
    } else if (a.rfind("--threads=", 0) == 0) {
      o.threads = static_cast<unsigned>(std::stoul(value("--threads=")));
    } else {
      std::fprintf(stderr,
                   "usage: pg_store_bench --conninfo=… [--docs=N] [--rounds=R] [--threads=T]\n");
      return 2;
    }
  }
  if (o.conninfo.empty() || o.rounds < 1 || o.threads < 1 || o.docs == 0) {
    std::fprintf(stderr, "pg_store_bench: --conninfo is required; docs, rounds, threads > 0\n");
    return 2;
  }
  stube::log::set_sink([](stube::log::Level level, std::string_view msg) {
    if (level >= stube::log::Level::warn) stube::log::stderr_sink(level, msg);
  });

  const auto docs = stube::bench::conversation_corpus(o.docs);
  std::set<std::string_view> ids;
  std::size_t bytes = 0;
  for (const auto& d : docs) {
    ids.insert(stube::conv::id(d));
    bytes += edn::write(d).size();
  }
  if (ids.size() != docs.size()) {
    std::fprintf(stderr, "pg_store_bench: the corpus repeats ids\n");
    return 1;
  }

  std::vector<Rates> rounds;
  for (int r = 0; r < o.rounds; ++r) rounds.push_back(run_round(o, docs, r));
  auto med = [&](double Rates::*field) {
    std::vector<double> v;
    for (const auto& r : rounds) v.push_back(r.*field);
    return median(v);
  };
  std::printf("%zu conversations, %.1f KB each on average; median of %d rounds\n\n", docs.size(),
              static_cast<double>(bytes) / static_cast<double>(docs.size()) / 1024.0, o.rounds);
  std::printf("| phase | ops/s |\n|---|---:|\n");
  std::printf("| save, new (INSERT), 1 thread | %.0f |\n", med(&Rates::create));
  std::printf("| save, replace (CAS UPDATE), 1 thread | %.0f |\n", med(&Rates::replace));
  std::printf("| save, replace (CAS UPDATE), %u threads | %.0f |\n", o.threads,
              med(&Rates::replace_parallel));
  std::printf("| load(cid), 1 thread | %.0f |\n", med(&Rates::load));
  std::printf("| load_all (conversations/s) | %.0f |\n", med(&Rates::load_all));
  std::printf("| load_all of all %zu (calls/s) | %.2f |\n", docs.size(),
              med(&Rates::load_all) / static_cast<double>(docs.size()));
  return 0;
}
