// Opening stores named by URLs, without creating the ones that must exist.
#include <filesystem>
#include <optional>
#include <system_error>

#include "stube_store/tool.hpp"

namespace stube::tool {

namespace {

namespace fs = std::filesystem;

struct PathUrl {
  std::string scheme;
  fs::path path;
};

// The path of a URL whose location is a path on this machine ("file:<dir>",
// "sqlite:<file>", each optionally "scheme://<absolute path>" and
// "?options"), else nullopt.
std::optional<PathUrl> path_of(std::string_view url) {
  const auto colon = url.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = url.substr(0, colon);
  if (scheme != "file" && scheme != "sqlite") return std::nullopt;
  std::string_view rest = url.substr(colon + 1);
  rest = rest.substr(0, rest.find('?'));
  if (rest.starts_with("//")) rest.remove_prefix(2);
  if (rest.empty()) return std::nullopt;  // open_store explains what is missing
  return PathUrl{std::string(scheme), fs::path(rest)};
}

// Why a store to read is missing: the tool never creates one there.
std::string missing_source(const std::string& url, const MissingStore& e) {
  return "no store at " + redact_store_url(url) + ": " + e.what() +
         " (stube-store creates a store only as the target of migrate)";
}

// Why migrate's target is missing: open_store creates it unless its URL says
// create=false (create_schema=false for PostgreSQL), the only way there.
std::string missing_target(const std::string& url, const MissingStore& e) {
  const std::string option = url.starts_with("postgres") ? "create_schema=false" : "create=false";
  return "TO " + redact_store_url(url) + " is not an existing store, and its " + option +
         " forbids creating one (without " + option + ", migrate creates it): " + e.what();
}

// Why migrate's target, an existing SQLite file, is refused: it is not a
// stube store, and opening it as one would switch another program's
// database to WAL mode and add tables to it.
std::string foreign_target(const std::string& url, const MissingStore& e) {
  return "TO " + redact_store_url(url) + " is a file but not a stube store: " + e.what() +
         " (migrate creates a SQLite store only where no file is; give another path)";
}

using Open = std::shared_ptr<ConversationStore> (*)(std::string_view);
using Missing = std::string (*)(const std::string&, const MissingStore&);

// Opens url with `open` (open_store or open_existing_store), translating
// its errors into the tool's; `missing` explains a store that is not there.
std::shared_ptr<ConversationStore> open_with(Open open, Missing missing, const std::string& url) {
  try {
    return open(url);
  } catch (const MissingStore& e) {
    throw Failure(missing(url, e));
  } catch (const StoreError& e) {
    throw Failure("cannot open " + redact_store_url(url) + ": " + e.what());
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

}  // namespace

std::shared_ptr<ConversationStore> open_existing(const std::string& url) {
  return open_with(open_existing_store, missing_source, url);
}

std::shared_ptr<ConversationStore> open_target(const std::string& url) {
  std::error_code ec;
  if (const auto p = path_of(url); p && p->scheme == "sqlite" && fs::is_regular_file(p->path, ec))
    return open_with(open_existing_store, foreign_target, url);
  return open_with(open_store, missing_target, url);
}

std::string store_identity(const std::string& url) {
  const auto p = path_of(url);
  if (!p) return url;
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(fs::absolute(p->path), ec);
  return p->scheme + ":" + (ec ? p->path : canonical).string();
}

bool same_place(const std::string& a, const std::string& b) {
  if (store_identity(a) == store_identity(b)) return true;
  // Two names of one file or directory: a hard link has no single canonical
  // path (SQLite would then fail with "disk I/O error" on its journal).
  const auto pa = path_of(a), pb = path_of(b);
  std::error_code ec;
  return pa && pb && pa->scheme == pb->scheme && fs::equivalent(pa->path, pb->path, ec) && !ec;
}

}  // namespace stube::tool
