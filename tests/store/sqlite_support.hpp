// Test support for the SQLite store: a plain connection to inspect or damage
// a database behind the store's back.
#pragma once

#include <filesystem>
#include <string>

struct sqlite3;

namespace stube::test {

class RawSqlite {
 public:
  explicit RawSqlite(const std::filesystem::path& file);
  ~RawSqlite();
  RawSqlite(const RawSqlite&) = delete;
  RawSqlite& operator=(const RawSqlite&) = delete;

  // Runs SQL; throws std::runtime_error with SQLite's message on failure.
  void exec(const std::string& sql);
  // The first column of the first row as text ("" for NULL or no row).
  std::string one(const std::string& sql);

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace stube::test
