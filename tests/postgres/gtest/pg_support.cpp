#include "pg_support.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace stube::test {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == 0) {
    throw std::runtime_error(std::string(name) +
                             " is not set: these tests need the PostgreSQL server that "
                             "tests/postgres/with_postgres.sh starts; run them as "
                             "`bash tests/postgres/with_postgres.sh <build>/tests/stube_pg_tests` "
                             "(ctest does)");
  }
  return v;
}

std::atomic<int> database_counter{0};

}  // namespace

std::string pg_conninfo() {
  return env("STUBE_PG_CONNINFO");
}
std::string pg_url() {
  return env("STUBE_PG_URL");
}

void pg_control(std::string_view action) {
  const std::string command = env("STUBE_PG_CONTROL") + " " + std::string(action);
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

Sql::Sql(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string why = PQerrorMessage(conn_);
    PQfinish(conn_);
    throw std::runtime_error("cannot connect to " + conninfo + ": " + why);
  }
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

Sql::~Sql() {
  PQfinish(conn_);
}

std::vector<Sql::Row> Sql::rows(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  const ExecStatusType status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const std::string why = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error("SQL failed: " + sql + ": " + why);
  }
  std::vector<Row> out;
  for (int i = 0; i < PQntuples(r); ++i) {
    Row row;
    for (int j = 0; j < PQnfields(r); ++j) {
      if (PQgetisnull(r, i, j)) {
        row.emplace_back();
      } else {
        row.emplace_back(
            std::string(PQgetvalue(r, i, j), static_cast<std::size_t>(PQgetlength(r, i, j))));
      }
    }
    out.push_back(std::move(row));
  }
  PQclear(r);
  return out;
}

std::string Sql::one(const std::string& sql) {
  const auto r = rows(sql);
  if (r.empty() || r[0].empty()) throw std::runtime_error("no rows from: " + sql);
  return r[0][0].value_or("");
}

int Sql::backend_pid() const {
  return PQbackendPID(conn_);
}

TestDatabase::TestDatabase()
    : name_("stube_t" + std::to_string(::getpid()) + "_" + std::to_string(database_counter++)) {
  Sql(pg_conninfo() + " dbname=postgres").run("CREATE DATABASE " + name_);
}

TestDatabase::~TestDatabase() {
  try {
    Sql(pg_conninfo() + " dbname=postgres")
        .run("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The server may be down after a failed down-database test; the wrapper
    // deletes the whole server anyway.
  }
}

std::string TestDatabase::conninfo() const {
  return pg_conninfo() + " dbname=" + name_;
}

std::string TestDatabase::url() const {
  std::string url = pg_url();
  return url.substr(0, url.rfind('/') + 1) + name_;
}

std::shared_ptr<ConversationStore> TestDatabase::store(PostgresStoreOptions options) const {
  return postgres_store(conninfo(), options);
}

int TestDatabase::terminate_others(const Sql& keep) const {
  Sql admin(pg_conninfo() + " dbname=postgres");
  return std::stoi(admin.one(
      // The timeout makes it wait until each backend has really exited.
      "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
      "WHERE datname = '" +
      name_ + "' AND pid <> " + std::to_string(keep.backend_pid())));
}

}  // namespace stube::test
