// Defaults of the shared-backend capabilities: local stores have none.
#include "stube/store.hpp"

namespace stube {

std::optional<edn::Value> ConversationStore::load(std::string_view) {
  return std::nullopt;
}

std::vector<std::string> ConversationStore::reap(edn::Instant, std::size_t) {
  return {};
}

}  // namespace stube
