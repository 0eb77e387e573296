// stube/store.hpp — pluggable persistence for conversations (SPEC §7).
//
// Three operations are enough:
//
//   load_all()  once at startup, before the HTTP listener accepts
//   save(conv)  after every successful state change, with the final value
//   remove(cid) when a conversation ends (end, reaper); idempotent
//
//   auto store = stube::open_store("file:/var/lib/stube/convs");
//   for (auto& [cid, conv] : store->load_all()) ...
//   store->save(conv);
//   store->remove(cid);
//
// Errors are split in two: StoreError is a backend failure (disk full, I/O
// error, lost connection) and is the only thing save() throws for a valid
// conversation; InvalidCid is bad data from the caller (a conversation
// without a valid :conv/id, or a cid like "../x"). A conversation that holds
// an opaque value (e.g. a running coroutine flow) is not printable: save()
// skips it, logs a warning (stube/log.hpp) naming the cid and the remedy,
// and returns normally. See docs/store.md.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "stube/edn.hpp"

namespace stube {

// cid -> conversation. Ordered, so listings and tools are deterministic;
// std::less<> allows lookups by std::string_view.
using ConversationMap = std::map<std::string, edn::Value, std::less<>>;

// A backend failure. what() names the operation, the path or cid, and the
// system's reason, e.g. "file store: rename /d/.x.edn.1.2.tmp -> /d/x.edn: No space left on
// device".
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Opening found no store where one had to exist already, e.g. a database
// without stube's tables opened with PostgresStoreOptions::create_schema =
// false. Nothing was created. A StoreError, so callers that only ask "could
// the store be opened?" need not tell it apart from a backend failure.
class MissingStore : public StoreError {
 public:
  using StoreError::StoreError;
};

// Bad data from the caller: an invalid cid (see conv::valid_id), a
// conversation that is not a map with a string :conv/id, or (PostgreSQL) a
// :conv/version that is not a non-negative integer. Nothing was written.
class InvalidCid : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A save that would overwrite a newer value: another process saved this
// conversation since we loaded it, or removed it (delete wins). Nothing was
// written; the runtime reloads the conversation. Shared stores only.
class StaleConversation : public StoreError {
 public:
  using StoreError::StoreError;
};

class ConversationStore {
 public:
  virtual ~ConversationStore();

  // Every persisted conversation. An unreadable record is skipped with a
  // warning naming it, never fatal; throws StoreError only when the backend
  // as a whole cannot be read (e.g. the directory cannot be listed).
  virtual ConversationMap load_all() = 0;

  // Atomically replaces the stored value for conv's :conv/id and returns
  // the conversation as stored: conv itself, or, from a shared store, conv
  // with its new :conv/version (the next save must start from that one, or
  // it is refused as stale). A non-printable conversation is skipped with a
  // warning. Throws
  // InvalidCid for a conversation without a valid :conv/id and StoreError on
  // a backend failure.
  [[nodiscard]] virtual edn::Value save(const edn::Value& conv) = 0;

  // Forgets the conversation; removing an absent cid is fine. Throws
  // InvalidCid for an invalid cid and StoreError on a backend failure.
  virtual void remove(std::string_view cid) = 0;

  // Forgets the conversation that `conv` is the runtime's copy of, for an
  // end one of its steps asked for (a handler, a timer, a wakeup). Default:
  // remove(conv's :conv/id). A shared store removes it only while its
  // stored :conv/version is conv's (or it is absent or removed already),
  // and otherwise throws StaleConversation and removes nothing: a copy that
  // fell behind another server's must not end what that server changed
  // since. Throws as remove() does otherwise.
  virtual void remove_current(const edn::Value& conv);

  // --- shared backends (several server processes, one database) ----------
  // The in-memory and file stores keep the defaults below. A shared store
  // returns true from shared() and then:
  //  * save() is a compare-and-set on the integer :conv/version (absent = 0):
  //    it stores version v+1 only if the stored version is still v, and
  //    returns conv with :conv/version v+1; otherwise it throws
  //    StaleConversation and writes nothing;
  //  * remove() leaves a tombstone, so a late save from any process cannot
  //    bring the conversation back (delete wins);
  //  * load(cid) fetches one conversation on demand (load-on-miss);
  //  * reap() ends idle conversations in bounded batches, one process at a
  //    time.
  virtual bool shared() const noexcept { return false; }
  // One conversation, or nullopt when absent, removed or unreadable (an
  // unreadable record is logged, as load_all does). Default: nullopt. Shared
  // stores throw InvalidCid for an invalid cid, StoreError on a backend
  // failure.
  virtual std::optional<edn::Value> load(std::string_view cid);
  // Removes (tombstones) at most `batch` conversations whose :conv/touched is
  // before `cutoff`, if this process holds the reaper lock; returns their
  // cids. Default: nothing.
  virtual std::vector<std::string> reap(edn::Instant cutoff, std::size_t batch);
  // Every stored record as (cid, raw stored text), unparsed, for tools
  // (stube-store verify). Default: load_all(), each value printed.
  virtual void scan(const std::function<void(std::string_view cid, std::string_view text)>& visit);
  // As scan(), but a record that cannot be read at all (a file store's
  // *.edn entry that is a directory, a FIFO or unreadable) is handed to
  // `unreadable(cid, why)` instead of failing the whole scan, so that
  // stube-store verify can name it among the others. Default: scan(visit),
  // for backends that have no such records.
  virtual void scan_reporting(
      const std::function<void(std::string_view cid, std::string_view text)>& visit,
      const std::function<void(std::string_view cid, std::string_view why)>& unreadable);

 protected:
  ConversationStore() = default;
  ConversationStore(const ConversationStore&) = default;
  ConversationStore& operator=(const ConversationStore&) = default;
};

// The default: every operation is a no-op (load_all returns nothing, save
// returns its argument). The runtime's own map is the only copy of the truth.
std::shared_ptr<ConversationStore> in_memory_store();

// The checks every built-in store makes, for a store of your own to make
// the same way (docs/store.md, "Writing a new backend"). `backend` names
// the store in messages, e.g. "map store".
namespace store_checks {

// conv's :conv/id, for save(). Throws InvalidCid unless conv is a map with
// a string :conv/id that conv::valid_id accepts.
std::string_view checked_cid(std::string_view backend, const edn::Value& conv);

// For remove(): throws InvalidCid unless conv::valid_id(cid).
void check_cid(std::string_view backend, std::string_view cid);

// The conversations a store has already warned about as not saved: a
// coroutine flow of many steps skips a save at each, and one warning says
// it all. Bounded: after 10,000 cids it starts afresh.
class UnsavedWarnings {
 public:
  UnsavedWarnings();
  // True the first time for `cid`. In a child forked from the process that
  // made it, every time: a thread of the parent may have held its lock at
  // the fork, and no thread of the child would ever release it.
  bool first_time(std::string_view cid);

 private:
  int owner_pid_;
  std::mutex mutex_;
  std::unordered_set<std::string> warned_;
};

// False, after a warning naming the cid and the remedy, when conv cannot be
// stored: it holds a live object that is not EDN (a running coroutine
// flow), or nests deeper than edn::max_write_depth (it would never read
// back). save() then writes nothing and returns conv as it is. With `once`,
// the warning is logged only the first time for a conversation.
bool printable_or_warn(std::string_view backend, std::string_view cid, const edn::Value& conv,
                       UnsavedWarnings* once = nullptr);

// A stored record read back, for load_all(): its conversation, or nullopt
// with `problem` saying why it is not one (`cid` is no valid id, the text
// is not EDN, not a map with a string :conv/id, or has another :conv/id;
// `index` names where `cid` came from, e.g. "the row's cid"). Never throws:
// running out of memory is reported as the problem "out of memory" (a
// backend of your own should fail its load then, not skip the record).
std::optional<edn::Value> read_record(std::string_view cid, std::string_view text,
                                      std::string_view index, std::string& problem) noexcept;

}  // namespace store_checks

enum class Durability {
  // Write a temporary file and rename it over the target (like the original
  // library): a crashed process never leaves a partial file, but a power
  // loss may lose recent saves.
  rename,
  // Also fsync the file before the rename and the directory after it (and
  // the directory after a remove), so a save has reached the disk when it
  // returns.
  durable,
};

struct FileStoreOptions {
  Durability durability = Durability::rename;
  // Threads load_all reads and parses files with; 0 means one per core.
  unsigned load_threads = 0;
  // false: open only a directory that exists already, so that a mistyped
  // path fails instead of leaving an empty store behind. Nothing is created;
  // a path that does not exist or is not a directory is a MissingStore
  // naming it.
  bool create = true;
  // false: opening leaves temporary files left over by a crashed writer
  // where they are (see file_store), so that opening writes nothing and
  // needs no write access; for a tool that only reads (open_existing_store
  // sets it). true: opening also refuses (StoreError) a directory this
  // process cannot write, such as one on a read-only mount.
  bool remove_left_overs = true;
  // The largest record the store reads or writes, in bytes. A larger file
  // in the directory is skipped unread (load_all warns naming it; scan
  // reports it unreadable), so that a stray huge file cannot exhaust memory
  // at startup; a save of a larger conversation throws StoreError and leaves
  // the stored one as it was. 1 GiB, as SQLite and PostgreSQL cap a text.
  std::size_t max_record_bytes = std::size_t{1} << 30;
};

// One `<cid>.edn` file per conversation in `dir` (created if missing, unless
// options.create is false), the text Clojure's pr-str writes for the same
// data. Opening removes temporary files left over by a crashed writer
// (unless options.remove_left_overs is false): those
// whose process is gone (or had this process's pid) and that were last
// written over a minute ago, so another live process's saves are left alone
// (also across pid namespaces), but one process must not open two stores on
// one directory. Throws StoreError when the directory cannot be created
// or opened.
std::shared_ptr<ConversationStore> file_store(const std::filesystem::path& dir,
                                              FileStoreOptions options = {});

// Builds a store from a URL:
//   "memory:"                              in_memory_store()
//   "file:<dir>" or "file://<absolute dir>" file_store(dir)
//   "file:<dir>?durability=durable"        file_store(dir, {Durability::durable})
//   "file:<dir>?create=false"              file_store(dir, {.create = false}): the
//                                          directory must exist; MissingStore if not
//   "sqlite:<path>" or "sqlite://<absolute path>"
//                                          sqlite_store(path) (stube/sqlite_store.hpp)
//   "sqlite:<path>?synchronous=normal&busy_timeout=250"
//                                          sqlite_store(path, {SqliteSync::normal, 250ms})
//   "sqlite:<path>?create=false"           sqlite_store(path, {.create = false}): the
//                                          store must exist; MissingStore if not
//   "postgresql://…" or "postgres://…", with libpq's own parameters and stube's:
//   "postgresql://user@host/db?sslmode=require&pool_size=8&tombstone_ttl=3600"
//                                          postgres_store(the URL without pool_size and
//                                          tombstone_ttl, {8, 3600s}) (stube/postgres_store.hpp)
//   "postgresql://user@host/db?create_schema=false"
//                                          postgres_store(the URL, {.create_schema = false}):
//                                          the schema must exist; MissingStore if not
//   "postgresql://…?acquire_timeout=5"     wait at most 5 s for a pooled connection
// Throws std::invalid_argument naming the URL (see redact_store_url) for an
// unknown scheme, a bad option or one of stube's options given twice,
// StoreError when the backend cannot be opened.
std::shared_ptr<ConversationStore> open_store(std::string_view url);

// As open_store, but opens only a store that exists already and creates
// nothing: a file: or sqlite: URL is opened with create = false (a file:
// one also with remove_left_overs = false: opening writes nothing), a
// postgresql: one with create_schema = false (an explicit create=true or
// create_schema=true in the URL is overridden), memory: as it is. For
// tools that read a store: a URL naming the wrong place fails with
// MissingStore instead of leaving an empty store (or stube's tables in
// another program's database) behind. Messages name the URL as given.
std::shared_ptr<ConversationStore> open_existing_store(std::string_view url);

// `url` fit for a message or a log line: the password of the user info
// ("postgresql://user:***@host/db") and the value of every `password`
// option, in a query ("?password=***") or a libpq keyword string
// ("password=*** host=db"), become "***". Everything else is kept as is.
std::string redact_store_url(std::string_view url);

}  // namespace stube
