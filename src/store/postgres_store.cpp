// The PostgreSQL store: one row per conversation, saved by compare-and-set
// on :conv/version, removed by tombstone. See stube/postgres_store.hpp for
// the contract and store/pg_schema.hpp for the table.
#include "stube/postgres_store.hpp"

#include <algorithm>
#include <atomic>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "store/checks.hpp"
#include "store/parallel_for.hpp"
#include "store/pg_pool.hpp"
#include "store/pg_schema.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"

namespace stube {

namespace {

namespace pg = store_detail::pg;
namespace sql = store_detail::pg::statements;

constexpr std::string_view kBackend = "postgres store";
// remove() purges old tombstones once every this many calls, so a server
// without a reaper does not collect them forever.
constexpr std::uint64_t kPurgeEvery = 1024;
constexpr std::int64_t kPurgeBatch = 1000;

const edn::Value& version_key() {
  static const edn::Value k = edn::Value::keyword("conv", "version");
  return k;
}

// conv's :conv/version: absent is 0; anything but a non-negative integer
// with a next one (save stores version + 1 in a bigint) is bad data from
// the caller.
std::int64_t version_of(std::string_view cid, const edn::Value& conv) {
  const edn::Value* v = conv.find(version_key());
  if (v == nullptr || v->is_nil()) return 0;
  constexpr std::int64_t kLast = std::numeric_limits<std::int64_t>::max();
  if (v->is(edn::Kind::Int) && v->as_int() >= 0 && v->as_int() < kLast) return v->as_int();
  throw InvalidCid(std::string(kBackend) + ": conversation " + conv::quote_id(cid) +
                   " has :conv/version " + edn::write(*v) + ", not a non-negative integer below " +
                   std::to_string(kLast) + "; nothing was saved");
}

// The reaper's key: :conv/touched, or now when the conversation has none
// or one in the future (a record written by hand would never be idle).
edn::Instant touched_of(const edn::Value& conv) {
  const edn::Value* t = conv.find(conv::keys::touched());
  const edn::Instant now = edn::Instant::now();
  return t != nullptr && t->is(edn::Kind::Inst) ? std::min(t->as_inst(), now) : now;
}

class PostgresStore final : public ConversationStore {
 public:
  PostgresStore(const std::string& conninfo, PostgresStoreOptions options)
      : pool_(conninfo, options.pool_size, options.acquire_timeout), options_(options) {
    auto c = pool_.acquire();
    description_ = c->description();
    if (options.create_schema) {
      pg::ensure_schema(*c);
      purge(*c);
    } else {
      pg::check_schema(*c);  // and changes nothing, not even old tombstones
    }
  }

  bool shared() const noexcept override { return true; }

  ConversationMap load_all() override {
    const pg::Result r = with_connection(
        [](pg::Connection& c, bool) { return c.exec(sql::load_all, {}, "load all"); });
    const int n = r.rows();
    std::vector<Decoded> convs(static_cast<std::size_t>(n));
    store_detail::parallel_for(
        convs.size(), std::thread::hardware_concurrency(), [&](std::size_t i) {
          const int row = static_cast<int>(i);
          convs[i] = decode(r.bytes(row, 0), r.bytes(row, 1), r.int8(row, 2));
        });
    ConversationMap out;
    std::size_t skipped = 0;
    for (int row = 0; row < n; ++row) {
      const std::string_view cid = r.bytes(row, 0);
      if (auto c = take(cid, convs[static_cast<std::size_t>(row)])) {
        out.emplace(std::string(cid), std::move(*c));
      } else {
        ++skipped;
      }
    }
    log::info(std::string(kBackend) + " " + description_ + ": loaded " +
              std::to_string(out.size()) + " conversation" + (out.size() == 1 ? "" : "s") +
              ", skipped " + std::to_string(skipped));
    return out;
  }

  std::optional<edn::Value> load(std::string_view cid) override {
    store_detail::check_cid(kBackend, cid);
    const pg::Result r = with_connection([&](pg::Connection& c, bool) {
      return c.exec(sql::load, {pg::Param::bytes(cid)}, "load " + conv::quote_id(cid));
    });
    if (r.rows() == 0) return std::nullopt;
    Decoded d = decode(cid, r.bytes(0, 0), r.int8(0, 1));
    return take(cid, d);
  }

  // Raw rows, for tools: the text as stored (its :conv/version is the one
  // save wrote, equal to the version column).
  void scan(const std::function<void(std::string_view, std::string_view)>& visit) override {
    const pg::Result r =
        with_connection([](pg::Connection& c, bool) { return c.exec(sql::scan, {}, "scan"); });
    for (int row = 0; row < r.rows(); ++row) visit(r.bytes(row, 0), r.bytes(row, 1));
  }

  edn::Value save(const edn::Value& conv) override {
    const std::string_view cid = store_detail::checked_cid(kBackend, conv);
    if (!store_detail::printable_or_warn(kBackend, cid, conv, &unsaved_warnings_)) {
      keep_fresh(cid, conv);
      return conv;
    }
    const std::int64_t version = version_of(cid, conv);
    edn::Value next = conv.assoc(version_key(), edn::Value(version + 1));
    store_detail::ScratchText scratch;
    std::string& text = scratch.text();
    edn::write(next, text);
    if (text.size() > record_limit())
      throw StoreError(std::string(kBackend) + " " + description_ + ": conversation " +
                       conv::quote_id(cid) + " is " + std::to_string(text.size()) +
                       " bytes, over the record limit of " + std::to_string(record_limit()) +
                       " (PostgresStoreOptions::max_record_bytes): not saved");
    const pg::Param touched = pg::Param::timestamptz(touched_of(conv));
    with_connection([&](pg::Connection& c, bool retried) {
      const std::string what = "save " + conv::quote_id(cid);
      const pg::Result r =
          version == 0
              ? c.exec(sql::insert, {pg::Param::bytes(cid), pg::Param::bytes(text), touched}, what)
              : c.exec(sql::update,
                       {pg::Param::bytes(cid), pg::Param::bytes(text), pg::Param::int8(version),
                        touched},
                       what);
      if (r.affected() != 1) stale_unless_ours(c, cid, version, text, retried);
    });
    return next;
  }

  // A conversation in use whose saves are skipped (a running coroutine flow)
  // still moves its row's touched: other processes' reapers go by the
  // column, and would end it as idle while its user is busy in the flow.
  // Its :conv/version unreadable (set by hand), there is no row to name:
  // the save is skipped all the same, and its next printable save says what
  // is wrong.
  void keep_fresh(std::string_view cid, const edn::Value& conv) {
    std::int64_t version = 0;
    try {
      version = version_of(cid, conv);
    } catch (const InvalidCid&) {
      return;
    }
    if (version == 0) return;  // never stored: nothing for a reaper to end
    const pg::Param touched = pg::Param::timestamptz(touched_of(conv));
    try {
      with_connection([&](pg::Connection& c, bool) {
        c.exec(sql::touch, {pg::Param::bytes(cid), pg::Param::int8(version), touched},
               "touch " + conv::quote_id(cid));
      });
    } catch (const StoreError& e) {
      // Best effort: a skipped save never failed, and the flow goes on
      // without the database (its next printable save reports an outage).
      log::warn(e.what());
    }
  }

  void remove(std::string_view cid) override {
    store_detail::check_cid(kBackend, cid);
    with_connection([&](pg::Connection& c, bool) {
      c.exec(sql::remove, {pg::Param::bytes(cid)}, "remove " + conv::quote_id(cid));
    });
    purge_now_and_then();
  }

  // After a lost connection the first attempt may have committed: then the
  // retry finds it removed, which is the end asked for.
  void remove_current(const edn::Value& conv) override {
    const std::string_view cid = store_detail::checked_cid(kBackend, conv);
    const std::int64_t version = version_of(cid, conv);
    with_connection([&](pg::Connection& c, bool) {
      const std::string what = "remove " + conv::quote_id(cid);
      if (c.exec(sql::remove_current, {pg::Param::bytes(cid), pg::Param::int8(version)}, what)
              .affected() == 1)
        return;
      const pg::Result r = c.exec(sql::probe, {pg::Param::bytes(cid), pg::Param::null()},
                                  "check the version of " + conv::quote_id(cid));
      if (r.rows() == 1 && !r.boolean(0, 1)) {
        throw StaleConversation(std::string(kBackend) + ": conversation " + conv::quote_id(cid) +
                                " was not ended: the stored :conv/version is " +
                                std::to_string(r.int8(0, 0)) + " but this copy has " +
                                std::to_string(version) +
                                " (another process saved it since this copy was loaded)");
      }
      // Never saved, or removed already: a tombstone, as remove() leaves.
      c.exec(sql::remove, {pg::Param::bytes(cid)}, what);
    });
    purge_now_and_then();
  }

  // Every kPurgeEvery removes, tombstones past their TTL go.
  void purge_now_and_then() {
    if (removes_.fetch_add(1, std::memory_order_relaxed) % kPurgeEvery == kPurgeEvery - 1) {
      try {
        with_connection([&](pg::Connection& c, bool) { purge(c); });
      } catch (const StoreError& e) {
        log::warn(e.what());  // the remove itself succeeded
      }
    }
  }

  std::vector<std::string> reap(edn::Instant cutoff, std::size_t batch) override {
    if (batch == 0) return {};
    std::optional<Reaped> sent;
    return with_connection([&](pg::Connection& c, bool retried) {
      // The first attempt lost its connection in COMMIT: if that committed,
      // its batch is reaped (and is all the caller will ever hear of it).
      if (retried && sent && committed(c, *sent)) return std::move(sent->cids);
      return reap_batch(c, cutoff, batch, sent);
    });
  }

 private:
  // A reap batch whose COMMIT was sent, and the transaction that reaped it.
  struct Reaped {
    std::vector<std::string> cids;
    std::int64_t transaction;
  };

  // One reap transaction; `sent` is set just before its COMMIT (when it
  // wrote anything), so that a retry can learn whether it took effect.
  std::vector<std::string> reap_batch(pg::Connection& c, edn::Instant cutoff, std::size_t batch,
                                      std::optional<Reaped>& sent) const {
    constexpr std::string_view what = "reap";
    pg::Transaction tx(c, what);
    const pg::Result lock = c.exec(sql::try_reaper_lock, {pg::Param::int8(pg::kReaperLock)}, what);
    if (!lock.boolean(0, 0)) return {};  // another process is reaping
    const pg::Result r = c.exec(sql::reap,
                                {pg::Param::timestamptz(cutoff),
                                 // SIZE_MAX ("no limit") would be a negative LIMIT, an error
                                 pg::Param::int8(static_cast<std::int64_t>(std::min<std::size_t>(
                                     batch, std::numeric_limits<std::int64_t>::max())))},
                                what);
    purge(c);
    std::vector<std::string> cids;
    cids.reserve(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) cids.emplace_back(r.bytes(row, 0));
    const pg::Result id = c.exec(sql::transaction_id, {}, what);
    if (!id.is_null(0, 0)) sent = Reaped{cids, id.int8(0, 0)};
    tx.commit();
    return cids;
  }

  // Whether the transaction that reaped `sent` committed. One still in
  // progress (its session has not yet noticed the lost connection) may
  // still commit: a StoreError, as nobody can tell which cids ended.
  bool committed(pg::Connection& c, const Reaped& sent) const {
    const pg::Result r =
        c.exec(sql::transaction_status, {pg::Param::int8(sent.transaction)}, "reap (recheck)");
    // NULL: the transaction is too old for the server to keep its status.
    const std::string_view status = r.is_null(0, 0) ? "" : r.bytes(0, 0);
    if (status == "committed") return true;
    if (status == "aborted") return false;
    throw StoreError(std::string(kBackend) + ": reap on " + description_ +
                     ": the connection was lost in COMMIT and " +
                     (status.empty() ? "the server no longer knows its transaction's status"
                                     : "its transaction is " + std::string(status)) +
                     "; whether " + std::to_string(sent.cids.size()) +
                     " conversation(s) were reaped cannot be told" +
                     (status.empty() ? "" : " yet"));
  }

  // Runs f(connection, retried) on a leased connection. A connection lost
  // during the call (server restart, terminated backend) is re-established
  // and f runs once more with retried = true; a second loss, or a database
  // that cannot be reached, is a StoreError.
  template <class F>
  std::invoke_result_t<F&, pg::Connection&, bool> with_connection(F&& f) {
    auto lease = pool_.acquire();
    try {
      return f(*lease, false);
    } catch (const pg::ConnectionLost& e) {
      log::warn(std::string(e.what()) + "; reconnecting and retrying once");
      lease->reconnect();
      return f(*lease, true);
    }
  }

  // A compare-and-set that changed nothing. After a lost connection the
  // first attempt may have been committed with its reply lost: if the
  // stored row is exactly what we wrote, the save did happen.
  [[noreturn]] void stale(std::string_view cid, const std::string& why) const {
    throw StaleConversation(std::string(kBackend) + ": conversation " + conv::quote_id(cid) +
                            " was not saved: " + why);
  }

  void stale_unless_ours(pg::Connection& c, std::string_view cid, std::int64_t version,
                         std::string_view text, bool retried) const {
    const pg::Result r = c.exec(
        sql::probe, {pg::Param::bytes(cid), retried ? pg::Param::bytes(text) : pg::Param::null()},
        "check the version of " + conv::quote_id(cid));
    const std::string ours =
        version == 0 ? std::string("none (a new conversation)") : std::to_string(version);
    if (r.rows() == 0) {
      stale(cid, "it is not in " + description_ + " (removed long ago, or never saved) while " +
                     "this copy has :conv/version " + ours);
    }
    const std::int64_t stored = r.int8(0, 0);
    const bool deleted = r.boolean(0, 1);
    if (retried && !deleted && stored == version + 1 && !r.is_null(0, 2) && r.boolean(0, 2)) return;
    if (deleted) stale(cid, "it was removed (delete wins: it ended on this or another server)");
    stale(cid, "the stored :conv/version is " + std::to_string(stored) + " but this copy has " +
                   ours + " (another process saved it since this copy was loaded)");
  }

  // One row, parsed: the conversation, or why it is not one. Never throws.
  struct Decoded {
    std::optional<edn::Value> conv;
    std::string problem;
    bool starved = false;  // see store_detail::read_record
  };

  // Checked as every backend checks a record (store_detail::read_record).
  // The version column is the truth for the compare-and-set, so it wins
  // over a :conv/version in the text.
  static Decoded decode(std::string_view cid, std::string_view text,
                        std::int64_t version) noexcept {
    Decoded d;
    d.conv = store_detail::read_record(cid, text, "the row's cid", d.problem, d.starved);
    if (!d.conv || d.conv->get(version_key()) == edn::Value(version)) return d;
    try {
      d.conv = d.conv->assoc(version_key(), version);
    } catch (...) {  // out of memory: like a row that could not be read for it
      d.conv.reset();
      d.problem = "out of memory";
      d.starved = true;
    }
    return d;
  }

  // d's conversation, or nullopt after the warning that names the cid.
  // Throws StoreError when it ran short of memory (no verdict on the row).
  std::optional<edn::Value> take(std::string_view cid, Decoded& d) const {
    if (d.conv) return std::move(d.conv);
    const std::string where = "conversation " + conv::quote_id(cid) + " in " + description_;
    if (d.starved) store_detail::throw_starved(kBackend, where, d.problem);
    log::warn(std::string(kBackend) + ": skipped " + where + ": " + d.problem +
              " (the row was left untouched)");
    return std::nullopt;
  }

  void purge(pg::Connection& c) const {
    c.exec(sql::purge, {pg::Param::int8(purge_age_seconds()), pg::Param::int8(kPurgeBatch)},
           "purge old tombstones");
  }

  std::size_t record_limit() const {
    return std::min(options_.max_record_bytes, PostgresStoreOptions{}.max_record_bytes);
  }

  // now() minus a TTL of more than about 6,700 years is before PostgreSQL's
  // first timestamp (4713 BC), an error that would stop every open and
  // reap: a longer TTL ("never purge") counts as 1,000 years.
  std::int64_t purge_age_seconds() const {
    constexpr std::int64_t kLongest =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::years(1000)).count();
    return std::clamp<std::int64_t>(options_.tombstone_ttl.count(), 0, kLongest);
  }

  pg::Pool pool_;
  PostgresStoreOptions options_;
  std::string description_;
  store_checks::UnsavedWarnings unsaved_warnings_;  // one warning per conversation
  std::atomic<std::uint64_t> removes_{0};
};

}  // namespace

std::shared_ptr<ConversationStore> postgres_store(const std::string& conninfo,
                                                  PostgresStoreOptions options) {
  return std::make_shared<PostgresStore>(conninfo, options);
}

}  // namespace stube
