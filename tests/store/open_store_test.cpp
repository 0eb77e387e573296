// open_store(url): the schemes and their errors.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "stube/conversation.hpp"
#include "stube/postgres_store.hpp"
#include "stube/store.hpp"
#include "support.hpp"

namespace stube::test {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// What open_store (or `open`) throws for url, as text.
std::string error_of(std::string_view url,
                     std::shared_ptr<ConversationStore> (*open)(std::string_view) = open_store) {
  try {
    open(url);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(OpenStore, MemoryIsTheNoOpStore) {
  auto store = open_store("memory:");
  store->save(conv::make("cv-1"));
  EXPECT_TRUE(store->load_all().empty());
}

TEST(OpenStore, FileOpensADirectory) {
  ScratchDir dir;
  open_store("file:" + (dir.path() / "convs").string())->save(conv::make("cv-1"));
  EXPECT_TRUE(fs::exists(dir.path() / "convs" / "cv-1.edn"));
  const auto loaded = open_store("file://" + (dir.path() / "convs").string())->load_all();
  EXPECT_EQ(loaded.size(), 1u);
}

TEST(OpenStore, FileTakesADurabilityOption) {
  ScratchDir dir;
  for (const char* option : {"?durability=durable", "?durability=rename"}) {
    auto store = open_store("file:" + dir.path().string() + option);
    store->save(conv::make("cv-1"));
    EXPECT_EQ(store->load_all().size(), 1u) << option;
  }
  EXPECT_NE(error_of("file:" + dir.path().string() + "?durability=maybe")
                .find("bad value \"maybe\" for durability (durable or rename)"),
            std::string::npos);
  EXPECT_NE(
      error_of("file:" + dir.path().string() + "?fsync=yes").find("unknown option \"fsync=yes\""),
      std::string::npos);
  EXPECT_NE(error_of("sqlite:" + (dir.path() / "x.db").string() + "?synchronous=off")
                .find("bad value \"off\" for synchronous (full or normal)"),
            std::string::npos);
}

TEST(OpenStore, ErrorsNameTheUrlAndTheProblem) {
  const std::string unknown = error_of("sqlite3:/tmp/x.db");
  EXPECT_NE(unknown.find("unknown scheme \"sqlite3:\""), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("\"sqlite3:/tmp/x.db\""), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("file:<dir>"), std::string::npos) << unknown;
  EXPECT_NE(error_of("/var/lib/stube").find("no scheme"), std::string::npos);
  EXPECT_NE(error_of("").find("no scheme"), std::string::npos);
  EXPECT_NE(error_of("file:").find("missing directory"), std::string::npos);
  EXPECT_NE(error_of("file://host/dir").find("absolute path"), std::string::npos);
  EXPECT_NE(error_of("memory:somewhere").find("takes no location"), std::string::npos);
  // A PostgreSQL URL that is no libpq URI (a slash short, a keyword string)
  // reached libpq as a database name on the default server.
  for (const char* url : {"postgresql:/db.internal/app", "postgres:stube?pool_size=2",
                          "postgresql:", "postgresql:host=db dbname=app"}) {
    const std::string error = error_of(url);
    EXPECT_NE(error.find("is a libpq URI, postgresql://[user@]host"), std::string::npos) << error;
  }
}

// Checked before any connection is tried, so no server is needed here (the
// options' effect is tested against a real server in tests/postgres).
TEST(OpenStore, PostgresOptionsAreChecked) {
  const std::string base = "postgresql://stube@127.0.0.1:1/stube";
  const std::pair<std::string, std::string> cases[] = {
      {"?pool_size=0", "pool_size needs"},
      {"?pool_size=many", "pool_size needs"},
      {"?sslmode=disable&pool_size=", "pool_size needs"},
      {"?tombstone_ttl=-1", "tombstone_ttl needs"},
      {"?tombstone_ttl=1h", "tombstone_ttl needs"},
      {"?create_schema=no", "for create_schema (true or false)"},
      {"?create_schema", "for create_schema (true or false)"},
      // What libpq cannot read is the URL's fault too, not the database's.
      {"?sslmod=require", "not one libpq reads: invalid URI query parameter: \"sslmod\""},
  };
  for (const auto& [query, why] : cases) {
    const std::string bad = base + query;
    const std::string error = error_of(bad);
    EXPECT_NE(error.find("\"" + bad + "\""), std::string::npos) << error;
    EXPECT_NE(error.find(why), std::string::npos) << bad << ": " << error;
  }
}

// A stube option given twice is refused, whichever value would have won,
// before anything is created or connected to.
TEST(OpenStore, ARepeatedOptionIsAnError) {
  ScratchDir dir;
  const std::string convs = (dir.path() / "convs").string();
  const std::string db = (dir.path() / "convs.db").string();
  const std::string pg = "postgresql://u:s3cret@127.0.0.1:1/stube?";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"file:" + convs + "?durability=durable&durability=rename", "durability"},
      {"file:" + convs + "?create=true&create=false", "create"},
      {"file://" + convs + "?create=false&durability=durable&create=false", "create"},
      {"sqlite:" + db + "?create=true&create=false", "create"},
      {"sqlite:" + db + "?synchronous=full&synchronous=normal", "synchronous"},
      {"sqlite:" + db + "?busy_timeout=10&busy_timeout=10", "busy_timeout"},
      {pg + "pool_size=2&pool_size=8", "pool_size"},
      {pg + "pool_size=2&sslmode=disable&pool_size=0", "pool_size"},
      {pg + "tombstone_ttl=1&tombstone_ttl=2", "tombstone_ttl"},
      {pg + "create_schema=false&create_schema=true", "create_schema"},
      {pg + "acquire_timeout=1&acquire_timeout=2", "acquire_timeout"},
  };
  for (const auto& [url, key] : cases) {
    for (const std::string& error : {error_of(url), error_of(url, open_existing_store)}) {
      EXPECT_TRUE(contains(error, "option \"" + key + "\" given twice in store URL \"" +
                                      redact_store_url(url) + "\""))
          << url << ": " << error;
      EXPECT_FALSE(contains(error, "s3cret")) << error;
    }
  }
  EXPECT_TRUE(file_names(dir.path()).empty());
}

// libpq's own parameters are passed on as they are: a repeated one is
// libpq's to read (the last wins), so open_store gets as far as connecting.
TEST(OpenStore, ARepeatedLibpqParameterIsPassedOn) {
  EXPECT_THROW(open_store("postgresql://stube@127.0.0.1:1/stube?sslmode=require&pool_size=1&"
                          "sslmode=disable&connect_timeout=5&connect_timeout=5"),
               StoreError);
}

TEST(OpenStore, PostgresAcquireTimeoutIsAPositiveNumberOfSeconds) {
  const std::string base = "postgresql://stube@127.0.0.1:1/stube?pool_size=2&acquire_timeout=";
  for (const std::string value :
       {"0", "soon", "-1", "1.5", "", "30s", "31536001", "99999999999999999999"}) {
    const std::string error = error_of(base + value);
    EXPECT_TRUE(contains(error, "acquire_timeout needs")) << value << ": " << error;
    EXPECT_TRUE(contains(error, "not \"" + value + "\"")) << value << ": " << error;
    EXPECT_TRUE(contains(error, "\"" + base + value + "\"")) << value << ": " << error;
  }
  // A good value is taken out of the query (libpq would refuse it: "invalid
  // URI query parameter") and the connection is tried, which port 1 refuses.
  for (const std::string value : {"1", "31536000"}) {
    try {
      open_store(base + value);
      ADD_FAILURE() << "connected to port 1";
    } catch (const StoreError& e) {
      EXPECT_TRUE(contains(e.what(), "127.0.0.1")) << e.what();
      EXPECT_FALSE(contains(e.what(), "acquire_timeout")) << e.what();
    }
  }
}

TEST(OpenStore, RedactStoreUrlHidesPasswordsOnly) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"postgresql://u:s3cret@db.internal:5432/app?sslmode=require",
       "postgresql://u:***@db.internal:5432/app?sslmode=require"},
      {"postgres://u:s3cret@db/app", "postgres://u:***@db/app"},
      {"postgresql://u:pa/ss@db/app", "postgresql://u:***@db/app"},  // '/' left unencoded
      // libpq reads the user info up to the '@', whatever '?' or '#' come before.
      {"postgresql://u:pa?ss@db/app", "postgresql://u:***@db/app"},
      {"postgresql://u:pa#ss@db/app", "postgresql://u:***@db/app"},
      {"postgresql://u:p@ss@db/app", "postgresql://u:***@db/app"},
      {"postgresql://u:s3?c@r/e#t@db/app?pool_size=8", "postgresql://u:***@db/app?pool_size=8"},
      {"postgresql://u:pa?ss@db/app?password=pa?ss&sslmode=require",
       "postgresql://u:***@db/app?password=***&sslmode=require"},
      {"postgresql://u:pa?ss@db?password=x", "postgresql://u:***@db?password=***"},
      // A '/' and then a '?' before the '@': libpq reads host u, port p and a
      // query, but only as a password do they make sense, so they are hidden.
      {"postgresql://u:p/a?s@db/app", "postgresql://u:***@db/app"},
      {"postgresql://u:p?a/s@db/app?pool_size=2", "postgresql://u:***@db/app?pool_size=2"},
      {"postgresql://u:p/a?s=x@db/app", "postgresql://u:***@db/app"},  // port "p"
      {"postgresql://u:p/a?k=v&s@db/app", "postgresql://u:***@db/app"},
      {"postgresql://u:p/a?password=x@db/app?password=y", "postgresql://u:***@db/app?password=***"},
      {"postgresql://u:p/a@db", "postgresql://u:***@db"},
      // Malformed (a ':' for a '=', a bare "b@c", a port that is not a
      // number): what reads as user info is hidden, and so is a password=.
      {"postgresql://db.internal/app?user:alice@corp.com&password=hunter2",
       "postgresql://db.internal/app?user:***@corp.com&password=***"},
      {"postgresql://host:5432/db?application_name=a&b@c&password=secret",
       "postgresql://host:***@c&password=***"},
      {"postgresql://h1,h2:x/db?user=a@b&password=secret", "postgresql://h1,h2:***@b&password=***"},
      {"postgresql://u:@db", "postgresql://u:***@db"},  // even an empty one
      {"postgresql://u@db/app?password=s3cret&sslmode=require",
       "postgresql://u@db/app?password=***&sslmode=require"},
      {"postgresql://db/app?sslmode=require&password=s3cret",
       "postgresql://db/app?sslmode=require&password=***"},
      {"host=db password=s3cret user=u", "host=db password=*** user=u"},
      {"host=db password = 's3 \\' cret' user=u", "host=db password = *** user=u"},
      {"sqlite:convs.db?password=s3cret", "sqlite:convs.db?password=***"},
      // The SSL key's passphrase, a key spelled with percent-escapes (libpq
      // decodes query keys), libpq's other whitespace, and after a typo.
      {"postgresql://u@db/app?sslpassword=hunter2&x=1",
       "postgresql://u@db/app?sslpassword=***&x=1"},
      {"postgres://u@db/app?pass%77ord=hunter2", "postgres://u@db/app?pass%77ord=***"},
      {"postgres://u@db/app?%70assword=a&sslmode=require",
       "postgres://u@db/app?%70assword=***&sslmode=require"},
      {"host=db\rpassword=secret", "host=db\rpassword=***"},
      {"host=db\vsslpassword=secret", "host=db\vsslpassword=***"},
      {"host=db oops password=secret", "host=db oops password=***"},
      {"oops password = secret x=1", "oops password = *** x=1"},
      // Nothing to hide: unchanged.
      {"no-scheme-here", "no-scheme-here"},
      {"postgresql://u@db/app?passwordx=1&xpassword=2",
       "postgresql://u@db/app?passwordx=1&xpassword=2"},
      {"postgresql://u@db.internal:5432/app", "postgresql://u@db.internal:5432/app"},
      {"postgresql://u:pw@db/app?user=a:b@c", "postgresql://u:***@db/app?user=a:b@c"},
      {"postgresql://u@db/app?application_name=a:b@c",
       "postgresql://u@db/app?application_name=a:b@c"},
      {"postgresql://db:5432/app?user=a@b", "postgresql://db:5432/app?user=a@b"},
      {"postgresql://db/app?sslmode=require&user=a@b&password=s@c",
       "postgresql://db/app?sslmode=require&user=a@b&password=***"},
      {"postgresql://h1:5432,[::1]:5433,h3/app?user=a:b@c",
       "postgresql://h1:5432,[::1]:5433,h3/app?user=a:b@c"},
      {"postgresql://u@db/app", "postgresql://u@db/app"},
      {"postgresql://db/app", "postgresql://db/app"},
      {"file:///var/lib/a:b@c", "file:///var/lib/a:b@c"},
      {"file:convs?durability=durable", "file:convs?durability=durable"},
      {"memory:", "memory:"},
      {"host=db user=u", "host=db user=u"},
      {"", ""},
  };
  for (const auto& [url, shown] : cases) EXPECT_EQ(redact_store_url(url), shown) << url;
}

// docs/store.md: messages name the database, never the password.
TEST(OpenStore, ErrorsNeverShowAPassword) {
  for (const std::string& url :
       {std::string("postgresql://u:s3cret@127.0.0.1:1/db?pool_size=0"),
        std::string("postgresql://u@127.0.0.1:1/db?password=s3cret&tombstone_ttl=x"),
        std::string("sqlite:x.db?password=s3cret"), std::string("file:x?password=s3cret")}) {
    const std::string error = error_of(url);
    EXPECT_EQ(error.find("s3cret"), std::string::npos) << error;
    EXPECT_NE(error.find(redact_store_url(url)), std::string::npos) << error;
  }
}

// Nor does a malformed one: a keyword string after the scheme, words after
// a URL (which libpq reads into the host or the database name and quotes),
// a URL after a space.
TEST(OpenStore, ErrorsNeverShowAPasswordOfAMalformedUrl) {
  for (const std::string& url :
       {std::string("postgresql:host=db password=s3cret"), std::string("postgres:password=s3cret"),
        std::string("postgresql:host=db password = 's3 cret'"),
        std::string("postgresql://u@127.0.0.1:1/db password=s3cret"),
        std::string("postgresql://u@127.0.0.1:1/db?sslmode=disable sslpassword=s3cret"),
        std::string(" postgresql://u:s3cret@db/app"), std::string("\tfile:x?password=s3cret"),
        // Quotes and escapes that would fold it into another value.
        std::string("postgresql://u@127.0.0.1:1/db?application_name='x password=s3cret"),
        std::string("postgresql://u@127.0.0.1:1/db?sslmode=disable\\ password=s3cret"),
        std::string("postgresql:host='db password=s3cret"), std::string("host='db password=s3cret"),
        std::string("host=db\\ password=s3cret")}) {
    std::string error = "(no error)";
    try {
      open_store(url);
    } catch (const std::exception& e) {  // bad_url's invalid_argument, libpq's StoreError
      error = e.what();
    }
    EXPECT_NE(error, "(no error)") << url;
    EXPECT_EQ(error.find("s3"), std::string::npos) << error;
    EXPECT_EQ(redact_store_url(url).find("s3"), std::string::npos) << redact_store_url(url);
  }
}

// libpq takes everything before the '@' for the user info, '?', '#' and a
// second '@' included (and a '/' is a password left unencoded): all of it
// is hidden, and stube's options are still found in the query after the
// host (pool_size=0 is refused before any connection is tried).
TEST(OpenStore, ErrorsNeverShowAPasswordWithUrlCharacters) {
  for (const std::string password :
       {"s3?cret", "s3#cret", "s3@cret", "s3/cret", "s3?c@r/e#t", "s3/c?ret", "s3?c/ret"}) {
    const std::string url = "postgresql://u:" + password + "@127.0.0.1:1/db?pool_size=0";
    const std::string error = error_of(url);
    EXPECT_EQ(error.find(password), std::string::npos) << error;
    EXPECT_EQ(error.find("cret"), std::string::npos) << error;
    EXPECT_NE(error.find("postgresql://u:***@127.0.0.1:1/db?pool_size=0"), std::string::npos)
        << error;
    EXPECT_NE(error.find("pool_size needs at least 1 connection"), std::string::npos) << error;
  }
}

// libpq's own messages may quote the password: the token it cannot decode,
// the whole URI it cannot parse, or the pieces of a password with an
// unencoded '/' (read as the port, the path). The password becomes "***";
// libpq's reason stays. No server is needed: each fails before connecting
// or at a closed port.
TEST(OpenStore, LibpqMessagesNeverShowAPassword) {
  struct Case {
    std::string url;
    std::string reason;                // libpq's, kept
    std::vector<std::string> secrets;  // never shown
  };
  const std::vector<Case> cases = {
      {"postgresql://app:50%off@127.0.0.1:1/app",
       "invalid percent-encoded token: \"***\"",
       {"50%off", "off"}},
      {"postgresql://app:50%off@127.0.0.1:1/app?pool_size=2&sslmode=disable",
       "invalid percent-encoded token: \"***\"",
       {"50%off", "off"}},
      {"postgresql://app:s3cret@127.0.0.1:1/app?password=50%off",
       "invalid percent-encoded token: \"***\"",
       {"50%off", "off", "s3cret"}},
      {"postgresql://app:s3cret@[::1/app", "postgresql://app:***@[::1/app", {"s3cret"}},
      {"postgresql://app:s3/cret@127.0.0.1:1/app",
       "invalid integer value \"***\" for connection option \"port\"",
       {"s3", "cret"}},
      // libpq reads host app, port pw1 and a query it cannot parse, quoting
      // pieces of the password.
      {"postgresql://app:pw1/pw2?pw3@127.0.0.1:1/app",
       "missing key/value separator \"=\" in URI query parameter: \"***@127.0.0.1:1/app\"",
       {"pw1", "pw2", "pw3"}},
      // (postgres_store passes pool_size on: libpq then finds a '=' there)
      {"postgresql://app:pw1?pw2/pw3@127.0.0.1:1/app?pool_size=2",
       "URI query parameter: \"***/***@127.0.0.1:1/app",
       {"pw1", "pw2", "pw3"}},
  };
  // What libpq cannot parse is a std::invalid_argument, what it finds wrong
  // when it connects (a port that is no number) a StoreError.
  const auto refusal = [](const std::function<void()>& open) -> std::string {
    try {
      open();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "(nothing thrown)";
  };
  for (const Case& c : cases) {
    for (const std::string& error :
         {refusal([&] { open_store(c.url); }), refusal([&] { open_existing_store(c.url); }),
          refusal([&] { postgres_store(c.url); })}) {
      for (const std::string& secret : c.secrets) {
        EXPECT_EQ(error.find(secret), std::string::npos) << c.url << ": " << error;
      }
      EXPECT_NE(error.find(c.reason), std::string::npos) << c.url << ": " << error;
    }
  }
}

TEST(OpenStore, FileAndSqliteTakeACreateOption) {
  ScratchDir dir;
  const std::string convs = (dir.path() / "convs").string();
  const std::string db = (dir.path() / "convs.db").string();
  for (const std::string& url :
       {"file:" + convs + "?create=false", "file:" + convs + "?durability=durable&create=false",
        "sqlite:" + db + "?create=false", "sqlite://" + db + "?synchronous=normal&create=false"}) {
    const std::string error = missing_store_error([&] { open_store(url); });
    EXPECT_TRUE(contains(error, " does not exist; nothing was created")) << url << ": " << error;
  }
  EXPECT_TRUE(file_names(dir.path()).empty());
  open_store("file:" + convs + "?create=true")->save(conv::make("cv-1"));
  open_store("sqlite:" + db + "?create=true&busy_timeout=100")->save(conv::make("cv-1"));
  EXPECT_EQ(open_store("file:" + convs + "?create=false")->load_all().size(), 1u);
  EXPECT_EQ(open_store("sqlite:" + db + "?create=false")->load_all().size(), 1u);

  for (const std::string& bad : {"file:" + convs + "?create=no", "sqlite:" + db + "?create"}) {
    const std::string error = error_of(bad);
    EXPECT_TRUE(contains(error, "for create (true or false) in store URL \"" + bad + "\""))
        << error;
  }
  // Unknown options are still refused by name.
  EXPECT_TRUE(contains(error_of("file:" + convs + "?create=false&created=false"),
                       "unknown option \"created=false\""));
  EXPECT_TRUE(
      contains(error_of("sqlite:" + db + "?creat=false"), "unknown option \"creat=false\""));
}

TEST(OpenExistingStore, MemoryHasNothingToFind) {
  auto store = open_existing_store("memory:");
  const edn::Value c = conv::make("cv-1");
  EXPECT_EQ(store->save(c), c);
  EXPECT_TRUE(store->load_all().empty());
}

// Nothing is created, whatever the URL says: create=true is overridden.
TEST(OpenExistingStore, AMissingFileOrSqliteStoreIsAMissingStoreAndIsNotCreated) {
  ScratchDir dir;
  const std::string convs = (dir.path() / "a" / "convs").string();
  const std::string db = (dir.path() / "convs.db").string();
  for (const std::string& url :
       {"file:" + convs, "file://" + convs + "?durability=durable",
        "file:" + convs + "?create=true", "sqlite:" + db, "sqlite://" + db + "?synchronous=normal",
        "sqlite:" + db + "?create=true"}) {
    const std::string error = missing_store_error([&] { open_existing_store(url); });
    EXPECT_TRUE(contains(error, " does not exist; nothing was created")) << url << ": " << error;
    EXPECT_TRUE(file_names(dir.path()).empty()) << url;
  }
  EXPECT_THROW(open_existing_store("file:" + convs), MissingStore);
}

TEST(OpenExistingStore, AnExistingStoreLoadsAndSaves) {
  ScratchDir dir;
  for (const std::string& url : {"file:" + (dir.path() / "convs").string(),
                                 "sqlite:" + (dir.path() / "convs.db").string()}) {
    open_store(url)->save(conv::make("cv-1"));
    {
      auto store = open_existing_store(url);
      EXPECT_EQ(store->load_all().size(), 1u) << url;
      store->save(conv::make("cv-2"));
    }
    const ConversationMap loaded = open_store(url)->load_all();
    EXPECT_EQ(loaded.size(), 2u) << url;
    EXPECT_TRUE(loaded.contains("cv-2")) << url;
  }
}

// The same grammar, and errors name the URL as given (PostgreSQL's options
// are checked before any connection is tried: no server needed).
TEST(OpenExistingStore, BadUrlsNameTheUrlAsGiven) {
  const auto existing_error = [](const std::string& url) {
    return error_of(url, open_existing_store);
  };
  for (const std::string& bad :
       {std::string("file:/tmp/x?fsync=1"), std::string("sqlite:x.db?synchronous=off"),
        std::string("postgresql://stube@127.0.0.1:1/stube?pool_size=0"),
        std::string("postgresql://stube@127.0.0.1:1/stube?create_schema=no"),
        std::string("nosuch:x"), std::string("memory:x")}) {
    const std::string error = existing_error(bad);
    EXPECT_TRUE(error.starts_with("open_existing_store: ")) << error;
    EXPECT_TRUE(contains(error, "in store URL \"" + bad + "\"")) << error;
  }
  const std::string hidden =
      existing_error("postgresql://u:s3cret@127.0.0.1:1/db?tombstone_ttl=x&password=s3cret");
  EXPECT_FALSE(contains(hidden, "s3cret")) << hidden;
  EXPECT_TRUE(
      contains(hidden, "\"postgresql://u:***@127.0.0.1:1/db?tombstone_ttl=x&password=***\""))
      << hidden;
}

TEST(OpenStore, AnUnopenableDirectoryIsAStoreError) {
  ScratchDir dir;
  { std::ofstream(dir.path() / "plain-file") << "x"; }
  EXPECT_THROW(open_store("file:" + (dir.path() / "plain-file").string()), StoreError);
}

}  // namespace
}  // namespace stube::test
