// The store interface, the in-memory store and open_store(url).
#include "stube/store.hpp"

#include <stdexcept>
#include <string>

#include "stube/postgres_store.hpp"

namespace stube {

ConversationStore::~ConversationStore() = default;

void ConversationStore::scan(const std::function<void(std::string_view, std::string_view)>& visit) {
  for (auto& [cid, conv] : load_all()) visit(cid, edn::write(conv));
}

namespace {

// Keeps nothing: the runtime's own map is the only copy of the truth.
class InMemoryStore final : public ConversationStore {
 public:
  ConversationMap load_all() override { return {}; }
  edn::Value save(const edn::Value& conv) override { return conv; }
  void remove(std::string_view) override {}
};

[[noreturn]] void bad_url(std::string_view url, std::string_view why) {
  throw std::invalid_argument("open_store: " + std::string(why) + " in store URL \"" +
                              std::string(url) +
                              "\" (known: memory:, file:<dir>, file:<dir>?durability=durable, "
                              "postgresql://…)");
}

FileStoreOptions file_options(std::string_view url, std::string_view query) {
  FileStoreOptions options;
  if (query.empty()) return options;
  if (query == "durability=durable") {
    options.durability = Durability::durable;
  } else if (query == "durability=rename") {
    options.durability = Durability::rename;
  } else {
    bad_url(url, "unknown option \"" + std::string(query) + "\"");
  }
  return options;
}

std::shared_ptr<ConversationStore> open_file_store(std::string_view url, std::string_view rest) {
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (rest.starts_with("//")) {
    rest.remove_prefix(2);
    // Only the empty host is meaningful: file:///var/lib/x.
    if (!rest.starts_with("/")) bad_url(url, "a file:// URL needs an absolute path (file:///dir)");
  }
  if (rest.empty()) bad_url(url, "missing directory");
  return file_store(std::filesystem::path(rest), file_options(url, query));
}

}  // namespace

std::shared_ptr<ConversationStore> in_memory_store() {
  return std::make_shared<InMemoryStore>();
}

std::shared_ptr<ConversationStore> open_store(std::string_view url) {
  const auto colon = url.find(':');
  if (colon == std::string_view::npos) bad_url(url, "no scheme");
  const std::string_view scheme = url.substr(0, colon);
  const std::string_view rest = url.substr(colon + 1);
  if (scheme == "memory") {
    if (!rest.empty()) bad_url(url, "memory: takes no location");
    return in_memory_store();
  }
  if (scheme == "file") return open_file_store(url, rest);
  // libpq reads the whole URI (host, port, database, user, options).
  if (scheme == "postgresql" || scheme == "postgres") return postgres_store(std::string(url));
  bad_url(url, "unknown scheme \"" + std::string(scheme) + ":\"");
}

}  // namespace stube
