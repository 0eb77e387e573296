// The file store: one `<cid>.edn` file per conversation in one directory.
//
// A save serialises once, writes a uniquely named hidden temporary sibling
// and renames it over the target, so readers (and a process restarted after
// a crash) only ever see complete files. All paths are resolved relative to
// a directory descriptor held open for the store's lifetime. The file a save
// replaces (or a remove unlinks) is released on a background thread, see
// hold_for_deferred_release().
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "store/checks.hpp"
#include "store/deferred_close.hpp"
#include "store/group_commit.hpp"
#include "store/parallel_for.hpp"
#include "store/posix_io.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"
#include "stube/store.hpp"

namespace stube {

namespace {

using store_detail::Fd;
using store_detail::throw_errno;

constexpr std::string_view kBackend = "file store";
constexpr std::string_view kSuffix = ".edn";
constexpr std::string_view kTempSuffix = ".tmp";
// A temporary file untouched this long is no save in flight: a save writes
// and renames it within milliseconds.
constexpr std::chrono::minutes kLeftOverAge{1};

// Distinguishes temporary files of concurrent saves in one process; the pid
// in the name distinguishes processes.
std::atomic<std::uint64_t> temp_counter{0};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The <pid> of ".<cid>.edn.<pid>.<counter>.tmp", as written by temp_name(),
// or nullopt if `name` is not such a name. A pid that no process can have
// (0, or too large for pid_t) is returned as 0.
std::optional<pid_t> temp_name_pid(std::string_view name) {
  if (name.size() < 2 || name[0] != '.' || !ends_with(name, kTempSuffix)) return std::nullopt;
  name = name.substr(1, name.size() - 1 - kTempSuffix.size());  // <cid>.edn.<pid>.<counter>
  const auto last_dot = name.rfind('.');
  if (last_dot == std::string_view::npos || !all_digits(name.substr(last_dot + 1))) {
    return std::nullopt;
  }
  name = name.substr(0, last_dot);
  const auto pid_dot = name.rfind('.');
  if (pid_dot == std::string_view::npos || !all_digits(name.substr(pid_dot + 1))) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(pid_dot + 1);
  name = name.substr(0, pid_dot);
  if (!ends_with(name, kSuffix) || !conv::valid_id(name.substr(0, name.size() - kSuffix.size()))) {
    return std::nullopt;
  }
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  return ec == std::errc() && end == digits.data() + digits.size() ? pid : 0;
}

// Whether the process that named a temporary file `pid` can no longer be
// writing it: it is us (so an earlier process that had our pid, e.g. pid 1
// in a container, left it), or no process has that pid. A live process of
// another user (EPERM) counts as alive. A pid reused by an unrelated
// process keeps the file until a later open finds the pid free.
bool writer_is_gone(pid_t pid) {
  if (pid <= 0 || pid == store_detail::current_pid()) return true;
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

std::string temp_name(std::string_view cid) {
  std::string name;
  name.reserve(cid.size() + 40);
  name.append(".").append(cid).append(kSuffix).append(".");
  name.append(std::to_string(store_detail::current_pid())).append(".");
  name.append(std::to_string(temp_counter.fetch_add(1, std::memory_order_relaxed)));
  name.append(kTempSuffix);
  return name;
}

// The names in a directory, read through a fresh descriptor of it.
std::vector<std::string> list_dir(int dirfd, const std::string& dir) {
  const int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw_errno("open directory", dir, err);
  }
  // Closed also when a name cannot be stored (bad_alloc).
  const std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(fd), ::closedir);
  if (!d) {
    const int err = errno;
    ::close(fd);
    throw_errno("open directory", dir, err);
  }
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d.get());
    if (e == nullptr) break;
    names.emplace_back(e->d_name);
  }
  if (const int err = errno) throw_errno("read directory", dir, err);
  return names;
}

// One *.edn file's outcome in load_all.
struct Record {
  std::string file;  // "<cid>.edn"
  edn::Value conv;
  std::string problem;   // empty when conv was loaded
  bool gone = false;     // removed since the listing: neither loaded nor a problem
  bool starved = false;  // problem is the machine's (FileRead::out_of_resources)
};

class FileStore final : public ConversationStore {
 public:
  FileStore(const std::filesystem::path& dir, FileStoreOptions options)
      : dir_(dir.string()), options_(options) {
    std::vector<std::filesystem::path> created;
    if (options_.create) {
      created = missing_directories(dir);
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec) throw_errno("create directory", dir_, ec.value());
    }
    dirfd_ = Fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd_) {
      const int err = errno;
      if (!options_.create && (err == ENOENT || err == ENOTDIR)) {
        throw MissingStore(std::string(kBackend) + ": " + dir_ +
                           (err == ENOENT ? " does not exist" : " is not a directory") +
                           "; nothing was created");
      }
      throw_errno("open directory", dir_, err);
    }
    if (options_.durability == Durability::durable) sync_parents(created);
    if (options_.remove_left_overs) {
      require_writable();
      remove_temp_files();
    }
  }

  ConversationMap load_all() override {
    std::vector<std::string> names = list_dir(dirfd_.get(), dir_);
    std::vector<Record> records;
    records.reserve(names.size());
    for (std::string& name : names) {
      if (name[0] == '.' || !ends_with(name, kSuffix)) continue;  // temp, hidden, other files
      records.push_back({std::move(name), {}, {}, false});
    }
    const unsigned threads =
        options_.load_threads != 0 ? options_.load_threads : std::thread::hardware_concurrency();
    store_detail::parallel_for(records.size(), threads,
                               [&](std::size_t i) { load_record(records[i]); });

    // Skipped, such a file would be missing from this run and back at the
    // next (nobody removes it): an old version resurrected. Fail instead.
    for (const Record& r : records) {
      if (r.starved) store_detail::throw_starved(kBackend, path_of(r.file), r.problem);
    }
    ConversationMap out;
    std::size_t skipped = 0;
    for (Record& r : records) {
      if (r.gone) continue;
      if (!r.problem.empty()) {
        ++skipped;
        log::warn(std::string(kBackend) + ": skipped " + path_of(r.file) + ": " + r.problem +
                  " (the file was left untouched)");
        continue;
      }
      r.file.resize(r.file.size() - kSuffix.size());
      out.emplace(std::move(r.file), std::move(r.conv));
    }
    log::info(std::string(kBackend) + " " + dir_ + ": loaded " + std::to_string(out.size()) +
              " conversation" + (out.size() == 1 ? "" : "s") + ", skipped " +
              std::to_string(skipped));
    return out;
  }

  ~FileStore() override {
    // A forked child never used it (see write_atomically()), and its wait
    // state may be a parent thread's: leaked on purpose, as DeferredClose's.
    if (store_detail::current_pid() != owner_pid_) (void)writes_.release();
  }
  FileStore(const FileStore&) = delete;
  FileStore& operator=(const FileStore&) = delete;

  edn::Value save(const edn::Value& conv) override {
    const std::string_view cid = store_detail::checked_cid(kBackend, conv);
    if (!store_detail::printable_or_warn(kBackend, cid, conv, &unsaved_warnings_)) return conv;
    store_detail::ScratchText scratch;
    std::string& text = scratch.text();
    edn::write(conv, text);
    if (text.size() > options_.max_record_bytes)
      throw StoreError(std::string(kBackend) + ": conversation " + conv::quote_id(cid) + " is " +
                       std::to_string(text.size()) + " bytes, over the record limit of " +
                       std::to_string(options_.max_record_bytes) +
                       " (FileStoreOptions::max_record_bytes): not saved");
    write_atomically(cid, text);
    return conv;
  }

  // Every *.edn file in name order, unchecked (cid = file stem), for tools.
  // A file that cannot be read is a StoreError naming it: the caller asked
  // for every record, and a silent gap would hide it.
  void scan(const std::function<void(std::string_view, std::string_view)>& visit) override {
    scan_reporting(visit, [this](std::string_view cid, std::string_view why) {
      throw StoreError(std::string(kBackend) + ": " + path_of(std::string(cid).append(kSuffix)) +
                       ": " + std::string(why));
    });
  }

  void scan_reporting(
      const std::function<void(std::string_view, std::string_view)>& visit,
      const std::function<void(std::string_view, std::string_view)>& unreadable) override {
    std::vector<std::string> names = list_dir(dirfd_.get(), dir_);
    std::sort(names.begin(), names.end());
    std::string text;
    for (const std::string& name : names) {
      if (name[0] == '.' || !ends_with(name, kSuffix)) continue;
      const std::string_view cid = std::string_view(name).substr(0, name.size() - kSuffix.size());
      std::string why;
      switch (store_detail::read_file_at(dirfd_.get(), name.c_str(), options_.max_record_bytes,
                                         text, why)) {
        case store_detail::FileRead::read:
          visit(cid, text);
          break;
        case store_detail::FileRead::gone:
          break;  // removed since the listing
        case store_detail::FileRead::failed:
          unreadable(cid, why);
          break;
        case store_detail::FileRead::out_of_resources:  // the machine's, not the record's
          throw StoreError(std::string(kBackend) + ": " + path_of(name) + ": " + why);
      }
    }
  }

  void remove(std::string_view cid) override {
    store_detail::check_cid(kBackend, cid);
    const std::string name = std::string(cid).append(kSuffix);
    Fd removed = hold_for_deferred_release(name);
    if (::unlinkat(dirfd_.get(), name.c_str(), 0) != 0) {
      const int err = errno;
      if (err != ENOENT) throw_errno("remove", path_of(name), err);
    }
    // Also when the file was gone already: the unlink may be one whose
    // directory sync failed (a retried remove) or is still under way in
    // another thread, and a durable remove returns only once it is on disk.
    if (options_.durability == Durability::durable) sync_dir("removing", name);
    deferred_close_.close_later(std::move(removed));
  }

 private:
  std::string path_of(std::string_view name) const {
    return std::string(dir_).append("/").append(name);
  }

  // `dir` and those of its ancestors that do not exist yet, innermost first:
  // what create_directories is about to create.
  static std::vector<std::filesystem::path> missing_directories(std::filesystem::path dir) {
    if (!dir.has_filename()) dir = dir.parent_path();  // "a/b/" names "a/b"
    std::vector<std::filesystem::path> missing;
    std::error_code ec;
    while (!dir.empty() && !std::filesystem::exists(dir, ec) && !ec) {
      missing.push_back(dir);
      dir = dir.parent_path();
    }
    return missing;
  }

  // A new directory's name is an entry in its parent, and like a file's it
  // only survives a power loss once the parent is fsynced: without this a
  // durable store's first saves could vanish with the directory they are in.
  static void sync_parents(const std::vector<std::filesystem::path>& created) {
    for (const std::filesystem::path& dir : created) {
      const std::filesystem::path parent = dir.has_parent_path() ? dir.parent_path() : ".";
      const Fd fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      const int err = fd ? store_detail::fsync_retry(fd.get()) : errno;
      if (err != 0) throw_errno("fsync", parent.string(), err);
    }
  }

  // `doing` ("saving", "removing") and `name` say what change was made and
  // is not yet known to be durable.
  void sync_dir(const char* doing, const std::string& name) const {
    if (const int err = store_detail::fsync_retry(dirfd_.get())) {
      throw_errno("fsync",
                  dir_ + " (" + doing + " " + name + ": done, but not known to be on disk)", err);
    }
  }

  // Without fsync a save is nothing but directory changes and a page-cache
  // copy, and the kernel serialises changes to one directory anyway: many
  // threads creating and renaming in it at once spin on its lock (8 threads
  // saved fewer files per second than 1). So concurrent saves are written
  // by one of them at a time, which takes all that queued up meanwhile and
  // writes them back to back (GroupCommit); the others sleep until theirs
  // is done, and each gets its own error. That beat a plain mutex (taking
  // turns) with 2 and 8 threads here. With fsync the waits dominate, and the
  // saves stay parallel so that the file system can batch them.
  void write_atomically(std::string_view cid, std::string_view text) {
    // A forked child writes on its own: the parent's batch may have been
    // running at the fork, and no thread of the child would ever finish it.
    if (options_.durability == Durability::durable || store_detail::current_pid() != owner_pid_) {
      write_file(cid, text);
      return;
    }
    Write w{cid, text, nullptr};
    writes_->submit(w, [this](const std::vector<Write*>& batch) {
      for (Write* each : batch) {
        try {
          write_file(each->cid, each->text);
        } catch (...) {
          each->error = std::current_exception();
        }
      }
    });
    if (w.error) std::rethrow_exception(w.error);
  }

  // A system call of a save that failed: what, on which file, and errno.
  struct Failure {
    std::string op, path;
    int err;
  };

  // Out of disk space, a save releases the old versions still held for
  // their deferred close (deferred_close_), whose blocks count until then,
  // and tries once more: without the deferral it would have succeeded.
  void write_file(std::string_view cid, std::string_view text) {
    std::optional<Failure> failure = write_file_once(cid, text);
    if (failure && (failure->err == ENOSPC || failure->err == EDQUOT)) {
      // Also when nothing is held now: the closer may have freed space
      // since the write failed.
      deferred_close_.close_all_now();
      failure = write_file_once(cid, text);
    }
    if (failure) throw_errno(failure->op, failure->path, failure->err);
  }

  // Writes `text` to a temporary file and renames it over <cid>.edn; on
  // failure removes the temporary file and says which call failed. A durable
  // store's directory fsync comes after the rename: its failure throws.
  std::optional<Failure> write_file_once(std::string_view cid, std::string_view text) {
    std::string tmp;
    int err = 0;
    Fd fd = create_temp(cid, tmp, err);
    if (!fd) return Failure{"create", path_of(tmp), err};
    auto failed = [&](std::string op, std::string path, int e) {
      ::unlinkat(dirfd_.get(), tmp.c_str(), 0);  // best effort: the error is what matters
      return Failure{std::move(op), std::move(path), e};
    };
    if ((err = store_detail::write_all(fd.get(), text))) return failed("write", path_of(tmp), err);
    if (options_.durability == Durability::durable) {
      if ((err = store_detail::fsync_retry(fd.get()))) return failed("fsync", path_of(tmp), err);
    }
    if ((err = fd.close_checked())) return failed("close", path_of(tmp), err);
    const std::string target = std::string(cid).append(kSuffix);
    Fd replaced = hold_for_deferred_release(target);
    if (::renameat(dirfd_.get(), tmp.c_str(), dirfd_.get(), target.c_str()) != 0) {
      err = errno;
      return failed("rename", path_of(tmp) + " -> " + path_of(target), err);
    }
    if (options_.durability == Durability::durable) sync_dir("saving", target);
    deferred_close_.close_later(std::move(replaced));
    return std::nullopt;
  }

  // Creates a temporary file for `cid`, named in `tmp`, or returns none with
  // errno in `err`. Out of descriptors (EMFILE, ENFILE), it first closes
  // those waiting in the closer's queue (see deferred_close_), then tries
  // once more. A name that exists was left by an earlier process with our
  // pid (pid 1 in a container, restarted within kLeftOverAge, keeps its
  // young files): the counter's next names are tried.
  Fd create_temp(std::string_view cid, std::string& tmp, int& err) {
    const auto create = [&] {
      return Fd(::openat(dirfd_.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    };
    constexpr int kNamesTried = 16;
    for (int names = 1;; ++names) {
      tmp = temp_name(cid);
      Fd fd = create();
      if (!fd && (errno == EMFILE || errno == ENFILE)) {
        deferred_close_.close_pending_now();
        fd = create();
      }
      if (fd) return fd;
      err = errno;
      if (err != EEXIST || names == kNamesTried) return Fd();
    }
  }

  // The file `name` opened (O_PATH: no access, just a reference), or none if
  // it does not exist: held across a rename or unlink, it keeps the file's
  // blocks from being freed until the descriptor closes on deferred_close_'s
  // thread. Best effort: without it the release simply happens inline.
  Fd hold_for_deferred_release(const std::string& name) const {
    return Fd(::openat(dirfd_.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  }

  // Reads and checks one file; fills r.conv or r.problem. Never throws.
  void load_record(Record& r) const noexcept {
    try {
      const std::string_view stem =
          std::string_view(r.file).substr(0, r.file.size() - kSuffix.size());
      if (!conv::valid_id(stem)) {  // as read_record says, but without reading the file
        r.problem = "the file name is not a valid conversation id";
        return;
      }
      // Reused from file to file: a fresh allocation per file costs more
      // than reading it.
      store_detail::ScratchText scratch;
      std::string& text = scratch.text();
      const store_detail::FileRead read = store_detail::read_file_at(
          dirfd_.get(), r.file.c_str(), options_.max_record_bytes, text, r.problem);
      r.gone = read == store_detail::FileRead::gone;
      r.starved = read == store_detail::FileRead::out_of_resources;
      if (read != store_detail::FileRead::read) return;
      if (auto v = store_detail::read_record(stem, text, "the file name", r.problem, r.starved)) {
        r.conv = std::move(*v);
      }
    } catch (const std::bad_alloc&) {
      r.problem = "out of memory";
      r.starved = true;
    } catch (const std::exception& e) {
      r.problem = e.what();
    } catch (...) {
      r.problem = "unknown error";
    }
  }

  // A store that saves refuses a directory it cannot write at open (a
  // read-only mount, missing permission), where the mistake is made, instead
  // of failing every save later while the server runs on. Only a clear "no"
  // refuses: another error (a sandbox that blocks the call) is left for the
  // saves to report.
  void require_writable() const {
    if (::faccessat(dirfd_.get(), ".", W_OK | X_OK, 0) == 0) return;
    const int err = errno;
    if (err != EROFS && err != EACCES) return;
    throw StoreError(std::string(kBackend) + ": " + dir_ + " is not writable (" +
                     store_detail::errno_text(err) + "): a store that saves needs to write there");
  }

  // Leftovers of a writer that crashed between create and rename. The
  // temporary files of a live process (a server whose directory a tool
  // opens) are its saves in flight: removing one would fail its rename. Its
  // pid says so only within one pid namespace (a tool in another container
  // sees no such process, or its own pid), so a file also has to be older
  // than any save takes to count as left over.
  void remove_temp_files() const {
    for (const std::string& name : list_dir(dirfd_.get(), dir_)) {
      const std::optional<pid_t> pid = temp_name_pid(name);
      if (!pid || !writer_is_gone(*pid) || !older_than_a_save(name)) continue;
      if (::unlinkat(dirfd_.get(), name.c_str(), 0) == 0) continue;
      const int err = errno;
      if (err == ENOENT) continue;
      log::warn(std::string(kBackend) + ": cannot remove left-over temporary file " +
                path_of(name) + ": " + store_detail::errno_text(err));
    }
  }

  // Whether `name` was last written longer ago than kLeftOverAge.
  bool older_than_a_save(const std::string& name) const {
    struct stat st {};
    if (::fstatat(dirfd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
    const auto written = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) +
            std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    return std::chrono::system_clock::now() - written > kLeftOverAge;
  }

  std::string dir_;
  FileStoreOptions options_;
  Fd dirfd_;
  // One save of the many waiting writes them all, see write_atomically().
  struct Write {
    std::string_view cid;
    std::string_view text;
    std::exception_ptr error;
  };
  // Behind a pointer so that a forked child can leave it alone: destroying a
  // condition variable a parent thread waited on at the fork blocks.
  std::unique_ptr<store_detail::GroupCommit<Write>> writes_ =
      std::make_unique<store_detail::GroupCommit<Write>>();
  const pid_t owner_pid_ = store_detail::current_pid();  // see write_atomically()
  store_detail::DeferredClose deferred_close_;           // see hold_for_deferred_release()
  store_checks::UnsavedWarnings unsaved_warnings_;       // one warning per conversation
};

}  // namespace

std::shared_ptr<ConversationStore> file_store(const std::filesystem::path& dir,
                                              FileStoreOptions options) {
  return std::make_shared<FileStore>(dir, options);
}

}  // namespace stube
