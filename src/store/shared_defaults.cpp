// Defaults of the shared-backend capabilities: local stores have none.
#include "stube/store.hpp"

namespace stube {

std::optional<edn::Value> ConversationStore::load(std::string_view) {
  return std::nullopt;
}

void ConversationStore::remove_current(const edn::Value& conv) {
  remove(store_checks::checked_cid("store", conv));
}

std::vector<std::string> ConversationStore::reap(edn::Instant, std::size_t) {
  return {};
}

}  // namespace stube
