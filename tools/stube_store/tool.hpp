// stube-store internals: opening stores from URLs, reading and checking
// every record, and the commands (one file each).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "stube/edn.hpp"
#include "stube/store.hpp"

namespace stube::tool {

// A usage error (bad URL, unknown scheme, bad argument): exit status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Anything else that stops a command (missing store, backend failure):
// exit status 1.
class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// --- stores (open.cpp) --------------------------------------------------------

// Opens a store that must already exist (open_existing_store), so that
// reading never creates an empty store or a schema. Throws UsageError /
// Failure.
std::shared_ptr<ConversationStore> open_existing(const std::string& url);
// Opens a store that may be created (the target of migrate).
std::shared_ptr<ConversationStore> open_target(const std::string& url);
// What the URL points at, for telling two URLs of one store apart:
// "<scheme>:<canonical path>" for path schemes, the URL itself otherwise.
std::string store_identity(const std::string& url);
// Whether the two URLs name one store by its path: the same canonical path,
// or two names (links) of one file or directory. False for other schemes.
bool same_place(const std::string& a, const std::string& b);

// --- records (records.cpp) ----------------------------------------------------

// One stored record, checked the way load_all checks it plus the shape
// checks of stube/conversation.hpp.
struct Record {
  std::string cid;                   // as shown_cid prints it
  std::optional<std::size_t> bytes;  // size of the stored text; unknown when
                                     // the store could not read it (a directory,
                                     // a file over the record limit)
  std::optional<edn::Value> conv;    // set when the record is a good conversation
  std::string position;              // ":line:col" of a parse error, else empty
  std::string problem;               // why it is not, else empty
};

// A cid as the tools print it: as it is when valid, otherwise quoted with
// its control characters escaped (a file name may hold any byte).
std::string shown_cid(std::string_view cid);
Record check_record(std::string_view cid, std::string_view text);
// The problem check_record finds in a conversation already read (a store's
// load(cid)), else empty.
std::string conversation_problem(std::string_view cid, const edn::Value& conv);
// Every record of the store, by cid. Throws Failure when the store cannot be
// read as a whole.
std::vector<Record> read_records(ConversationStore& store, const std::string& url);

// "2026-12-01T22:53:05.123Z".
std::string format_instant(edn::Instant t);
// The component id (:instance/type) of the top frame, or "-" when there is
// none (an empty stack, or a top instance that is missing or not a map).
std::string top_component(const edn::Value& conv);
// False when the conversation holds a live object: an opaque value, or the
// #object[...] placeholder stube prints for one (it cannot resume).
bool printable_conversation(const edn::Value& conv);

// --- commands -------------------------------------------------------------------
// Each returns the exit status and throws UsageError / Failure.

int ls(const std::string& url);
int show(const std::string& url, const std::string& cid, std::size_t width);
int verify(const std::string& url);
int stats(const std::string& url);
// Copies FROM to TO; a conversation TO holds that was touched later than
// FROM's copy is kept (and named) unless `overwrite`.
int migrate(const std::string& from, const std::string& to, bool overwrite);

}  // namespace stube::tool
