// stube-store, run as a separate process over file: stores built here:
// every command, its output and exit status, bad records and error cases.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "store/sqlite_support.hpp"
#include "store/support.hpp"
#include "stube/conversation.hpp"
#include "stube/sqlite_store.hpp"
#include "stube/store.hpp"
#include "tools/run_tool.hpp"

namespace stube::test {
namespace {

namespace fs = std::filesystem;
using edn::kw;
using edn::Value;

// A conversation whose stack top is an instance of `component`, touched at
// `touched` seconds after the epoch.
Value conversation(std::string_view cid, std::string_view component, std::int64_t touched) {
  Value c = conv::make(cid, edn::Instant{touched - 100, 0});
  c = conv::put_instance(c, "ix-1",
                         edn::map({{kw("instance/id"), Value("ix-1")},
                                   {kw("instance/type"), kw(component)},
                                   {kw("count"), Value(3)}}));
  c = conv::with_stack(c, edn::vec({Value("ix-1")}));
  return conv::touch(c, edn::Instant{touched, 0});
}

void write_file(const fs::path& file, std::string_view text) {
  std::ofstream(file, std::ios::binary) << text;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

class StoreTool : public ::testing::Test {
 protected:
  std::string url() const { return "file:" + dir_.path().string(); }
  fs::path file(std::string_view cid) const { return dir_.path() / (std::string(cid) + ".edn"); }
  // Two good conversations: cv-a (touched first) and cv-b.
  void save_good() {
    auto store = file_store(dir_.path());
    store->save(conversation("cv-b", "demo/wizard", 1700000200));
    store->save(conversation("cv-a", "demo/counter", 1700000100));
  }
  // Bad records of every kind verify reports.
  void write_bad() {
    write_file(file("cv-corrupt"), "{:conv/id \"cv-corrupt\"\n :conv/stack [}");
    write_file(file("cv-mismatch"), edn::write(conversation("cv-other", "demo/x", 1700000300)));
    write_file(file("cv-empty"), "");
    write_file(file("cv-vector"), "[1 2 3]");
    write_file(file("cv-shape"), "{:conv/id \"cv-shape\"}");
  }

  ScratchDir dir_{"store-tool"};
};

// --- ls ---------------------------------------------------------------------------

TEST_F(StoreTool, LsListsEveryRecordSortedUnderAHeader) {
  save_good();
  write_bad();
  const ToolRun r = stube_store({"ls", url()});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto out = lines(r.out);
  ASSERT_EQ(out.size(), 8u) << r.out;
  EXPECT_TRUE(out[0].starts_with("CID")) << out[0];
  for (const char* column : {"BYTES", "TOUCHED", "TOP", "PRINTABLE"}) {
    EXPECT_TRUE(contains(out[0], column)) << out[0];
  }
  const std::string size_a = std::to_string(fs::file_size(file("cv-a")));
  EXPECT_TRUE(out[1].starts_with("cv-a ")) << out[1];
  EXPECT_TRUE(contains(out[1], " " + size_a + " ")) << out[1];
  EXPECT_TRUE(contains(out[1], "2023-11-14T22:15:00")) << out[1];  // 1700000100
  EXPECT_TRUE(contains(out[1], ":demo/counter")) << out[1];
  EXPECT_TRUE(out[1].ends_with("yes")) << out[1];
  EXPECT_TRUE(out[2].starts_with("cv-b ") && contains(out[2], ":demo/wizard")) << out[2];
  EXPECT_TRUE(out[3].starts_with("cv-corrupt ") && out[3].ends_with("unreadable")) << out[3];
  EXPECT_TRUE(out[4].starts_with("cv-empty ") && contains(out[4], " 0 ")) << out[4];
}

TEST_F(StoreTool, LsMarksALivePlaceholderAsNotPrintable) {
  // What Clojure's pr-str writes for a live object: data, but it cannot resume.
  const Value c = conversation("cv-live", "demo/flow", 1700000000)
                      .assoc(kw("flow"), Value::tagged("object", edn::vec({"Frame", "0x1"})));
  write_file(file("cv-live"), edn::write(c));
  const ToolRun r = stube_store({"ls", url()});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(lines(r.out).size(), 2u) << r.out;
  EXPECT_TRUE(lines(r.out)[1].ends_with(" no")) << r.out;
}

// The shape check does not look inside instances, so verify passes such a
// record: ls must list it too (it used to die naming no record).
TEST_F(StoreTool, LsShowsNoTopForATopInstanceThatIsNotAMap) {
  save_good();
  const Value odd = conv::with_stack(
      conv::put_instance(conv::make("cv-odd", edn::Instant{1700000000, 0}), "ix-1", Value(7)),
      edn::vec({Value("ix-1")}));
  write_file(file("cv-odd"), edn::write(odd));
  EXPECT_EQ(stube_store({"verify", url()}).status, 0);
  const ToolRun r = stube_store({"ls", url()});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto out = lines(r.out);
  ASSERT_EQ(out.size(), 4u) << r.out;
  EXPECT_TRUE(out[3].starts_with("cv-odd ") && contains(out[3], "  -  ") && out[3].ends_with("yes"))
      << out[3];
}

TEST_F(StoreTool, LsOfAnEmptyStoreIsTheHeader) {
  const ToolRun r = stube_store({"ls", url()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lines(r.out).size(), 1u) << r.out;
}

// --- show -------------------------------------------------------------------------

TEST_F(StoreTool, ShowPrettyPrintsTheConversation) {
  save_good();
  const ToolRun r = stube_store({"show", url(), "cv-a"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_GT(lines(r.out).size(), 3u) << "not indented: " << r.out;
  EXPECT_EQ(edn::read(r.out), conversation("cv-a", "demo/counter", 1700000100));
}

TEST_F(StoreTool, ShowOfAnUnknownCidFails) {
  save_good();
  const ToolRun r = stube_store({"show", url(), "cv-nope"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "no conversation \"cv-nope\"")) << r.err;
}

TEST_F(StoreTool, ShowOfAnUnreadableRecordSaysWhy) {
  write_bad();
  const ToolRun r = stube_store({"show", url(), "cv-corrupt"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "cv-corrupt:2:") && contains(r.err, "not valid EDN")) << r.err;
}

// Usage errors quote the words as typed: a URL's password is hidden there
// too, as in every other message of the tool.
TEST(StoreToolUsage, UsageErrorsHideTheURLsPasswords) {
  const std::string url = "postgresql://u:s3cret@127.0.0.1:1/db";
  const std::vector<std::vector<std::string>> mistakes = {
      {url, "ls"},                                           // the URL where the command goes
      {"ls", url, "postgresql://u:s3cret2@127.0.0.1:1/db"},  // one word too many
      {"ls", "file:/nonexistent", "--bogus=" + url},         // an unknown option's value
  };
  for (const auto& args : mistakes) {
    const ToolRun r = stube_store(args);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_FALSE(contains(r.err, "s3cret")) << r.err;
    EXPECT_TRUE(contains(r.err, "u:***@127.0.0.1:1/db")) << r.err;
  }
}

// What libpq cannot read in a postgresql: URL is a usage error (2) like a
// bad option of stube's own, not a store that failed to open (1).
TEST(StoreToolUsage, AURLLibpqCannotReadIsAUsageError) {
  for (const std::string url :
       {"postgresql://u:pw@127.0.0.1:1/db?sslmod=require", "postgresql://u:p%zzw@127.0.0.1:1/db"}) {
    const ToolRun r = stube_store({"ls", url});
    EXPECT_EQ(r.status, 2) << url << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "not one libpq reads")) << r.err;
  }
}

// docs/store.md: a value libpq checks only when it connects is reported by
// the connection attempt (1), not as a usage error like the ones above.
TEST(StoreToolUsage, AValueLibpqChecksWhenConnectingIsAStoreFailure) {
  for (const std::string url :
       {"postgresql://u@127.0.0.1:1/db?sslmode=bogus", "postgresql://u@127.0.0.1:99999999/db"}) {
    const ToolRun r = stube_store({"ls", url});
    EXPECT_EQ(r.status, 1) << url << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "cannot connect")) << r.err;
  }
}

TEST_F(StoreTool, ShowOfAnInvalidCidIsAUsageError) {
  save_good();
  const ToolRun r = stube_store({"show", url(), "../etc/passwd"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "invalid conversation id")) << r.err;
}

// URL and CID swapped: the URL is quoted as the cid with its password
// hidden (also where the quote is cut short), and the message says so.
TEST(StoreToolUsage, ShowOfAURLAsTheCidSaysSoAndHidesThePassword) {
  const std::string url = "postgresql://u:s3cret@127.0.0.1:1/db";
  const ToolRun r = stube_store({"show", "cv-abc", url});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_FALSE(contains(r.err, "s3cret")) << r.err;
  EXPECT_TRUE(contains(r.err, "u:***@127.0.0.1:1/db")) << r.err;
  EXPECT_TRUE(contains(r.err, "looks like a store URL: the order is show URL CID")) << r.err;
  // quote_id cuts a long id at 140 bytes, here in the middle of the password.
  const std::string long_url =
      "postgresql://" + std::string(122, 'u') + ":s3cretpassword@127.0.0.1:1/db";
  const ToolRun cut = stube_store({"show", "cv-abc", long_url});
  EXPECT_EQ(cut.status, 2) << cut.err;
  EXPECT_FALSE(contains(cut.err, "s3c")) << cut.err;
}

// --- verify -----------------------------------------------------------------------

TEST_F(StoreTool, VerifyOfAGoodStoreSucceeds) {
  save_good();
  const ToolRun r = stube_store({"verify", url()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "2 ok, 0 unreadable\n");
}

TEST_F(StoreTool, VerifyReportsEveryBadRecordWithItsReason) {
  save_good();
  write_bad();
  write_file(dir_.path() / "notes.txt", "not a record");  // not *.edn: ignored
  const ToolRun r = stube_store({"verify", url()});
  EXPECT_EQ(r.status, 1);
  const auto out = lines(r.out);
  ASSERT_EQ(out.size(), 6u) << r.out;
  EXPECT_TRUE(out[0].starts_with("cv-corrupt:2:") && contains(out[0], "not valid EDN")) << out[0];
  EXPECT_TRUE(out[1].starts_with("cv-empty:1:1: not valid EDN")) << out[1];
  EXPECT_TRUE(out[2].starts_with("cv-mismatch: :conv/id \"cv-other\" does not match")) << out[2];
  EXPECT_TRUE(out[3].starts_with("cv-shape: ") && contains(out[3], ":conv/instances is missing"))
      << out[3];
  EXPECT_EQ(out[4], "cv-vector: not a map but a vector");
  EXPECT_EQ(out[5], "2 ok, 5 unreadable");
}

TEST_F(StoreTool, VerifyReportsAFileNameThatIsNotACid) {
  save_good();
  write_file(dir_.path() / "bad name.edn", "{}");
  const ToolRun r = stube_store({"verify", url()});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.out, "\"bad name\": not a valid conversation id")) << r.out;
  EXPECT_TRUE(contains(r.out, "2 ok, 1 unreadable")) << r.out;
}

// A file name may hold any byte: one holding a line break or a terminal
// escape is printed escaped, on its own line.
TEST_F(StoreTool, NamesWithControlCharactersArePrintedEscaped) {
  save_good();
  write_file(dir_.path() / "nl\nx\x1b[31m.edn", "{}");
  for (const char* command : {"verify", "ls"}) {
    const ToolRun r = stube_store({command, url()});
    EXPECT_TRUE(contains(r.out, "\"nl\\nx\\u001B[31m\"")) << command << ": " << r.out;
    EXPECT_FALSE(contains(r.out, "\x1b")) << command << ": " << r.out;
    EXPECT_FALSE(contains(r.out, "nl\n")) << command << ": " << r.out;
  }
}

// The component column comes from the record too: a crafted or damaged
// :instance/type sent a raw escape sequence to the terminal.
TEST_F(StoreTool, LsShowsATopTypeThatIsNoKeywordEscaped) {
  const Value odd =
      conv::with_stack(conv::put_instance(conv::make("cv-esc", edn::Instant{1700000000, 0}), "ix-1",
                                          edn::map({{kw("instance/type"), Value("\x1b[2J")}})),
                       edn::vec({Value("ix-1")}));
  write_file(file("cv-esc"), edn::write(odd));
  // A keyword may hold a C1 control character: U+009B is a terminal's CSI.
  const Value c1 =
      conv::with_stack(conv::put_instance(conv::make("cv-c1", edn::Instant{1700000000, 0}), "ix-1",
                                          edn::map({{kw("instance/type"), kw("demo/x\u009B2J")}})),
                       edn::vec({Value("ix-1")}));
  write_file(file("cv-c1"), edn::write(c1));
  const ToolRun r = stube_store({"ls", url()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "\"\\u001B[2J\"")) << r.out;
  EXPECT_TRUE(contains(r.out, "\":demo/x\\u009B2J\"")) << r.out;
  EXPECT_FALSE(contains(r.out, "\x1b")) << r.out;
  EXPECT_FALSE(contains(r.out, "\u009B")) << r.out;
}

// Reading a store writes nothing to it: a writer's left-over temporary file
// stays for the store's next writer to clear (verify removed it unseen, and
// on a read-only copy warned that it could not).
TEST_F(StoreTool, ReadingCommandsLeaveLeftOverTemporaryFilesAlone) {
  save_good();
  const fs::path temp = dir_.path() / ".cv-q.edn.999999999.3.tmp";
  write_file(temp, "{:half");
  fs::last_write_time(temp, fs::file_time_type::clock::now() - std::chrono::hours(1));
  for (const char* command : {"ls", "verify", "stats"}) {
    const ToolRun r = stube_store({command, url()});
    EXPECT_EQ(r.status, 0) << command << ": " << r.err;
    EXPECT_TRUE(fs::exists(temp)) << command;
  }
}

// An *.edn entry that cannot be read at all is one bad record among the
// others, not a failure of the whole store: verify still checks the rest.
TEST_F(StoreTool, VerifyNamesARecordThatCannotBeReadAndChecksTheRest) {
  save_good();
  fs::create_directory(file("cv-dir"));  // *.edn, but not a regular file
  const ToolRun r = stube_store({"verify", url()});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.out + r.err, "cv-dir: not a regular file")) << r.out << r.err;
  EXPECT_TRUE(contains(r.out + r.err, "2 ok, 1 unreadable")) << r.out << r.err;
  const ToolRun ls = stube_store({"ls", url()});
  EXPECT_EQ(ls.status, 0) << ls.err;
  EXPECT_TRUE(contains(ls.out, "cv-a")) << ls.out;
}

// --- stats ------------------------------------------------------------------------

TEST_F(StoreTool, StatsCountsSizesAndTheOldest) {
  save_good();
  write_bad();
  write_file(file("cv-huge"), std::string(5000, '['));
  std::uintmax_t total = 0;
  for (const auto& e : fs::directory_iterator(dir_.path())) total += e.file_size();
  const ToolRun r = stube_store({"stats", url()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "conversations: 2\n"
            "unreadable: 6\n"
            "total bytes: " +
                std::to_string(total) +
                "\n"
                "largest: cv-huge (5000 bytes)\n"
                "oldest touched: cv-a (2023-11-14T22:15:00.000-00:00)\n");
}

// A record the store could not read has no size the tool knows: ls shows
// "-", and stats leaves it out of the total and the largest, and says so.
// Counted as 0 bytes, a stray huge file would hide where it matters most.
TEST_F(StoreTool, ARecordThatCannotBeReadHasNoSize) {
  save_good();
  fs::create_directory(file("cv-dir"));
  write_file(file("cv-huge"), "");
  fs::resize_file(file("cv-huge"), (std::uintmax_t{1} << 30) + 1);  // sparse, over the limit
  const ToolRun ls = stube_store({"ls", url()});
  ASSERT_EQ(ls.status, 0) << ls.err;
  const auto out = lines(ls.out);
  ASSERT_EQ(out.size(), 5u) << ls.out;
  for (const std::size_t i : {3u, 4u}) {
    std::istringstream row(out[i]);
    std::string cid, bytes;
    row >> cid >> bytes;
    EXPECT_EQ(bytes, "-") << out[i];
    EXPECT_TRUE(out[i].ends_with("unreadable")) << out[i];
  }
  const std::uintmax_t a = fs::file_size(file("cv-a"));
  const std::uintmax_t b = fs::file_size(file("cv-b"));
  const ToolRun stats = stube_store({"stats", url()});
  ASSERT_EQ(stats.status, 0) << stats.err;
  EXPECT_EQ(stats.out,
            "conversations: 2\n"
            "unreadable: 2\n"
            "total bytes: " +
                std::to_string(a + b) +
                " (2 unreadable records of unknown size left out)\n"
                "largest: " +
                (a >= b ? "cv-a (" + std::to_string(a) : "cv-b (" + std::to_string(b)) +
                " bytes)\n"
                "oldest touched: cv-a (2023-11-14T22:15:00.000-00:00)\n");
}

TEST_F(StoreTool, StatsOfAnEmptyStore) {
  const ToolRun r = stube_store({"stats", url()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "conversations: 0\nunreadable: 0\ntotal bytes: 0\nlargest: -\noldest touched: -\n");
}

// --- migrate ----------------------------------------------------------------------

class StoreMigrate : public StoreTool {
 protected:
  std::string target_url() const { return "file:" + target_.path().string(); }
  ScratchDir target_{"store-tool-target"};
};

TEST_F(StoreMigrate, CopiesEveryConversationEqual) {
  auto source = file_store(dir_.path());
  for (unsigned seed = 0; seed < 20; ++seed) {
    source->save(varied_conversation("cv-" + std::to_string(seed), seed));
  }
  const ToolRun r = stube_store({"migrate", url(), target_url()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "20 copied, 0 kept (newer or unreadable in TO), 0 skipped (unreadable), 0 failed\n");
  EXPECT_FALSE(contains(r.err, "\r")) << "a progress bar on a pipe: " << r.err;
  EXPECT_EQ(file_store(target_.path())->load_all(), source->load_all());
}

TEST_F(StoreMigrate, DrawsAProgressBarOnlyOnATerminal) {
  save_good();
  const ToolRun r = stube_store({"migrate", url(), target_url()}, Stderr::terminal);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "\r[####################....................] 1/2")) << r.err;
  EXPECT_TRUE(contains(r.err, "\r[########################################] 2/2")) << r.err;
  EXPECT_EQ(
      r.out,
      "2 copied, 0 kept (newer or unreadable in TO), 0 skipped (unreadable), 0 failed\n");  // stdout
                                                                                            // stays
                                                                                            // clean
}

TEST_F(StoreMigrate, ReRunningOverwritesAndCopiesTheSame) {
  save_good();
  ASSERT_EQ(stube_store({"migrate", url(), target_url()}).status, 0);
  auto source = file_store(dir_.path());
  source->save(conversation("cv-a", "demo/changed", 1700009999));
  const ToolRun again = stube_store({"migrate", url(), target_url()});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.out,
            "2 copied, 0 kept (newer or unreadable in TO), 0 skipped (unreadable), 0 failed\n");
  const ConversationMap copied = file_store(target_.path())->load_all();
  EXPECT_EQ(copied, source->load_all());
  EXPECT_EQ(conv::touched(copied.at("cv-a")), (edn::Instant{1700009999, 0}));
}

// A server that ran on TO since the last migration touched its copies
// later: migrating again keeps those (named, exit 1) rather than rolling
// their users back, unless --overwrite says to.
TEST_F(StoreMigrate, KeepsWhatTheTargetTouchedLaterUnlessToldToOverwrite) {
  save_good();
  ASSERT_EQ(stube_store({"migrate", url(), target_url()}).status, 0);
  const edn::Value newer = conversation("cv-a", "demo/newer", 1800000000);
  file_store(target_.path())->save(newer);
  const ToolRun again = stube_store({"migrate", url(), target_url()});
  EXPECT_EQ(again.status, 1);
  EXPECT_EQ(again.out,
            "1 copied, 1 kept (newer or unreadable in TO), 0 skipped (unreadable), 0 failed\n");
  EXPECT_TRUE(
      contains(again.err, "kept cv-a: TO's copy was touched later (2027-01-15T08:00:00.000-00:00)"))
      << again.err;
  EXPECT_TRUE(contains(again.err, "--overwrite replaces it")) << again.err;
  EXPECT_EQ(file_store(target_.path())->load_all().at("cv-a"), newer);

  const ToolRun forced = stube_store({"migrate", "--overwrite", url(), target_url()});
  ASSERT_EQ(forced.status, 0) << forced.err;
  EXPECT_EQ(forced.out,
            "2 copied, 0 kept (newer or unreadable in TO), 0 skipped (unreadable), 0 failed\n");
  EXPECT_EQ(file_store(target_.path())->load_all(), file_store(dir_.path())->load_all());
}

TEST_F(StoreMigrate, SkipsUnreadableRecordsAndSaysSo) {
  save_good();
  write_bad();
  const ToolRun r = stube_store({"migrate", url(), target_url()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out,
            "2 copied, 0 kept (newer or unreadable in TO), 5 skipped (unreadable), 0 failed\n");
  EXPECT_TRUE(contains(r.err, "skipped cv-corrupt:2:")) << r.err;
  EXPECT_TRUE(contains(r.err, "skipped cv-mismatch: ")) << r.err;
  EXPECT_EQ(file_names(target_.path()), (std::vector<std::string>{"cv-a.edn", "cv-b.edn"}));
}

TEST_F(StoreMigrate, ASaveThatFailsIsCountedAndNamed) {
  save_good();
  fs::create_directories(target_.path() / "cv-b.edn" / "occupied");  // rename cannot replace it
  // Without --overwrite it is kept, as a record TO cannot read (below).
  const ToolRun r = stube_store({"migrate", "--overwrite", url(), target_url()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out,
            "1 copied, 0 kept (newer or unreadable in TO), 0 skipped (unreadable), 1 failed\n");
  EXPECT_TRUE(contains(r.err, "failed cv-b: ") && contains(r.err, "rename")) << r.err;
}

// A record TO holds and cannot read may be the later version, damaged:
// migrate keeps it and says so, and replaces it only with --overwrite.
TEST_F(StoreMigrate, ARecordTheTargetCannotReadIsKeptUnlessOverwritten) {
  save_good();
  const fs::path damaged = target_.path() / "cv-a.edn";
  {
    std::ofstream out(damaged);
    out << "garbage{";
  }
  const ToolRun r = stube_store({"migrate", url(), target_url()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out,
            "1 copied, 1 kept (newer or unreadable in TO), 0 skipped (unreadable), 0 failed\n");
  EXPECT_TRUE(contains(r.err, "kept cv-a: TO's record of it cannot be read (not valid EDN"))
      << r.err;
  EXPECT_EQ(slurp(damaged), "garbage{");
  const ToolRun forced = stube_store({"migrate", "--overwrite", url(), target_url()});
  ASSERT_EQ(forced.status, 0) << forced.err;
  EXPECT_EQ(file_store(target_.path())->load_all(), file_store(dir_.path())->load_all());
}

// Output that cannot be written is an error that says so, not a silent
// exit status (verify's 1 would read as "bad records").
TEST_F(StoreMigrate, OutputThatCannotBeWrittenIsReported) {
  save_good();
  for (const std::vector<std::string>& args : {std::vector<std::string>{"ls", url()},
                                               {"verify", url()},
                                               {"stats", url()},
                                               {"migrate", url(), target_url()}}) {
    const ToolRun r = stube_store(args, Stderr::file, "/dev/full");
    EXPECT_EQ(r.status, 1) << args[0];
    EXPECT_TRUE(contains(r.err, "stube-store: cannot write the output"))
        << args[0] << ": " << r.err;
  }
  // The reason, also for output too large to wait for the last flush, and
  // for the help.
  for (int i = 0; i < 300; ++i) {
    const std::string cid = "cv-many-" + std::to_string(i);
    write_file(file(cid), edn::write(conversation(cid, "demo/counter", 1700000000)));
    write_file(file("cv-bad-" + std::to_string(i)), "{:conv/id");
  }
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"ls", url()}, {"verify", url()}, {"--help"}, {"ls", "--help"}}) {
    const ToolRun r = stube_store(args, Stderr::file, "/dev/full");
    EXPECT_EQ(r.status, 1) << args[0];
    EXPECT_TRUE(contains(r.err, "No space left on device")) << args[0] << ": " << r.err;
  }
}

TEST_F(StoreMigrate, CreatesTheTarget) {
  save_good();
  const fs::path fresh = target_.path() / "new" / "convs";
  const ToolRun r = stube_store({"migrate", url(), "file:" + fresh.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(file_store(fresh)->load_all().size(), 2u);
}

// create=false in TO forbids creating it: the message names TO and says so
// (not that stube-store creates stores only as migrate's target, which TO is).
TEST_F(StoreMigrate, ATargetThatMustExistAndDoesNotIsNamed) {
  save_good();
  const fs::path missing = target_.path() / "nope";
  for (const std::string& to : {"file:" + missing.string() + "?create=false",
                                "file://" + missing.string() + "?durability=durable&create=false",
                                "sqlite:" + missing.string() + ".db?create=false"}) {
    const ToolRun r = stube_store({"migrate", url(), to});
    EXPECT_EQ(r.status, 1) << to;
    EXPECT_EQ(r.out, "") << to;
    EXPECT_TRUE(contains(r.err, "TO " + to +
                                    " is not an existing store, and its create=false forbids "
                                    "creating one (without create=false, migrate "
                                    "creates it): "))
        << r.err;
    EXPECT_TRUE(contains(r.err, missing.string())) << r.err;
    EXPECT_FALSE(contains(r.err, "only as the target of migrate")) << r.err;
  }
  EXPECT_TRUE(file_names(target_.path()).empty());
  EXPECT_EQ(stube_store({"migrate", url(), "file:" + missing.string() + "?create=true"}).status, 0);
}

TEST_F(StoreMigrate, TheHelpSaysWhenTheTargetIsCreated) {
  const ToolRun r = stube_store({"migrate", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(contains(r.out, "created if missing, unless it says create=false")) << r.out;
}

TEST_F(StoreMigrate, RefusesToCopyAStoreOntoItself) {
  save_good();
  for (const std::string& to : {url(), url() + "/.", url() + "?durability=durable",
                                "file://" + fs::absolute(dir_.path()).string()}) {
    const ToolRun r = stube_store({"migrate", url(), to});
    EXPECT_EQ(r.status, 2) << to;
    EXPECT_TRUE(contains(r.err, "same store")) << r.err;
  }
  EXPECT_EQ(file_names(dir_.path()), (std::vector<std::string>{"cv-a.edn", "cv-b.edn"}));
}

// The same directory under another name (a symbolic link) is found by
// looking, and left as it was: no record added, none bumped.
TEST_F(StoreMigrate, RefusesTheSameStoreUnderAnotherName) {
  save_good();
  const fs::path link = dir_.path().parent_path() / (dir_.path().filename().string() + "-link");
  fs::create_directory_symlink(dir_.path(), link);
  const ToolRun r = stube_store({"migrate", url(), "file:" + link.string()});
  fs::remove(link);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "same store")) << r.err;
  EXPECT_EQ(file_names(dir_.path()), (std::vector<std::string>{"cv-a.edn", "cv-b.edn"}));
}

// Two names of one SQLite file (a hard link) are one store: said so, not
// SQLite's "disk I/O error" from the second name's journal.
TEST_F(StoreMigrate, RefusesTheSameSqliteFileUnderAHardLink) {
  save_good();
  const fs::path db = target_.path() / "a.db", link = target_.path() / "b.db";
  ASSERT_EQ(stube_store({"migrate", url(), "sqlite:" + db.string()}).status, 0);
  fs::create_hard_link(db, link);
  const ToolRun r = stube_store({"migrate", "sqlite:" + db.string(), "sqlite:" + link.string()});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "same store")) << r.err;
}

TEST_F(StoreMigrate, RefusesTheMemoryStoreAsTarget) {
  save_good();
  const ToolRun r = stube_store({"migrate", url(), "memory:"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "keeps nothing")) << r.err;
}

// --- errors -----------------------------------------------------------------------

TEST_F(StoreTool, AMissingDirectoryIsNeverCreated) {
  const fs::path missing = dir_.path() / "nope";
  const std::string where = "file:" + missing.string();
  for (const auto& args : std::vector<std::vector<std::string>>{{"ls", where},
                                                                {"show", where, "cv-a"},
                                                                {"verify", where},
                                                                {"stats", where},
                                                                {"migrate", where, url() + "/x"}}) {
    const ToolRun r = stube_store(args);
    EXPECT_EQ(r.status, 1) << args[0];
    EXPECT_TRUE(contains(r.err, "no store at " + where + ": ")) << r.err;
    EXPECT_TRUE(contains(r.err, missing.string() + " does not exist")) << r.err;
    EXPECT_TRUE(contains(r.err, "(stube-store creates a store only as the target of migrate)"))
        << r.err;
    EXPECT_FALSE(fs::exists(missing)) << args[0] << " created it";
  }
}

// docs/store.md: the read-only commands never create a store. Opening a
// SQLite database as a store would switch it to WAL mode and create the
// table, so another program's database is refused untouched.
TEST_F(StoreTool, ASqliteDatabaseThatIsNotAStoreIsRefusedUntouched) {
  const fs::path other = dir_.path() / "other.db";
  write_file(other, "");  // SQLite reads an empty file as an empty database
  {
    RawSqlite db(other);
    db.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep')");
  }
  const fs::path garbage = dir_.path() / "garbage.db";
  write_file(garbage, "this is not a database, but long enough to have a header......\n");
  for (const char* command : {"ls", "verify", "stats"}) {
    const ToolRun r = stube_store({command, "sqlite:" + other.string()});
    EXPECT_EQ(r.status, 1) << command;
    EXPECT_TRUE(contains(r.err, "no store at sqlite:" + other.string() + ": ")) << r.err;
    EXPECT_TRUE(
        contains(r.err, other.string() + " holds no stube store (no table stube_conversations)"))
        << r.err;
    const ToolRun g = stube_store({command, "sqlite:" + garbage.string()});
    EXPECT_EQ(g.status, 1) << command;
    EXPECT_TRUE(contains(g.err, "cannot open sqlite:" + garbage.string())) << g.err;
  }
  const ToolRun d = stube_store({"ls", "sqlite:" + dir_.path().string()});
  EXPECT_EQ(d.status, 1);
  EXPECT_TRUE(contains(d.err, "no store at sqlite:" + dir_.path().string() + ": ")) << d.err;
  EXPECT_TRUE(contains(d.err, dir_.path().string() + " is a directory")) << d.err;
  EXPECT_EQ(stube_store({"show", "sqlite:" + other.string(), "cv-a"}).status, 1);
  EXPECT_EQ(stube_store({"migrate", "sqlite:" + other.string(), url()}).status, 1);
  // Nor does migrate take it over as its target: it creates a SQLite store
  // only where no file is.
  save_good();
  const ToolRun t = stube_store({"migrate", url(), "sqlite:" + other.string()});
  EXPECT_EQ(t.status, 1);
  EXPECT_TRUE(contains(t.err, "TO sqlite:" + other.string() + " is a file but not a stube store"))
      << t.err;
  RawSqlite db(other);
  EXPECT_EQ(db.one("PRAGMA journal_mode"), "delete");
  EXPECT_EQ(db.one("SELECT count(*) FROM sqlite_master WHERE name LIKE 'stube%'"), "0");
  EXPECT_EQ(db.one("PRAGMA user_version"), "0");
  EXPECT_EQ(db.one("SELECT text FROM notes"), "keep");
}

TEST_F(StoreTool, ASqliteStoreIsRead) {
  const fs::path db = dir_.path() / "convs.db";
  sqlite_store(db)->save(conversation("cv-a", "demo/counter", 1700000100));
  const ToolRun r = stube_store({"ls", "sqlite:" + db.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(lines(r.out).size(), 2u) << r.out;
  EXPECT_TRUE(lines(r.out)[1].starts_with("cv-a ")) << r.out;
}

// show refuses a record of the wrong shape on every backend, as verify
// reports it (a SQLite store's load(cid) reads it without that check).
TEST_F(StoreTool, ShowOfARecordOfTheWrongShapeSaysWhyOnEveryStore) {
  const fs::path db = dir_.path() / "convs.db";
  sqlite_store(db)->save(conversation("cv-shape", "demo/counter", 1700000100));
  RawSqlite(db).exec(
      "UPDATE stube_conversations SET edn = '{:conv/id \"cv-shape\", :conv/stack []}' "
      "WHERE cid = 'cv-shape'");
  write_file(file("cv-shape"), "{:conv/id \"cv-shape\", :conv/stack []}");
  for (const std::string& store : {"sqlite:" + db.string(), url()}) {
    const ToolRun r = stube_store({"show", store, "cv-shape"});
    EXPECT_EQ(r.status, 1) << store << ": " << r.out;
    EXPECT_EQ(r.out, "") << store;
    EXPECT_TRUE(contains(r.err, "is unreadable: cv-shape: ") &&
                contains(r.err, ":conv/instances is missing"))
        << store << ": " << r.err;
  }
}

// stube-store reading a live SQLite store (a server's) and closing its last
// connection must not find the store's file unlocked: it would checkpoint
// and delete the WAL the store still writes to, and saves acknowledged after
// that would be lost on a crash. Making a new database file private used to
// open and close a descriptor of it, which dropped every POSIX lock this
// process held on it, SQLite's included.
TEST_F(StoreTool, ReadingALiveSqliteStoreLeavesItsWal) {
  const fs::path db = dir_.path() / "convs.db";
  const fs::path wal = db.string() + "-wal";
  auto live = sqlite_store(db);
  live->save(conversation("cv-a", "demo/counter", 1700000100));
  ASSERT_TRUE(fs::exists(wal));
  const ToolRun r = stube_store({"stats", "sqlite:" + db.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(wal)) << "stube-store deleted the live store's WAL";
  live->save(conversation("cv-b", "demo/counter", 1700000200));
  EXPECT_EQ(RawSqlite(db).one("SELECT count(*) FROM stube_conversations"), "2");
}

TEST_F(StoreTool, BadUrlsAreUsageErrors) {
  for (const auto& [bad, why] : std::vector<std::pair<std::string, std::string>>{
           {"no-scheme-here", "no scheme"},
           {"ftp://example.org/convs", "unknown scheme \"ftp:\""},
           {"file:", "missing directory"},
           {"file:/tmp?durability=sometimes", "bad value \"sometimes\" for durability"},
           {"file:/tmp?fsync=1", "unknown option"},
           {"memory:/x", "memory: takes no location"}}) {
    for (const char* command : {"ls", "verify", "stats"}) {
      const ToolRun r = stube_store({command, bad});
      EXPECT_EQ(r.status, 2) << command << " " << bad;
      EXPECT_TRUE(contains(r.err, why) && contains(r.err, bad)) << r.err;
    }
  }
}

// docs/store.md: messages name the database, never the password.
TEST_F(StoreTool, ErrorsNeverShowAPassword) {
  const std::string bad_option = "postgresql://u:s3cret@127.0.0.1:1/db?pool_size=0";
  const std::string unreachable = "postgresql://u:s3cret@127.0.0.1:1/db?connect_timeout=5";
  for (const auto& [args, status] : std::vector<std::pair<std::vector<std::string>, int>>{
           {{"ls", bad_option}, 2},
           {{"ls", unreachable}, 1},  // port 1: the connection is refused
           {{"show", unreachable, "cv-a"}, 1},
           {{"migrate", unreachable, unreachable}, 2},
           {{"migrate", url(), "memory:?password=s3cret"}, 2}}) {
    const ToolRun r = stube_store(args);
    EXPECT_EQ(r.status, status) << args[0] << " " << args[1] << ": " << r.err;
    EXPECT_FALSE(contains(r.err, "s3cret")) << r.err;
    EXPECT_TRUE(contains(r.err, "u:***@127.0.0.1:1/db") || contains(r.err, "password=***"))
        << r.err;
  }
}

TEST_F(StoreTool, MissingArgumentsAreUsageErrors) {
  EXPECT_EQ(stube_store({}).status, 2);
  EXPECT_EQ(stube_store({"ls"}).status, 2);
  EXPECT_EQ(stube_store({"show", url()}).status, 2);
  EXPECT_EQ(stube_store({"migrate", url()}).status, 2);
  EXPECT_EQ(stube_store({"frobnicate", url()}).status, 2);
}

// docs/store.md: every message says it is stube-store's and names what was
// wrong.
TEST_F(StoreTool, UsageErrorsNameWhatWasWrong) {
  const ToolRun typo = stube_store({"lss", url()});
  EXPECT_EQ(typo.status, 2);
  EXPECT_TRUE(contains(typo.err, "stube-store: unknown command 'lss'")) << typo.err;
  const ToolRun before = stube_store({"--bogus", "ls", url()});
  EXPECT_EQ(before.status, 2);
  EXPECT_TRUE(contains(before.err, "stube-store: unknown option '--bogus'")) << before.err;
  const ToolRun extra = stube_store({"ls", url(), "-x"});
  EXPECT_EQ(extra.status, 2);
  EXPECT_TRUE(contains(extra.err, "stube-store: ") && contains(extra.err, "-x")) << extra.err;
  const ToolRun width = stube_store({"show", url(), "cv-a", "-w", "-1"});
  EXPECT_EQ(width.status, 2);
  EXPECT_TRUE(contains(width.err, "stube-store: ") && contains(width.err, "width")) << width.err;
  // A word that is no number is called so, not "not in range"; and the
  // help pointed to is the command's, which lists its arguments.
  const ToolRun word = stube_store({"show", url(), "cv-a", "-w", "abc"});
  EXPECT_EQ(word.status, 2);
  EXPECT_TRUE(contains(word.err, "'abc' is not a whole number")) << word.err;
  EXPECT_TRUE(contains(word.err, "(see stube-store show --help)")) << word.err;
  const ToolRun wide = stube_store({"show", url(), "cv-a", "-w", "99999999999999999999"});
  EXPECT_EQ(wide.status, 2);
  EXPECT_TRUE(contains(wide.err, "is out of range (1 to 1048576)")) << wide.err;
  const ToolRun missing = stube_store({"show", url()});
  EXPECT_TRUE(contains(missing.err, "CID is required (see stube-store show --help)"))
      << missing.err;
}

TEST_F(StoreTool, EveryCommandHasHelp) {
  for (const char* command : {"ls", "show", "verify", "stats", "migrate"}) {
    const ToolRun r = stube_store({command, "--help"});
    EXPECT_EQ(r.status, 0) << command;
    EXPECT_TRUE(contains(r.out, command) && (contains(r.out, "URL") || contains(r.out, "FROM")))
        << r.out;
  }
  const ToolRun r = stube_store({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(contains(r.out, "migrate")) << r.out;
}

// A flag takes no value: "--help ls" is help, not "--help needs a value".
TEST_F(StoreTool, HelpBeforeTheCommandIsHelp) {
  for (const char* help : {"--help", "-h"}) {
    const ToolRun r = stube_store({help, "ls"});
    EXPECT_EQ(r.status, 0) << help << ": " << r.err;
    EXPECT_TRUE(contains(r.out, "ls")) << help << ": " << r.out;
  }
}

}  // namespace
}  // namespace stube::test
