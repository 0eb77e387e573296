// Opening stores named by URLs, without creating the ones that must exist.
#include <sqlite3.h>

#include <array>
#include <filesystem>
#include <memory>
#include <system_error>

#include "stube_store/tool.hpp"

namespace stube::tool {

namespace {

namespace fs = std::filesystem;

// Schemes whose location is a path on this machine ("file:<dir>",
// "sqlite:<file>"), each optionally "scheme://<absolute path>" and "?options".
constexpr std::array<std::string_view, 2> kPathSchemes = {"file", "sqlite"};

struct PathUrl {
  std::string scheme;
  fs::path path;
};

std::optional<PathUrl> path_of(std::string_view url) {
  const auto colon = url.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = url.substr(0, colon);
  bool known = false;
  for (const auto s : kPathSchemes) known = known || s == scheme;
  if (!known) return std::nullopt;
  std::string_view rest = url.substr(colon + 1);
  rest = rest.substr(0, rest.find('?'));
  if (rest.starts_with("//")) rest.remove_prefix(2);
  if (rest.empty()) return std::nullopt;  // open_store explains what is missing
  return PathUrl{std::string(scheme), fs::path(rest)};
}

// A sqlite: path must hold stube's table. Checked with SQLite itself,
// read-only, before the store opens it: the store would switch any SQLite
// database to WAL mode and create its table in it.
void check_sqlite_store(const std::string& url, const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw Failure("no stube store at " + redact_store_url(url) + ": " + path.string() +
                  " is a directory");
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  const std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close_v2);
  const auto fail = [&] {
    throw Failure("cannot open " + redact_store_url(url) + ": " + path.string() + ": " +
                  (db ? sqlite3_errmsg(db.get()) : "out of memory"));
  };
  if (rc != SQLITE_OK) fail();
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(),
                         "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                         "name = 'stube_conversations'",
                         -1, &raw_stmt, nullptr) != SQLITE_OK) {
    fail();  // e.g. "file is not a database"
  }
  const std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw_stmt, sqlite3_finalize);
  const int step = sqlite3_step(stmt.get());
  if (step == SQLITE_DONE) {
    throw Failure("no stube store at " + redact_store_url(url) + ": " + path.string() +
                  " has no stube_conversations table");
  }
  if (step != SQLITE_ROW) fail();
}

// A postgresql: URL with create_schema=false added: opening it creates
// nothing, and a database without stube's tables is a MissingStore.
std::string without_creating(const std::string& url) {
  const std::string_view scheme = std::string_view(url).substr(0, url.find(':'));
  if (scheme != "postgresql" && scheme != "postgres") return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "create_schema=false";
}

// Opens `opened_as` (url, or url with options added); messages name url.
std::shared_ptr<ConversationStore> open(const std::string& url, const std::string& opened_as) {
  try {
    return open_store(opened_as);
  } catch (const StoreError& e) {
    throw Failure("cannot open " + redact_store_url(url) + ": " + e.what());
  } catch (const std::invalid_argument& e) {
    // The message names the URL as opened; the user knows it as typed.
    std::string message = e.what();
    const std::string as_opened = redact_store_url(opened_as);
    const std::string as_typed = redact_store_url(url);
    for (std::size_t at = 0; (at = message.find(as_opened, at)) != std::string::npos;
         at += as_typed.size())
      message.replace(at, as_opened.size(), as_typed);
    throw UsageError(message);
  }
}

}  // namespace

std::shared_ptr<ConversationStore> open_existing(const std::string& url) {
  if (const auto p = path_of(url)) {
    std::error_code ec;
    const bool exists = fs::exists(p->path, ec);
    if (ec) {
      throw Failure("cannot open " + redact_store_url(url) + ": " + p->path.string() + ": " +
                    ec.message());
    }
    if (!exists) {
      throw Failure("no store at " + redact_store_url(url) + ": " + p->path.string() +
                    " does not exist (stube-store creates a store only as the target of migrate)");
    }
    if (p->scheme == "sqlite") check_sqlite_store(url, p->path);
  }
  return open(url, without_creating(url));
}

std::shared_ptr<ConversationStore> open_target(const std::string& url) {
  return open(url, url);
}

std::string store_identity(const std::string& url) {
  const auto p = path_of(url);
  if (!p) return url;
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(fs::absolute(p->path), ec);
  return p->scheme + ":" + (ec ? p->path : canonical).string();
}

}  // namespace stube::tool
