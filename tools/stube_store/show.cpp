// stube-store show URL CID: one conversation, pretty-printed.
#include <iostream>
#include <optional>

#include "finish_output.hpp"
#include "stube/conversation.hpp"
#include "stube_store/tool.hpp"

namespace stube::tool {

namespace {

[[noreturn]] void unreadable(const std::string& url, const std::string& cid,
                             const std::string& position, const std::string& problem) {
  throw Failure("conversation " + conv::quote_id(cid) + " in " + redact_store_url(url) +
                " is unreadable: " + cid + position + ": " + problem);
}

// The conversation through load(cid) where the store supports it (a shared
// store: one row), else by reading every record; nullopt when absent.
// Unreadable records are a Failure with the reason, whichever way they
// were read (verify's checks).
std::optional<edn::Value> find(ConversationStore& store, const std::string& url,
                               const std::string& cid) {
  std::optional<edn::Value> loaded;
  try {
    loaded = store.load(cid);
  } catch (const StoreError& e) {
    throw Failure("cannot read " + redact_store_url(url) + ": " + e.what());
  }
  if (loaded) {
    if (const std::string problem = conversation_problem(cid, *loaded); !problem.empty())
      unreadable(url, cid, "", problem);
    return loaded;
  }
  for (Record& r : read_records(store, url)) {
    if (r.cid != cid) continue;
    if (!r.conv) unreadable(url, cid, r.position, r.problem);
    return std::move(r.conv);
  }
  return std::nullopt;
}

// Whether `word` reads as a store URL ("file:…", "postgresql://…"): a cid
// holds no ':', so such a CID is most likely the URL, the two swapped.
bool looks_like_url(std::string_view word) {
  if (word.find("://") != std::string_view::npos) return true;
  for (const std::string_view scheme : {"file:", "sqlite:", "memory:", "postgresql:", "postgres:"})
    if (word.starts_with(scheme)) return true;
  return false;
}

}  // namespace

int show(const std::string& url, const std::string& cid, std::size_t width) {
  if (!conv::valid_id(cid)) {
    // Redacted before quote_id cuts it: a cut would leave a password that
    // main's redaction of the words as typed no longer finds.
    throw UsageError(
        "invalid conversation id " + conv::quote_id(redact_store_url(cid)) + " (1-" +
        std::to_string(conv::max_id_length) + " characters from [A-Za-z0-9_-])" +
        (looks_like_url(cid) ? "; it looks like a store URL: the order is show URL CID" : ""));
  }
  const auto store = open_existing(url);
  const auto conv = find(*store, url, cid);
  if (!conv) {
    throw Failure("no conversation " + conv::quote_id(cid) + " in " + redact_store_url(url));
  }
  write_output(edn::pretty(*conv, width) + '\n');
  return with_output("stube-store", 0);
}

}  // namespace stube::tool
