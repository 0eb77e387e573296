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

// Opens url with `open` (open_store or open_existing_store), translating
// its errors into the tool's.
std::shared_ptr<ConversationStore> open_with(
    std::shared_ptr<ConversationStore> (*open)(std::string_view), const std::string& url) {
  try {
    return open(url);
  } catch (const MissingStore& e) {
    throw Failure("no store at " + redact_store_url(url) + ": " + e.what() +
                  " (stube-store creates a store only as the target of migrate)");
  } catch (const StoreError& e) {
    throw Failure("cannot open " + redact_store_url(url) + ": " + e.what());
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

}  // namespace

std::shared_ptr<ConversationStore> open_existing(const std::string& url) {
  return open_with(open_existing_store, url);
}

std::shared_ptr<ConversationStore> open_target(const std::string& url) {
  return open_with(open_store, url);
}

std::string store_identity(const std::string& url) {
  const auto p = path_of(url);
  if (!p) return url;
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(fs::absolute(p->path), ec);
  return p->scheme + ":" + (ec ? p->path : canonical).string();
}

}  // namespace stube::tool
