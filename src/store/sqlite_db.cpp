// The SQLite wrappers: every failure becomes a StoreError naming the file.
#include "store/sqlite_db.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "stube/store.hpp"

namespace stube::store_detail::sqlite {

void fail(const std::string& path, std::string_view what, std::string_view reason) {
  throw StoreError("sqlite store: " + std::string(what) + " in " + path + ": " +
                   std::string(reason));
}

namespace {

// Creates a missing database file with mode 0600 before SQLite opens it
// (conversations hold owner tokens, SPEC §9; SQLite would create it 0644,
// readable by others until a chmod, and gives its -wal and -shm files the
// database file's mode). The file is made under a temporary name and linked
// into place, so no descriptor of the database file itself is ever closed
// here: closing one drops every POSIX lock this process holds on it,
// SQLite's included, and another process could then delete a live
// connection's WAL (SQLite's "How To Corrupt", section 2.2). A file system
// without hard links gets the file by O_EXCL instead: closing a descriptor
// of a file this call has just created can only drop the locks of a
// connection opened in the same instant.
void create_private(const std::string& path, const std::string& shown) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 || errno != ENOENT) return;
  if (::lstat(path.c_str(), &st) == 0) {
    // A symbolic link to a file that does not exist yet: linking into place
    // would find the link there and create nothing, and SQLite would then
    // create the target with its own mode. Created here through the link,
    // closed at once for the reason the O_EXCL fallback below gives.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
      const int err = errno;
      fail(shown, "create the database (through a symbolic link)", std::strerror(err));
    }
    ::close(fd);
    return;
  }
  const std::string temporary = path + ".creating-" + std::to_string(::getpid()) + "-" +
                                std::to_string(std::random_device{}());
  const auto fail_errno = [&](const char* what) {
    const int err = errno;
    fail(shown, what, std::strerror(err));
  };
  const int fd = ::open(temporary.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno != EEXIST) fail_errno("create the database");
  } else {
    ::close(fd);
    const bool linked = ::link(temporary.c_str(), path.c_str()) == 0 || errno == EEXIST;
    const int link_errno = errno;
    ::unlink(temporary.c_str());
    if (linked) return;
    if (link_errno != EPERM && link_errno != ENOTSUP && link_errno != EOPNOTSUPP) {
      errno = link_errno;
      fail_errno("create the database");
    }
  }
  const int direct = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (direct >= 0) {
    ::close(direct);
  } else if (errno != EEXIST) {
    fail_errno("create the database");
  }
}

// A FIFO, socket or device is no database: SQLite's read of it would
// block or misread, so it is refused before anything opens it. A directory
// is named as one (SQLite would only say "unable to open database file").
void refuse_special_file(const std::string& path, const std::string& shown) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return;
  fail(shown, "open the database", S_ISDIR(st.st_mode) ? "Is a directory" : "not a regular file");
}

}  // namespace

Db::Db(const std::string& path, std::string shown, OpenMode mode) : shown_(std::move(shown)) {
  if (sqlite3_threadsafe() == 0) {
    sqlite::fail(shown_, "open the database",
                 "this SQLite library was built without thread support (SQLITE_THREADSAFE=0)");
  }
  refuse_special_file(path, shown_);
  if (mode == OpenMode::create) create_private(path, shown_);
  // NOMUTEX: every connection is used by one thread at a time, which the
  // store guarantees, so SQLite's own per-connection mutex is not needed.
  // Without SQLITE_OPEN_CREATE a missing file fails here, not created.
  const int access = mode == OpenMode::read_only  ? SQLITE_OPEN_READONLY
                     : mode == OpenMode::existing ? SQLITE_OPEN_READWRITE
                                                  : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, access | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string reason = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    // SQLite's "unable to open database file" does not say why; the system does.
    if (const int err = db_ != nullptr ? sqlite3_system_errno(db_) : 0; err != 0)
      reason += std::string(": ") + std::strerror(err);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    sqlite::fail(shown_, "open the database", reason);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Db::~Db() {
  sqlite3_close_v2(db_);
}

void Db::fail(std::string_view what) const {
  sqlite::fail(shown_, what, sqlite3_errmsg(db_));
}

void Db::exec(const char* sql, std::string_view what) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(what);
}

std::int64_t Db::query_int(const char* sql, std::string_view what) {
  Stmt s(*this, sql);
  if (!s.step(what)) sqlite::fail(shown_, what, "no result");
  return s.integer(0);
}

std::string Db::query_text(const char* sql, std::string_view what) {
  Stmt s(*this, sql);
  if (!s.step(what)) sqlite::fail(shown_, what, "no result");
  return std::string(s.text(0));
}

Stmt::Stmt(Db& db, const char* sql) : db_(db) {
  if (sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) !=
      SQLITE_OK) {
    db.fail(std::string("prepare \"") + sql + "\"");
  }
}

Stmt::~Stmt() {
  sqlite3_finalize(stmt_);
}

void Stmt::bind_text(int index, std::string_view text) {
  if (sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8) !=
      SQLITE_OK) {
    db_.fail("bind a text of " + std::to_string(text.size()) + " bytes");
  }
}

void Stmt::bind_int(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) db_.fail("bind an integer");
}

void Stmt::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) db_.fail("bind null");
}

bool Stmt::step(std::string_view what) {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string reason = sqlite3_errmsg(db_.get());
  reset();
  if ((rc & 0xff) == SQLITE_CORRUPT) {
    throw Damaged("sqlite store: " + std::string(what) + " in " + db_.shown() + ": " + reason);
  }
  sqlite::fail(db_.shown(), what, reason);
}

void Stmt::run(std::string_view what) {
  Resetter r(*this);
  while (step(what)) {
  }
}

std::string_view Stmt::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string_view() : std::string_view(p, static_cast<std::size_t>(n));
}

std::int64_t Stmt::integer(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

bool Stmt::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

void Stmt::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

}  // namespace stube::store_detail::sqlite
