// The store interface, the in-memory store and open_store(url).
#include "stube/store.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "store/percent.hpp"
#include "store/redact.hpp"
#include "stube/postgres_store.hpp"
#include "stube/sqlite_store.hpp"

namespace stube {

ConversationStore::~ConversationStore() = default;

void ConversationStore::scan(const std::function<void(std::string_view, std::string_view)>& visit) {
  for (auto& [cid, conv] : load_all()) visit(cid, edn::write(conv));
}

void ConversationStore::scan_reporting(
    const std::function<void(std::string_view, std::string_view)>& visit,
    const std::function<void(std::string_view, std::string_view)>&) {
  scan(visit);
}

namespace {

// Keeps nothing: the runtime's own map is the only copy of the truth.
class InMemoryStore final : public ConversationStore {
 public:
  ConversationMap load_all() override { return {}; }
  edn::Value save(const edn::Value& conv) override { return conv; }
  void remove(std::string_view) override {}
};

constexpr std::string_view kHidden = "***";

// The text each redaction replaced, as written, when asked for.
using Hidden = std::vector<std::string>;

// url[from, from + n) -> "***", noting what it was.
void hide(std::string& url, std::size_t from, std::size_t n, Hidden* hidden) {
  if (hidden != nullptr) hidden->push_back(url.substr(from, n));
  url.replace(from, n, kHidden);
}

bool is_scheme(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Whether "host:port,host:port" (a URI's text before its first '/' or '?')
// reads as hosts and ports: each port, after a ':' outside "[…]", is digits.
bool plausible_netlocs(std::string_view netlocs) {
  for (bool more = true; more;) {
    const auto comma = netlocs.find(',');
    std::string_view netloc = netlocs.substr(0, comma);
    more = comma != std::string_view::npos;
    if (more) netlocs.remove_prefix(comma + 1);
    if (netloc.starts_with("[")) netloc.remove_prefix(std::min(netloc.find(']'), netloc.size()));
    const auto colon = netloc.find(':');
    if (colon != std::string_view::npos &&
        netloc.substr(colon + 1).find_first_not_of("0123456789") != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// Whether `head`, the text between "//" and the first '@', reads as libpq
// reads it: no user info (a '/' comes first), the '@' inside the value of a
// "key=value" query parameter, after hosts with numeric ports
// ("db:5432/app?user=a" of "…?user=a@b"). Anything else is a password left
// unencoded ("u:p/a?s" of "u:p/a?s@db/app", which libpq misreads as host u,
// port p, database a and the bad parameter "s@db/app").
bool at_is_in_query(std::string_view head) {
  const auto q = head.find('?');
  if (head.find('/') == std::string_view::npos || q == std::string_view::npos) return false;
  const std::string_view query = head.substr(q + 1);
  const auto amp = query.rfind('&');
  const std::string_view last = amp == std::string_view::npos ? query : query.substr(amp + 1);
  return last.find('=') != std::string_view::npos &&
         plausible_netlocs(head.substr(0, head.find_first_of("/?")));
}

// Where the user info of "<scheme>://<authority>…" ends: the index of its
// '@', or npos when there is none. `authority` is the index after "//".
//
// libpq takes everything before the first '@' as the user info when that
// '@' comes before any '/' ('?' and '#' included: they are not special
// there). So does this, and further, since a password may be written with
// '/', '?' or '@' unencoded and hiding too much is the safe mistake: a '/'
// before the '@' counts as the user info's too unless the '@' reads as part
// of a query (at_is_in_query), and the user info runs to the last '@' before
// the query, which starts at the first '?' after the first '@' ("u:p@ss@db"
// hides "p@ss"; libpq reads "p").
std::size_t user_info_end(std::string_view url, std::size_t authority) {
  const auto first_at = url.find('@', authority);
  if (first_at == std::string_view::npos || url.substr(authority).starts_with("/")) {
    return std::string_view::npos;  // file:///path: no host, no user
  }
  if (at_is_in_query(url.substr(authority, first_at - authority))) return std::string_view::npos;
  return url.substr(0, url.find('?', first_at)).rfind('@');
}

// Where the query of "<scheme>://<authority>…" starts (its '?'), or npos:
// the first '?' after the user info, or after the authority start when
// there is no user info. libpq reads it there too.
std::size_t query_start(std::string_view url, std::size_t authority) {
  const auto at = user_info_end(url, authority);
  return url.find('?', at == std::string_view::npos ? authority : at);
}

// "<scheme>://<user>:<password>@<host>…" -> "<scheme>://<user>:***@<host>…".
void redact_user_info(std::string& url, std::size_t authority, Hidden* hidden) {
  const auto at = user_info_end(url, authority);
  if (at == std::string::npos) return;
  const auto colon = url.find(':', authority);
  if (colon > at) return;  // a user name only
  hide(url, colon + 1, at - colon - 1, hidden);
}

// Keys whose values are secrets: the password, and the passphrase of the
// client's SSL key.
bool secret_key(std::string_view key) {
  return key == "password" || key == "sslpassword";
}

// Each "<secret key>=<value>" that starts a query parameter (the text's
// start, or after a '?' or a '&') from `from` on -> "<key>=***". Anywhere,
// not only in what reads as the query: in a malformed URL
// ("db/app?user:a@b&password=x") the query may have counted as user info,
// and hiding more is the safe mistake.
void redact_password_parameters(std::string& url, std::size_t from, Hidden* hidden = nullptr) {
  for (std::size_t p = from; p < url.size(); ++p) {
    if (p != 0 && url[p - 1] != '?' && url[p - 1] != '&') continue;
    const std::size_t eq = url.find_first_of("=&", p);
    if (eq == std::string::npos || url[eq] != '=') continue;
    // libpq percent-decodes a URI's query keys: "pass%77ord" sets the password too.
    const std::string_view key = std::string_view(url).substr(p, eq - p);
    if (!secret_key(store_detail::percent_decoded(key).value_or(std::string(key)))) continue;
    const std::size_t value = eq + 1;
    hide(url, value, std::min(url.find('&', value), url.size()) - value, hidden);
    p = value + kHidden.size() - 1;
  }
}

// Whitespace as libpq's keyword strings have it (isspace in the C locale).
bool conninfo_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// The end of a libpq keyword value that starts at `i`: quoted ('a b') or up
// to the next space, with backslash escapes in both.
std::size_t keyword_value_end(std::string_view s, std::size_t i) {
  const bool quoted = i < s.size() && s[i] == '\'';
  if (quoted) ++i;
  for (; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (quoted ? s[i] == '\'' : conninfo_space(s[i])) {
      return quoted ? i + 1 : i;
    }
  }
  return s.size();
}

// "host=db password=x" -> "host=db password=***": each "<secret key> =
// <value>" that starts a word (at `from` or after a space), its value read
// as libpq reads one (quoted, or to the next space; backslash escapes).
// Whatever the words around it are: a quote left open, an escaped space or
// a URL before it may fold it into another value in libpq's reading (which
// its messages quote), and hiding too much is the safe mistake.
void redact_keywords(std::string& s, Hidden* hidden, std::size_t from = 0) {
  const auto space = [&](std::size_t i) {
    while (i < s.size() && conninfo_space(s[i])) ++i;
    return i;
  };
  for (std::size_t i = from; i < s.size(); ++i) {
    if (i != from && !conninfo_space(s[i - 1])) continue;
    std::size_t key_end = i;
    while (key_end < s.size() && s[key_end] != '=' && !conninfo_space(s[key_end])) ++key_end;
    if (!secret_key(std::string_view(s).substr(i, key_end - i))) continue;
    const auto eq = space(key_end);
    if (eq >= s.size() || s[eq] != '=') continue;
    const auto value = space(eq + 1);
    const auto end = keyword_value_end(s, value);
    const std::string_view text = std::string_view(s).substr(value, end - value);
    if (text.empty() || text == kHidden) continue;  // nothing, or hidden already
    hide(s, value, end - value, hidden);
    i = value + kHidden.size() - 1;
  }
}

// An option (or a query of several) as a message may quote it.
std::string redact_options(std::string_view query) {
  std::string out(query);
  redact_password_parameters(out, 0);
  return out;
}

// What is being opened: the URL as the caller gave it, and whether the
// store must exist already (open_existing_store).
struct Opening {
  std::string_view url;
  bool existing = false;

  // Calls visit(key, value, option) for each "key=value" option of a query
  // ("a=1&b=2"); value is empty when the option has no '='. visit returns
  // whether the option is stube's own (void: all are); a second one with
  // the key of one that was is a bad_url, since silently taking the last
  // value would hide a typo or a conflict ("create=true&create=false"). An
  // option visit passes on (libpq's) may repeat: its reader decides.
  template <class Visit>
  void for_each_option(std::string_view query, Visit visit) const;
};

[[noreturn]] void bad_url(const Opening& o, std::string_view why) {
  throw std::invalid_argument(std::string(o.existing ? "open_existing_store: " : "open_store: ") +
                              std::string(why) + " in store URL \"" + redact_store_url(o.url) +
                              "\" (known: memory:, file:<dir>, "
                              "file:<dir>?durability=durable|rename&create=false, "
                              "sqlite:<path>, "
                              "sqlite:<path>?synchronous=normal&busy_timeout=<ms>&create=false, "
                              "postgresql://…[?pool_size=<n>&tombstone_ttl=<seconds>"
                              "&acquire_timeout=<seconds>&create_schema=false])");
}

template <class Visit>
void Opening::for_each_option(std::string_view query, Visit visit) const {
  std::vector<std::string_view> taken;
  for (bool more = !query.empty(); more;) {
    const auto amp = query.find('&');
    const std::string_view option = query.substr(0, amp);
    more = amp != std::string_view::npos;
    if (more) query.remove_prefix(amp + 1);
    const auto eq = option.find('=');
    const std::string_view key = option.substr(0, eq);
    if (std::find(taken.begin(), taken.end(), key) != taken.end()) {
      bad_url(*this, "option \"" + std::string(key) + "\" given twice");
    }
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : option.substr(eq + 1);
    if constexpr (std::is_void_v<decltype(visit(key, value, option))>) {
      visit(key, value, option);
      taken.push_back(key);
    } else if (visit(key, value, option)) {
      taken.push_back(key);
    }
  }
}

// A whole non-negative decimal number, or a bad_url naming the option.
long long count_option(const Opening& o, std::string_view key, std::string_view value,
                       std::string_view unit) {
  long long n = -1;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || n < 0) {
    bad_url(o, std::string(key) + " needs " + std::string(unit) + ", not \"" + std::string(value) +
                   "\"");
  }
  return n;
}

// Whether an option with two values has the first, `yes`; a value other
// than `yes` or `no` is a bad_url naming the option and both.
bool either(const Opening& o, std::string_view key, std::string_view value, std::string_view yes,
            std::string_view no) {
  if (value != yes && value != no) {
    bad_url(o, "bad value \"" + std::string(value) + "\" for " + std::string(key) + " (" +
                   std::string(yes) + " or " + std::string(no) + ")");
  }
  return value == yes;
}

// "create=true|false" (create_schema= for PostgreSQL). open_existing_store
// creates nothing, whatever the URL says.
bool create_option(const Opening& o, std::string_view key, std::string_view value) {
  return either(o, key, value, "true", "false") && !o.existing;
}

// "durability=durable|rename" and "create=true|false", joined by '&'.
FileStoreOptions file_options(const Opening& o, std::string_view query) {
  FileStoreOptions options;
  options.create = !o.existing;
  options.remove_left_overs = !o.existing;
  o.for_each_option(
      query, [&](std::string_view key, std::string_view value, std::string_view option) {
        if (key == "durability") {
          options.durability =
              either(o, key, value, "durable", "rename") ? Durability::durable : Durability::rename;
        } else if (key == "create") {
          options.create = create_option(o, key, value);
        } else {
          bad_url(o, "unknown option \"" + redact_options(option) +
                         "\" (file: takes durability=durable|rename and create=true|false)");
        }
      });
  return options;
}

// A local path URL's parts: "<scheme>:<path>?<query>" or
// "<scheme>://<absolute path>?<query>".
struct PathUrl {
  std::string_view path;
  std::string_view query;
};

PathUrl split_path_url(const Opening& o, std::string_view scheme, std::string_view rest,
                       std::string_view what, std::string_view example) {
  PathUrl out;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    out.query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (rest.starts_with("//")) {
    rest.remove_prefix(2);
    // Only the empty host is meaningful: file:///var/lib/x.
    if (!rest.starts_with("/")) {
      bad_url(o, "a " + std::string(scheme) + ":// URL needs an absolute path (" +
                     std::string(scheme) + ":///" + std::string(example) + ")");
    }
  }
  if (rest.empty()) bad_url(o, "missing " + std::string(what));
  out.path = rest;
  return out;
}

std::shared_ptr<ConversationStore> open_file_store(const Opening& o, std::string_view rest) {
  const PathUrl u = split_path_url(o, "file", rest, "directory", "dir");
  return file_store(std::filesystem::path(u.path), file_options(o, u.query));
}

// "synchronous=full|normal", "busy_timeout=<ms>" and "create=true|false",
// joined by '&'.
SqliteStoreOptions sqlite_options(const Opening& o, std::string_view query) {
  SqliteStoreOptions options;
  options.create = !o.existing;
  o.for_each_option(query, [&](std::string_view key, std::string_view value,
                               std::string_view option) {
    if (key == "synchronous") {
      options.synchronous =
          either(o, key, value, "full", "normal") ? SqliteSync::full : SqliteSync::normal;
    } else if (key == "busy_timeout") {
      options.busy_timeout = std::chrono::milliseconds(count_option(o, key, value, "milliseconds"));
    } else if (key == "create") {
      options.create = create_option(o, key, value);
    } else {
      bad_url(o, "unknown option \"" + redact_options(option) +
                     "\" (sqlite: takes synchronous=full|normal, busy_timeout=<ms> and "
                     "create=true|false)");
    }
  });
  return options;
}

// libpq reads the whole URI (host, port, database, user, its own query
// parameters such as sslmode); stube's own options, pool_size=<n>,
// tombstone_ttl=<seconds>, acquire_timeout=<seconds> and
// create_schema=true|false, are taken out of the query first, because
// libpq refuses parameters it does not know.
std::shared_ptr<ConversationStore> open_postgres_store(const Opening& o) {
  PostgresStoreOptions options;
  options.create_schema = !o.existing;
  // The query as libpq reads it: after the user info, which may hold a
  // '?' ("postgresql://u:pa?ss@db/app?pool_size=8").
  const auto colon = o.url.find(':');
  // Anything else after the scheme would reach libpq as a database name on
  // the default server ("postgresql:/db.internal/app", a slash short).
  if (o.url.compare(colon, 3, "://") != 0)
    bad_url(o, "a PostgreSQL URL is a libpq URI, postgresql://[user@]host[:port]/dbname");
  const auto q = query_start(o.url, colon + 3);
  std::string conninfo(o.url.substr(0, q));
  std::string kept;
  if (q != std::string_view::npos) {
    o.for_each_option(o.url.substr(q + 1), [&](std::string_view key, std::string_view value,
                                               std::string_view option) {
      if (key == "pool_size") {
        const long long n = count_option(o, key, value, "a number of connections");
        if (n == 0) bad_url(o, "pool_size needs at least 1 connection");
        options.pool_size = static_cast<std::size_t>(n);
      } else if (key == "tombstone_ttl") {
        options.tombstone_ttl = std::chrono::seconds(count_option(o, key, value, "seconds"));
      } else if (key == "acquire_timeout") {
        // Bounded, so that it fits the pool's milliseconds.
        const std::chrono::seconds s(count_option(o, key, value, "a number of seconds"));
        if (s.count() == 0 || s > std::chrono::days(365)) {
          bad_url(o, "acquire_timeout needs 1 to 31536000 seconds (a year), not \"" +
                         std::string(value) + "\"");
        }
        options.acquire_timeout = s;
      } else if (key == "create_schema") {
        options.create_schema = create_option(o, key, value);
      } else {
        kept.append(kept.empty() ? "" : "&").append(option);
        return false;  // libpq's: it reads a repeated one (the last wins)
      }
      return true;
    });
  }
  if (!kept.empty()) conninfo.append("?").append(kept);
  try {
    return postgres_store(conninfo, options);
  } catch (const std::invalid_argument& e) {  // libpq refused the rest
    bad_url(o, e.what());
  }
}

std::shared_ptr<ConversationStore> open_sqlite_store(const Opening& o, std::string_view rest) {
  const PathUrl u = split_path_url(o, "sqlite", rest, "path", "path/convs.db");
  return sqlite_store(std::filesystem::path(u.path), sqlite_options(o, u.query));
}

std::shared_ptr<ConversationStore> open_url(const Opening& o) {
  const auto colon = o.url.find(':');
  if (colon == std::string_view::npos) bad_url(o, "no scheme");
  const std::string_view scheme = o.url.substr(0, colon);
  const std::string_view rest = o.url.substr(colon + 1);
  if (scheme == "memory") {
    if (!rest.empty()) bad_url(o, "memory: takes no location");
    return in_memory_store();
  }
  if (scheme == "file") return open_file_store(o, rest);
  if (scheme == "sqlite") return open_sqlite_store(o, rest);
  if (scheme == "postgresql" || scheme == "postgres") return open_postgres_store(o);
  bad_url(o, "unknown scheme \"" + std::string(scheme) + ":\"");
}

std::string redact(std::string_view url, Hidden* hidden) {
  std::string out(url);
  std::size_t begin = 0;
  while (begin < out.size() && conninfo_space(out[begin])) ++begin;
  const auto colon = out.find(':', begin);
  if (colon == std::string::npos || !is_scheme(out.substr(begin, colon - begin))) {
    redact_keywords(out, hidden);
    return out;
  }
  if (out.compare(colon, 3, "://") == 0) redact_user_info(out, colon + 3, hidden);
  redact_password_parameters(out, colon, hidden);
  // A keyword string where a URL was expected ("postgresql:host=db
  // password=x", as "file:<dir>" is written) or words after a URL
  // ("postgresql://h/db password=x"): not a URL, and no secret shows.
  redact_keywords(out, hidden, colon + 1);
  return out;
}

}  // namespace

std::string redact_store_url(std::string_view url) {
  return redact(url, nullptr);
}

std::vector<std::string> store_detail::hidden_by_redaction(std::string_view url) {
  Hidden hidden;
  redact(url, &hidden);
  return hidden;
}

std::shared_ptr<ConversationStore> in_memory_store() {
  return std::make_shared<InMemoryStore>();
}

std::shared_ptr<ConversationStore> open_store(std::string_view url) {
  return open_url({url, false});
}

std::shared_ptr<ConversationStore> open_existing_store(std::string_view url) {
  return open_url({url, true});
}

}  // namespace stube
