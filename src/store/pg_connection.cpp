// libpq, wrapped: connect, prepare, run, decode binary values.
#include "store/pg_connection.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

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

PGconn* connect(const std::string& conninfo) {
  // expand_dbname: `dbname` may hold a whole conninfo string or URI; the
  // fallback name only applies when the caller did not set one.
  const char* keys[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {conninfo.c_str(), "stube", nullptr};
  return PQconnectdbParams(keys, values, 1);
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
  const std::int64_t micros = (t.seconds - kPgEpochSeconds) * 1000000 + t.nanos / 1000;
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

Connection::Connection(const std::string& conninfo) : conn_(connect(conninfo)) {
  if (!conn_) throw StoreError(std::string(kBackend) + ": out of memory opening a connection");
  description_ = describe(conn_.get());
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    throw StoreError(std::string(kBackend) + ": cannot connect to " + description_ + ": " +
                     one_line(PQerrorMessage(conn_.get())));
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
      one_line(r != nullptr && *PQresultErrorMessage(r) != 0 ? PQresultErrorMessage(r)
                                                             : PQerrorMessage(conn_.get()));
  PQclear(r);
  const std::string message =
      std::string(kBackend) + ": " + std::string(what) + " on " + description_ + ": " + reason;
  if (PQstatus(conn_.get()) == CONNECTION_BAD) throw ConnectionLost(message);
  throw StoreError(message);
}

void Connection::rollback() noexcept {
  if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) return;
  PQclear(PQexec(conn_.get(), "ROLLBACK"));
}

bool Connection::usable() const noexcept {
  return PQstatus(conn_.get()) == CONNECTION_OK && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
}

void Connection::reconnect() {
  PQreset(conn_.get());
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    throw StoreError(std::string(kBackend) + ": cannot reconnect to " + description_ + ": " +
                     one_line(PQerrorMessage(conn_.get())));
  }
  prepared_.clear();  // a new server session
  PQsetNoticeProcessor(conn_.get(), on_notice, nullptr);
}

}  // namespace stube::store_detail::pg
