// Thin RAII wrappers over the SQLite C API for the SQLite store: a
// connection and a prepared statement, whose failures throw StoreError
// naming the database file and SQLite's message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stube/store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace stube::store_detail::sqlite {

// "sqlite store: <what> in <path>: <SQLite's message>".
[[noreturn]] void fail(const std::string& path, std::string_view what, std::string_view reason);

// A statement met a damaged page (SQLITE_CORRUPT). The rows stored on other
// pages can often still be read one by one, so readers may skip the row
// that fails this way instead of failing the whole read.
class Damaged : public StoreError {
 public:
  using StoreError::StoreError;
};

// How Db opens its file.
enum class OpenMode {
  create,     // read-write, creating a missing file (mode 0600)
  existing,   // read-write, the file must exist
  read_only,  // the file must exist; nothing is written
};

// One connection, used by one thread at a time (the caller serialises).
class Db {
 public:
  // Opens `path` as `mode` says; `shown` names the database in messages.
  Db(const std::string& path, std::string shown, OpenMode mode = OpenMode::create);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* get() const noexcept { return db_; }
  const std::string& shown() const noexcept { return shown_; }

  // Runs SQL without results (pragmas, DDL); throws on failure.
  void exec(const char* sql, std::string_view what);
  // The first column of the first row of `sql` as an integer, or as text.
  std::int64_t query_int(const char* sql, std::string_view what);
  std::string query_text(const char* sql, std::string_view what);
  // Throws with the connection's last error message.
  [[noreturn]] void fail(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string shown_;
};

// A prepared statement, reused: each use binds, steps, and resets.
class Stmt {
 public:
  Stmt(Db& db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // The text is bound without a copy: it must outlive the step.
  void bind_text(int index, std::string_view text);
  void bind_int(int index, std::int64_t value);
  void bind_null(int index);
  // Steps once: true when a row is available, false when done; throws on
  // an error (after resetting the statement).
  bool step(std::string_view what);
  // Runs a statement that returns no rows, then resets it.
  void run(std::string_view what);
  // Columns of the current row; a text stays valid until the next step or
  // reset.
  std::string_view text(int column) const;
  std::int64_t integer(int column) const;
  bool is_null(int column) const;
  // Ends the current use and clears the bindings.
  void reset() noexcept;

 private:
  Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when a scope that stepped it ends (also on a throw).
class Resetter {
 public:
  explicit Resetter(Stmt& s) : s_(s) {}
  ~Resetter() { s_.reset(); }
  Resetter(const Resetter&) = delete;
  Resetter& operator=(const Resetter&) = delete;

 private:
  Stmt& s_;
};

}  // namespace stube::store_detail::sqlite
