// The SQLite store: one row per conversation in one database file, saves
// batched into group commits. See stube/sqlite_store.hpp for the contract,
// store/sqlite_schema.hpp for the table and store/group_commit.hpp for the
// batching.
#include "stube/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/checks.hpp"
#include "store/group_commit.hpp"
#include "store/parallel_for.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_schema.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"

namespace stube {

namespace {

namespace sq = store_detail::sqlite;
namespace sql = store_detail::sqlite::statements;

constexpr std::string_view kBackend = "sqlite store";
constexpr std::string_view kIndex = "the row's cid";
// load_all copies rows out of SQLite and parses them in chunks of this
// size, so the text of a huge database is never all in memory at once.
constexpr std::size_t kChunkRows = 4096;
constexpr std::size_t kChunkBytes = std::size_t{64} << 20;

const edn::Value& version_key() {
  static const edn::Value k = edn::Value::keyword("conv", "version");
  return k;
}

// One queued save or remove. The texts point into the submitting thread's
// buffers, which live until its submit returns.
struct Op {
  std::string_view cid;
  std::string_view text;  // the printed conversation; empty for a remove
  std::int64_t version = 0;
  std::optional<std::int64_t> touched;  // ms since the epoch
  std::size_t batch_size = 0;           // set by the batch that ran it
  // The failed batch's StoreError message, a copy per caller: each rethrows
  // its own exception rather than sharing one object across threads.
  std::optional<std::string> error{};
};

// :conv/version when it is an integer (informational here: this store does
// not compare-and-set), else 0.
std::int64_t version_of(const edn::Value& conv) {
  const edn::Value* v = conv.find(version_key());
  return v != nullptr && v->is(edn::Kind::Int) ? v->as_int() : 0;
}

std::optional<std::int64_t> touched_of(const edn::Value& conv) {
  const edn::Value* t = conv.find(conv::keys::touched());
  if (t == nullptr || !t->is(edn::Kind::Inst)) return std::nullopt;
  return t->as_inst().millis();
}

// SQLite reads relative names against the working directory, and treats
// ":memory:" and (with URI support) "file:…" specially; "./" keeps a
// relative path a plain file name.
std::string file_name(const std::filesystem::path& path) {
  return path.is_absolute() ? path.string() : "./" + path.string();
}

// A connection set up for this store: busy timeout, WAL, synchronous, and
// (the writer, unless options.create is false) the schema.
struct Connection {
  Connection(const std::filesystem::path& path, const SqliteStoreOptions& options, bool writer)
      : db(file_name(path), path.string(),
           options.create ? sq::OpenMode::create : sq::OpenMode::existing) {
    if (writer && options.create) {
      sq::set_busy_timeout(db, options.busy_timeout);
      sq::refuse_foreign(db);  // before WAL mode changes the file
    }
    sq::configure(db, options.synchronous, options.busy_timeout);
    if (writer && options.create) {
      refuse_read_only();
      sq::ensure_schema(db);
    }
  }
  // SQLite opens a file it may not write read-only, silently, and every
  // save would fail later while the server runs on: refused here instead.
  void refuse_read_only() const {
    if (sqlite3_db_readonly(db.get(), "main") != 1) return;
    sq::fail(db.shown(), "open the database",
             "the file is not writable (SQLite could open it only read-only): a store that "
             "saves needs to write it and its directory");
  }
  sq::Db db;
};

// The connection group commits run on, with its statements.
struct Writer {
  Writer(const std::filesystem::path& path, const SqliteStoreOptions& options)
      : conn(path, options, true),
        begin(conn.db, sql::begin),
        commit(conn.db, sql::commit),
        upsert(conn.db, sql::upsert),
        remove(conn.db, sql::remove) {}
  Connection conn;
  sq::Stmt begin, commit, upsert, remove;
};

// The connection loads and scans read through (one at a time); in WAL mode
// it reads committed data while the writer writes.
struct Reader {
  Reader(const std::filesystem::path& path, const SqliteStoreOptions& options)
      : conn(path, options, false),
        load(conn.db, sql::load),
        all(conn.db, sql::all),
        cids_after(conn.db, sql::cids_after) {}
  Connection conn;
  sq::Stmt load, all, cids_after;
};

// A parsed row of load_all.
struct Row {
  std::string cid;
  std::string text;
  std::optional<edn::Value> conv;
  std::string problem;
  bool starved = false;  // see store_detail::read_record
};

class SqliteStore final : public ConversationStore {
 public:
  SqliteStore(const std::filesystem::path& path, SqliteStoreOptions options)
      : path_(path.string()),
        options_(options),
        writer_(path, options),
        reader_(path, options),
        max_record_bytes_(std::min(options.max_record_bytes, text_limit(writer_.conn.db.get()))) {
    log::info(
        std::string(kBackend) + " " + path_ + ": opened (SQLite " + sqlite3_libversion() +
        ", schema version " + std::to_string(sq::kSchemaVersion) + ", journal_mode=" +
        writer_.conn.db.query_text("PRAGMA journal_mode", "read journal_mode") + ", synchronous=" +
        (writer_.conn.db.query_int("PRAGMA synchronous", "read synchronous") == 2 ? "FULL"
                                                                                  : "NORMAL") +
        ", busy_timeout=" + std::to_string(options.busy_timeout.count()) + " ms)");
  }

  ConversationMap load_all() override {
    std::lock_guard lock(read_mutex_);
    ConversationMap out;
    std::size_t skipped = 0;
    std::string done_through;  // the last cid of the rows taken so far
    try {
      load_chunks(out, skipped, done_through);
    } catch (const sq::Damaged& e) {
      log::warn(std::string(e.what()) + "; reading the remaining rows one by one");
      load_one_by_one(done_through, out, skipped);
    }
    log::info(std::string(kBackend) + " " + path_ + ": loaded " + std::to_string(out.size()) +
              " conversation" + (out.size() == 1 ? "" : "s") + ", skipped " +
              std::to_string(skipped));
    return out;
  }

  std::optional<edn::Value> load(std::string_view cid) override {
    store_detail::check_cid(kBackend, cid);
    std::lock_guard lock(read_mutex_);
    std::optional<edn::Value> conv;
    std::string problem;
    bool stored = false;
    read_row(
        cid,
        [&](std::string_view text) {
          stored = true;
          conv = parse_one(cid, text, problem);
        },
        [&](const std::string& why) {
          stored = true;
          problem = why;
        });
    if (stored) take(cid, conv, problem);  // warns when unreadable
    return conv;
  }

  // Calls visit under the read lock: it must not call back into this store.
  void scan(const std::function<void(std::string_view, std::string_view)>& visit) override {
    scan_reporting(visit, [this](std::string_view cid, std::string_view why) {
      throw StoreError(std::string(kBackend) + ": " + where(cid) +
                       " cannot be read: " + std::string(why));
    });
  }

  // A row on a damaged page goes to `unreadable`, and the scan goes on.
  void scan_reporting(
      const std::function<void(std::string_view, std::string_view)>& visit,
      const std::function<void(std::string_view, std::string_view)>& unreadable) override {
    std::lock_guard lock(read_mutex_);
    std::string done_through;
    try {
      sq::Stmt& all = reader_.all;
      sq::Resetter reset(all);
      while (all.step("scan all conversations")) {
        visit(all.text(0), all.text(1));
        done_through = all.text(0);
      }
    } catch (const sq::Damaged&) {
      each_row_after(
          done_through, [&](std::string_view cid, std::string_view text) { visit(cid, text); },
          [&](std::string_view cid, const std::string& why) { unreadable(cid, why); });
    }
  }

  edn::Value save(const edn::Value& conv) override {
    const std::string_view cid = store_detail::checked_cid(kBackend, conv);
    if (!store_detail::printable_or_warn(kBackend, cid, conv, &unsaved_warnings_)) return conv;
    store_detail::ScratchText scratch;
    std::string& text = scratch.text();
    edn::write(conv, text);
    if (text.size() > max_record_bytes_)
      throw StoreError(std::string(kBackend) + " " + path_ + ": conversation " +
                       conv::quote_id(cid) + " is " + std::to_string(text.size()) +
                       " bytes, over the record limit of " + std::to_string(max_record_bytes_) +
                       " (SqliteStoreOptions::max_record_bytes, SQLITE_LIMIT_LENGTH): not saved");
    Op op{cid, text, version_of(conv), touched_of(conv), 0};
    submit(op);
    return conv;
  }

  void remove(std::string_view cid) override {
    store_detail::check_cid(kBackend, cid);
    Op op{cid, {}, 0, std::nullopt, 0};
    submit(op);
  }

 private:
  // The rows in chunks: read a chunk, parse it in parallel, take it.
  void load_chunks(ConversationMap& out, std::size_t& skipped, std::string& done_through) {
    sq::Stmt& all = reader_.all;
    sq::Resetter reset(all);
    bool more = all.step("load all conversations");
    std::vector<Row> rows;
    while (more) {
      rows.clear();
      std::size_t bytes = 0;
      try {
        for (; more && rows.size() < kChunkRows && bytes < kChunkBytes;
             more = all.step("load all conversations")) {
          rows.push_back({std::string(all.text(0)), std::string(all.text(1)), {}, {}});
          bytes += rows.back().text.size();
        }
      } catch (const std::bad_alloc&) {  // no verdict on any row: fail, as for a parse
        store_detail::throw_starved(kBackend, "the conversations in " + path_, "out of memory");
      }
      parse(rows);
      for (const Row& r : rows)
        if (r.starved) store_detail::throw_starved(kBackend, where(r.cid), r.problem);
      if (!rows.empty()) done_through = rows.back().cid;
      for (Row& r : rows) {
        if (take(r.cid, r.conv, r.problem)) {
          out.emplace(std::move(r.cid), std::move(*r.conv));
        } else {
          ++skipped;
        }
      }
    }
  }

  // After a damaged page: the rows after `done_through`, each read on its
  // own, so that only those on damaged pages are skipped (named).
  void load_one_by_one(const std::string& done_through, ConversationMap& out,
                       std::size_t& skipped) {
    each_row_after(
        done_through,
        [&](std::string_view cid, std::string_view text) {
          std::string problem;
          std::optional<edn::Value> conv = parse_one(cid, text, problem);
          if (take(cid, conv, problem)) {
            out.emplace(std::string(cid), std::move(*conv));
          } else {
            ++skipped;
          }
        },
        [&](std::string_view cid, const std::string& why) {
          take(cid, std::nullopt, why);
          ++skipped;
        });
  }

  // Visits each row whose cid sorts after `after`, read one by one; a row
  // that fails on a damaged page goes to `damaged`. The list of cids comes
  // from the cid index: when that is damaged too, the read fails whole.
  void each_row_after(const std::string& after,
                      const std::function<void(std::string_view, std::string_view)>& visit,
                      const std::function<void(std::string_view, const std::string&)>& damaged) {
    std::vector<std::string> cids;
    {
      sq::Stmt& list = reader_.cids_after;
      sq::Resetter reset(list);
      list.bind_text(1, after);
      while (list.step("list the conversations")) cids.emplace_back(list.text(0));
    }
    for (const std::string& cid : cids) {
      read_row(
          cid, [&](std::string_view text) { visit(cid, text); },
          [&](const std::string& why) { damaged(cid, why); });
    }
  }

  // Reads one row's text into `found` (nothing when there is no such row);
  // a damaged page goes to `damaged` with SQLite's message.
  void read_row(std::string_view cid, const std::function<void(std::string_view)>& found,
                const std::function<void(const std::string&)>& damaged) {
    sq::Stmt& load = reader_.load;
    sq::Resetter reset(load);
    load.bind_text(1, cid);
    bool row = false;
    try {
      row = load.step("load " + conv::quote_id(cid));
    } catch (const sq::Damaged& e) {
      damaged(std::string("its row is on a damaged page (") + e.what() + ")");
      return;
    }
    if (row) found(load.text(0));
  }

  // One row's text parsed; out of memory (or stack) fails the read.
  std::optional<edn::Value> parse_one(std::string_view cid, std::string_view text,
                                      std::string& problem) const {
    bool starved = false;
    std::optional<edn::Value> conv = store_detail::read_record(cid, text, kIndex, problem, starved);
    if (starved) store_detail::throw_starved(kBackend, where(cid), problem);
    return conv;
  }

  // Queues op for the next group commit and waits for it. A failed batch
  // is reported to each of its callers with its own cid.
  void submit(Op& op) {
    commits_.submit(op, [this](const std::vector<Op*>& ops) {
      try {
        run_batch(ops);
      } catch (const StoreError& e) {
        for (Op* each : ops) each->error = e.what();
      }
    });
    if (!op.error) return;
    if (op.batch_size <= 1) throw StoreError(*op.error);
    throw StoreError(*op.error + " (the batch of " + std::to_string(op.batch_size) +
                     " operations that held " +
                     (op.text.empty() ? "the remove of " : "the save of ") +
                     conv::quote_id(op.cid) + " was rolled back)");
  }

  // One transaction: every queued operation, in order. On any failure the
  // transaction is rolled back and the error propagates to every caller.
  void run_batch(const std::vector<Op*>& ops) {
    for (Op* op : ops) op->batch_size = ops.size();
    Writer& w = writer_;
    const std::string what = describe(ops);
    w.begin.run("begin a transaction for " + what);
    try {
      for (const Op* op : ops) apply(*op);
      w.commit.run("commit " + what);
    } catch (...) {
      // SQLite may have rolled back already (e.g. after an I/O error).
      if (sqlite3_get_autocommit(w.conn.db.get()) == 0) {
        sqlite3_exec(w.conn.db.get(), sql::rollback, nullptr, nullptr, nullptr);
      }
      throw;
    }
  }

  // A transaction in errors: its one operation (naming the cid), or how
  // many (submit names each caller's own).
  static std::string describe(const std::vector<Op*>& ops) {
    if (ops.size() != 1) return std::to_string(ops.size()) + " operations";
    return (ops[0]->text.empty() ? "the remove of " : "the save of ") + conv::quote_id(ops[0]->cid);
  }

  void apply(const Op& op) {
    if (op.text.empty()) {
      writer_.remove.bind_text(1, op.cid);
      writer_.remove.run("remove " + conv::quote_id(op.cid));
      return;
    }
    sq::Stmt& up = writer_.upsert;
    up.bind_text(1, op.cid);
    up.bind_text(2, op.text);
    up.bind_int(3, op.version);
    if (op.touched) {
      up.bind_int(4, *op.touched);
    } else {
      up.bind_null(4);
    }
    up.run("save " + conv::quote_id(op.cid));
  }

  // Parses every row of a chunk, in parallel; fills conv or problem.
  void parse(std::vector<Row>& rows) const {
    const unsigned threads =
        options_.load_threads != 0 ? options_.load_threads : std::thread::hardware_concurrency();
    store_detail::parallel_for(rows.size(), threads, [&rows](std::size_t i) {
      Row& r = rows[i];
      r.conv = store_detail::read_record(r.cid, r.text, kIndex, r.problem, r.starved);
    });
  }

  // "conversation \"<cid>\" in <path>", for messages.
  std::string where(std::string_view cid) const {
    return "conversation " + conv::quote_id(cid) + " in " + path_;
  }

  // Whether conv holds a conversation; warns naming the cid when not.
  bool take(std::string_view cid, const std::optional<edn::Value>& conv,
            const std::string& problem) const {
    if (conv) return true;
    log::warn(std::string(kBackend) + ": skipped " + where(cid) + ": " + problem +
              " (the row was left untouched)");
    return false;
  }

  std::string path_;
  SqliteStoreOptions options_;
  // The largest text SQLite takes in a row: SQLITE_LIMIT_LENGTH bounds the
  // whole row (header, cid, text, version, touched), so less room for those.
  static std::size_t text_limit(sqlite3* db) {
    constexpr std::size_t kRestOfTheRow = 512;  // a cid is at most 128 bytes
    const auto row = static_cast<std::size_t>(sqlite3_limit(db, SQLITE_LIMIT_LENGTH, -1));
    return row > kRestOfTheRow ? row - kRestOfTheRow : 0;
  }

  Writer writer_;  // used only by the thread leading a group commit
  Reader reader_;
  std::size_t max_record_bytes_;  // the option, or SQLite's limit if lower
  std::mutex read_mutex_;
  store_detail::GroupCommit<Op> commits_;
  store_checks::UnsavedWarnings unsaved_warnings_;  // one warning per conversation
};

}  // namespace

std::shared_ptr<ConversationStore> sqlite_store(const std::filesystem::path& path,
                                                SqliteStoreOptions options) {
  // Before the store's connections, which switch the file to WAL mode.
  if (!options.create) sq::require_store(file_name(path), path.string(), options.busy_timeout);
  return std::make_shared<SqliteStore>(path, options);
}

}  // namespace stube
