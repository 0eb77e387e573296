// libpq, wrapped: connect, prepare, run, decode binary values.
#include "store/pg_connection.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <vector>

#include "store/percent.hpp"
#include "store/redact.hpp"
#include "stube/log.hpp"

namespace stube::store_detail::pg {

namespace {

constexpr std::string_view kBackend = "postgres store";

// PostgreSQL's timestamp epoch (2000-01-01T00:00:00Z) in Unix seconds.
constexpr std::int64_t kPgEpochSeconds = 946684800;

void put_be64(std::uint64_t v, char* out) noexcept {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
}

std::uint64_t get_be64(const char* in) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// libpq's messages end with a newline (sometimes several lines); keep one line.
std::string one_line(const char* message) {
  std::string s = message == nullptr ? "" : message;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s.empty() ? "unknown error" : s;
}

std::string describe(PGconn* c) {
  auto text = [](const char* s) { return std::string(s == nullptr || *s == 0 ? "?" : s); };
  return "database " + text(PQdb(c)) + " on " + text(PQhost(c)) + ":" + text(PQport(c)) + " as " +
         text(PQuser(c));
}

// Server notices ("relation already exists, skipping") are not problems.
void on_notice(void*, const char* message) {
  log::debug(std::string(kBackend) + ": " + one_line(message));
}

// Whether libpq reads `s`, given as the dbname with expand_dbname, as a
// connection string (a URI or keywords) rather than a database name.
bool is_connection_string(std::string_view s) {
  return s.starts_with("postgresql://") || s.starts_with("postgres://") ||
         s.find('=') != std::string_view::npos;
}

// A quoted keyword value ('a \' b') as libpq reads it: 'a \' b' -> a ' b.
std::string unquoted(std::string_view s) {
  if (!s.starts_with("'")) return std::string(s);
  std::string out;
  for (std::size_t i = 1; i < s.size() && s[i] != '\''; ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

// The entry of `keyword` in `options`, or null when it has none.
const PQconninfoOption* entry(const PQconninfoOption* options, std::string_view keyword) {
  for (const PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    if (o->keyword == keyword) return o;
  }
  return nullptr;
}

bool sets(const PQconninfoOption* options, std::string_view keyword) {
  const PQconninfoOption* o = entry(options, keyword);
  return o != nullptr && o->val != nullptr && *o->val != 0;
}

// What a message about `conninfo` must not show, longest first: each
// password as written there (what redact_store_url hides), unquoted and
// percent-decoded; the pieces of one with a '/', '@', '?', ':' or '#' left
// unencoded, which libpq may read as a port, a host or a path; and the
// password as libpq parsed it (`parsed`, when it could).
std::vector<std::string> secrets_of(const std::string& conninfo, const PQconninfoOption* parsed) {
  std::vector<std::string> out;
  const auto add = [&](std::string_view s) {
    if (!s.empty()) out.emplace_back(s);
  };
  for (const std::string& raw : hidden_by_redaction(conninfo)) {
    add(raw);
    add(unquoted(raw));
    if (const auto decoded = percent_decoded(raw)) add(*decoded);
    std::string_view rest = raw;
    for (auto cut = rest.find_first_of("/@?:#"); cut != std::string_view::npos;
         cut = rest.find_first_of("/@?:#")) {
      if (cut > 1) add(rest.substr(0, cut));  // a single character says little
      rest.remove_prefix(cut + 1);
    }
    if (rest.size() > 1 && rest.size() < raw.size()) add(rest);
  }
  if (sets(parsed, "password")) add(entry(parsed, "password")->val);
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// `message` with each secret that stands alone (not inside a longer word)
// replaced by "***"; the rest, libpq's reason, is kept.
std::string scrub(std::string message, const std::vector<std::string>& secrets) {
  constexpr std::string_view kHidden = "***";
  for (const std::string& secret : secrets) {
    for (auto at = message.find(secret); at != std::string::npos; at = message.find(secret, at)) {
      const auto end = at + secret.size();
      const bool alone =
          (at == 0 || !word_char(message[at - 1]) || !word_char(secret.front())) &&
          (end == message.size() || !word_char(message[end]) || !word_char(secret.back()));
      if (alone) {
        message.replace(at, secret.size(), kHidden);
        at += kHidden.size();
      } else {
        ++at;
      }
    }
  }
  return message;
}

struct FreeOptions {
  void operator()(PQconninfoOption* o) const noexcept { PQconninfoFree(o); }
};
using Options = std::unique_ptr<PQconninfoOption, FreeOptions>;

// `conninfo` as libpq will parse it; none for a plain database name. When
// libpq cannot parse it, throws std::invalid_argument with its reason (the
// caller's mistake, not the database's), the secrets hidden; StoreError
// when out of memory.
Options parsed(const std::string& conninfo) {
  if (!is_connection_string(conninfo)) return nullptr;
  char* error = nullptr;
  Options options(PQconninfoParse(conninfo.c_str(), &error));
  if (!options) {
    if (error == nullptr)
      throw StoreError(std::string(kBackend) + ": out of memory parsing the connection string");
    const std::string reason = scrub(one_line(error), secrets_of(conninfo, nullptr));
    PQfreemem(error);
    throw std::invalid_argument(std::string(kBackend) +
                                ": the connection string is not one libpq reads: " + reason);
  }
  return options;
}

struct Keyword {
  const char* key;
  const char* value;
};

// libpq's own defaults wait for ever: on a host that does not answer the
// connect, and on a peer that died without a word (no keepalives; data
// unacknowledged is retransmitted for some 15 minutes). These end such a
// wait within about a minute, and a statement that is merely slow is not
// affected (the server's kernel still answers).
constexpr Keyword kDefaults[] = {
    {"connect_timeout", "10"},     {"keepalives", "1"},       {"keepalives_idle", "30"},
    {"keepalives_interval", "10"}, {"keepalives_count", "3"}, {"tcp_user_timeout", "60000"},
};

// Those of kDefaults that this libpq knows and that no PG* environment
// variable or PGSERVICE service sets (PQconndefaults has those: libpq
// applies them only to keywords left unset, so ours would hide them). The
// conninfo's own keywords override ours in connect(). A service named in
// the conninfo may set any of them, and its file is libpq's to read: then
// none apply.
std::vector<Keyword> unset_defaults(const PQconninfoOption* conninfo) {
  if (sets(conninfo, "service")) return {};
  const Options environment(PQconndefaults());
  std::vector<Keyword> out;
  for (const Keyword& d : kDefaults) {
    if (entry(environment.get(), d.key) != nullptr && !sets(environment.get(), d.key)) {
      out.push_back(d);
    }
  }
  return out;
}

PGconn* connect(const std::string& conninfo, const std::vector<Keyword>& defaults) {
  // With expand_dbname, `dbname` may hold a whole conninfo string or URI.
  // Array entries before it are overridden by the string's own keywords,
  // entries after it override them (PQconnectdbParams): so our defaults,
  // the fallback application name among them, come first.
  std::vector<const char*> keys{"fallback_application_name"};
  std::vector<const char*> values{"stube"};
  for (const Keyword& d : defaults) {
    keys.push_back(d.key);
    values.push_back(d.value);
  }
  keys.insert(keys.end(), {"dbname", nullptr});
  values.insert(values.end(), {conninfo.c_str(), nullptr});
  return PQconnectdbParams(keys.data(), values.data(), 1);
}

}  // namespace

Param Param::int8(std::int64_t v) {
  Param p;
  put_be64(static_cast<std::uint64_t>(v), p.word_);
  p.owned_ = true;
  p.length_ = 8;
  return p;
}

Param Param::timestamptz(edn::Instant t) {
  // Saturated to PostgreSQL's range (4714 BC to 294276 AD, seconds since
  // its epoch): beyond it the microseconds would overflow, and the server
  // refuses such a value anyway. A cutoff before that range finds nothing.
  constexpr std::int64_t kEarliest = -211813488000, kLatest = 9223371331199;
  const std::int64_t seconds =
      std::clamp(t.seconds, kPgEpochSeconds + kEarliest, kPgEpochSeconds + kLatest);
  const std::int64_t micros = (seconds - kPgEpochSeconds) * 1000000 + t.nanos / 1000;
  return int8(micros);
}

std::int64_t Result::affected() const {
  const char* n = PQcmdTuples(r_.get());
  std::int64_t v = 0;
  if (n != nullptr) std::from_chars(n, n + std::strlen(n), v);
  return v;
}

std::string_view Result::bytes(int row, int col) const noexcept {
  return {PQgetvalue(r_.get(), row, col),
          static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
}

std::int64_t Result::int8(int row, int col) const noexcept {
  return static_cast<std::int64_t>(get_be64(PQgetvalue(r_.get(), row, col)));
}

bool Result::boolean(int row, int col) const noexcept {
  return *PQgetvalue(r_.get(), row, col) != 0;
}

Connection::Connection(const std::string& conninfo) {
  const Options options = parsed(conninfo);
  secrets_ = secrets_of(conninfo, options.get());
  conn_.reset(connect(conninfo, unset_defaults(options.get())));
  if (!conn_) throw StoreError(std::string(kBackend) + ": out of memory opening a connection");
  description_ = scrub(describe(conn_.get()), secrets_);
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    throw StoreError(std::string(kBackend) + ": cannot connect to " + description_ + ": " +
                     scrub(one_line(PQerrorMessage(conn_.get())), secrets_));
  }
  PQsetNoticeProcessor(conn_.get(), on_notice, nullptr);
}

void Connection::prepare(const Statement& s) {
  const std::vector<Oid> types(s.types.begin(), s.types.end());
  PGresult* r = PQprepare(conn_.get(), s.name, s.sql, static_cast<int>(types.size()), types.data());
  if (PQresultStatus(r) != PGRES_COMMAND_OK) fail(r, std::string("prepare ") + s.name);
  PQclear(r);
  prepared_.push_back(&s);
}

Result Connection::exec(const Statement& s, std::initializer_list<Param> params,
                        std::string_view what) {
  if (std::find(prepared_.begin(), prepared_.end(), &s) == prepared_.end()) prepare(s);
  std::vector<const char*> values;
  std::vector<int> lengths;
  const std::vector<int> formats(params.size(), 1);
  values.reserve(params.size());
  lengths.reserve(params.size());
  for (const Param& p : params) {
    values.push_back(p.data());
    lengths.push_back(p.length());
  }
  PGresult* r = PQexecPrepared(conn_.get(), s.name, static_cast<int>(params.size()), values.data(),
                               lengths.data(), formats.data(), 1);
  const ExecStatusType status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r, what);
  return Result(r);
}

Result Connection::exec_sql(const char* sql, std::string_view what) {
  PGresult* r = PQexecParams(conn_.get(), sql, 0, nullptr, nullptr, nullptr, nullptr, 1);
  const ExecStatusType status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r, what);
  return Result(r);
}

void Connection::fail(PGresult* r, std::string_view what) {
  const std::string reason =
      scrub(one_line(r != nullptr && *PQresultErrorMessage(r) != 0 ? PQresultErrorMessage(r)
                                                                   : PQerrorMessage(conn_.get())),
            secrets_);
  const bool lost = lost_connection(r);
  PQclear(r);
  const std::string message =
      std::string(kBackend) + ": " + std::string(what) + " on " + description_ + ": " + reason;
  if (lost) {
    broken_ = true;  // not back into the pool as it is
    throw ConnectionLost(message);
  }
  throw StoreError(message);
}

// Whether a failed call means the connection is gone. Not only when libpq
// says CONNECTION_BAD: a server restarted at once (or recovering from a
// backend's crash) sends its backends a notice and closes them, and libpq
// (15) reports the first call after that with no SQLSTATE (an error it made
// itself: the write failed) while the status still says CONNECTION_OK. The
// server's own word for it: class 08 (connection exception), or 57P01–57P03
// (admin/crash shutdown, cannot connect now).
bool Connection::lost_connection(const PGresult* r) const noexcept {
  if (PQstatus(conn_.get()) == CONNECTION_BAD) return true;
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr) return true;
  const std::string_view code(state);
  return code.starts_with("08") || code == "57P01" || code == "57P02" || code == "57P03";
}

void Connection::rollback() noexcept {
  if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) return;
  PQclear(PQexec(conn_.get(), "ROLLBACK"));
}

std::optional<std::string> Connection::option(std::string_view keyword) const {
  const Options in_use(PQconninfo(conn_.get()));
  if (!sets(in_use.get(), keyword)) return std::nullopt;
  return entry(in_use.get(), keyword)->val;
}

bool Connection::usable() const noexcept {
  return !broken_ && PQstatus(conn_.get()) == CONNECTION_OK &&
         PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
}

void Connection::reconnect() {
  PQreset(conn_.get());
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    throw StoreError(std::string(kBackend) + ": cannot reconnect to " + description_ + ": " +
                     scrub(one_line(PQerrorMessage(conn_.get())), secrets_));
  }
  prepared_.clear();  // a new server session
  broken_ = false;
  PQsetNoticeProcessor(conn_.get(), on_notice, nullptr);
}

}  // namespace stube::store_detail::pg
