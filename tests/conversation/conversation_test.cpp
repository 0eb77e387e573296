// Conversation helpers: ids, building, reading and updating.
#include "stube/conversation.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <stdexcept>

namespace stube::test {
namespace {

using edn::kw;
using edn::Value;

bool only_id_chars(std::string_view s) {
  for (const char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  }
  return true;
}

TEST(ConvId, MintedIdsHaveThePrefixAndOnlySafeCharacters) {
  const std::string id = conv::mint_id();
  EXPECT_EQ(id.substr(0, 3), "cv-");
  EXPECT_EQ(id.size(), 3u + 22u);
  EXPECT_TRUE(only_id_chars(id)) << id;
  EXPECT_TRUE(conv::valid_id(id));
  EXPECT_EQ(conv::mint_id("ix-").substr(0, 3), "ix-");
  EXPECT_EQ(conv::mint_id("").size(), 22u);
}

TEST(ConvId, ManyMintedIdsNeverCollide) {
  std::set<std::string> seen;
  for (int i = 0; i < 200000; ++i) ASSERT_TRUE(seen.insert(conv::mint_id()).second);
}

TEST(ConvId, AForkedChildMintsDifferentIds) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string id = conv::mint_id();
    const bool ok = ::write(fds[1], id.data(), id.size()) == static_cast<ssize_t>(id.size());
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  const std::string mine = conv::mint_id();
  char buf[64] = {};
  const ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(n, static_cast<ssize_t>(mine.size()));
  EXPECT_NE(std::string(buf, static_cast<std::size_t>(n)), mine);
}

TEST(ConvId, BadPrefixesAreRejected) {
  EXPECT_THROW(conv::mint_id("../"), std::invalid_argument);
  EXPECT_THROW(conv::mint_id(std::string(107, 'a')), std::invalid_argument);
  EXPECT_EQ(conv::mint_id(std::string(106, 'a')).size(), 128u);
}

TEST(ConvId, Validity) {
  for (const char* ok : {"a", "cv-1", "A_b-9", "-", "_"}) EXPECT_TRUE(conv::valid_id(ok)) << ok;
  EXPECT_TRUE(conv::valid_id(std::string(128, 'z')));
  EXPECT_FALSE(conv::valid_id(std::string(129, 'z')));
  for (const char* bad : {"", ".", "..", "../x", "a/b", "a b", "a.edn", "é", "a\nb", "a\\b"}) {
    EXPECT_FALSE(conv::valid_id(bad)) << bad;
  }
}

RC_GTEST_PROP(ConvId, ValidExactlyWhenShortAndSafe, (const std::string& s)) {
  RC_ASSERT(conv::valid_id(s) == (!s.empty() && s.size() <= 128 && only_id_chars(s)));
}

TEST(Conversation, MakeBuildsTheSpecShape) {
  const edn::Instant now{1700000000, 5};
  const Value c = conv::make("cv-x", now);
  EXPECT_EQ(c, edn::map({{kw("conv/id"), "cv-x"},
                         {kw("conv/instances"), edn::map({})},
                         {kw("conv/stack"), edn::vec({})},
                         {kw("conv/history"), edn::vec({})},
                         {kw("conv/created"), now},
                         {kw("conv/touched"), now}}));
  EXPECT_EQ(conv::id(c), "cv-x");
  EXPECT_EQ(conv::created(c), now);
  EXPECT_EQ(conv::touched(c), now);
  EXPECT_THROW(conv::make("a/b"), std::invalid_argument);
}

TEST(Conversation, NewConversationsHaveFreshIds) {
  const Value a = conv::new_conversation();
  const Value b = conv::new_conversation();
  EXPECT_NE(conv::id(a), conv::id(b));
  EXPECT_TRUE(conv::valid_id(conv::id(a)));
}

TEST(Conversation, InstancesAndStack) {
  Value c = conv::make("cv-x", {});
  EXPECT_TRUE(conv::top(c).is_nil());
  const Value inst = edn::map({{kw("instance/id"), "ix-1"}, {kw("n"), 1}});
  c = conv::put_instance(c, "ix-1", inst);
  c = conv::with_stack(c, edn::vec({"ix-1"}));
  EXPECT_EQ(conv::instance(c, "ix-1"), inst);
  EXPECT_TRUE(conv::instance(c, "ix-2").is_nil());
  EXPECT_EQ(conv::top(c), Value("ix-1"));
  c = conv::drop_instance(c, "ix-1");
  EXPECT_TRUE(conv::instances(c).empty());
  EXPECT_THROW(conv::with_stack(c, edn::map({})), edn::TypeError);
}

TEST(Conversation, TouchChangesOnlyTouched) {
  const Value c = conv::make("cv-x", {100, 0});
  const Value t = conv::touch(c, {200, 7});
  EXPECT_EQ(conv::touched(t), (edn::Instant{200, 7}));
  EXPECT_EQ(t.assoc(conv::keys::touched(), Value(edn::Instant{100, 0})), c);
}

TEST(Conversation, HistorySnapshotsDropTheirOwnHistoryAndAreBounded) {
  Value c = conv::make("cv-x", {});
  for (int i = 0; i < 5; ++i) c = conv::push_history(c.assoc(kw("step"), i), 3);
  const Value& h = conv::history(c);
  ASSERT_EQ(h.size(), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_FALSE(h[k].contains(conv::keys::history()));
    EXPECT_EQ(h[k][":step"], Value(static_cast<int>(k) + 2));
  }
  EXPECT_TRUE(conv::history(conv::push_history(c, 0)).empty());
}

// A nil :conv/history (a record written by another program) is no history,
// as a missing one is: every event that pushed to it failed, for good.
TEST(Conversation, ANilHistoryIsNone) {
  const Value c = conv::make("cv-x", {}).assoc(conv::keys::history(), Value());
  EXPECT_TRUE(conv::history(c).empty());
  const Value pushed = conv::push_history(c.assoc(kw("step"), 1), 3);
  ASSERT_EQ(conv::history(pushed).size(), 1u);
  EXPECT_EQ(conv::history(pushed)[0][":step"], Value(1));
  EXPECT_THROW((void)conv::history(c.assoc(conv::keys::history(), Value(1))), edn::TypeError);
}

TEST(Conversation, ALowerHistoryLimitKeepsTheNewestSnapshots) {
  Value c = conv::make("cv-x", {});
  for (int i = 0; i < 6; ++i) c = conv::push_history(c.assoc(kw("step"), i), 6);
  ASSERT_EQ(conv::history(c).size(), 6u);
  c = conv::push_history(c.assoc(kw("step"), 6), 2);  // e.g. after a configuration change
  const Value& h = conv::history(c);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0][":step"], Value(5));
  EXPECT_EQ(h[1][":step"], Value(6));
  EXPECT_TRUE(c.printable());
}

TEST(Conversation, AccessorErrorsNameTheKey) {
  const Value c = conv::make("cv-x").assoc(conv::keys::stack(), Value("oops"));
  try {
    conv::stack(c);
    FAIL() << "no exception";
  } catch (const edn::TypeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(":conv/stack"), std::string::npos) << what;
    EXPECT_NE(what.find("cv-x"), std::string::npos) << what;
  }
  EXPECT_THROW(conv::id(edn::map({})), edn::TypeError);
  EXPECT_THROW(conv::history(Value(3)), edn::TypeError);
  EXPECT_FALSE(conv::find_id(Value(3)).has_value());
  EXPECT_EQ(conv::find_id(conv::make("cv-y")).value(), "cv-y");
}

TEST(Conversation, RecordProblemSaysWhyAStoredValueIsNotTheRecord) {
  EXPECT_EQ(conv::record_problem(conv::make("cv-a"), "cv-a", "the file name"), "");
  EXPECT_EQ(conv::record_problem(edn::vec({1}), "cv-a", "the file name"), "not a map but a vector");
  EXPECT_EQ(conv::record_problem(Value(42), "cv-a", "the file name"), "not a map but an integer");
  EXPECT_EQ(conv::record_problem(Value(), "cv-a", "the file name"), "not a map but nil");
  EXPECT_EQ(edn::kind_phrase(edn::Kind::Uuid), "a uuid");
  EXPECT_EQ(edn::kind_phrase(edn::Kind::Opaque), "an opaque object");
  EXPECT_EQ(conv::record_problem(edn::map({{kw("conv/id"), 7}}), "cv-a", "the file name"),
            "the map has no string :conv/id");
  EXPECT_EQ(conv::record_problem(conv::make("cv-b"), "cv-a", "the row's cid"),
            ":conv/id \"cv-b\" does not match the row's cid");
  // An id from a hostile record is cut to a readable, still valid UTF-8 length.
  std::string utf8_id = "a";
  for (int i = 0; i < 100; ++i) utf8_id += "\u20ac";  // 3 bytes each
  const std::string problem =
      conv::record_problem(edn::map({{kw("conv/id"), Value(utf8_id)}}), "cv-a", "the file name");
  EXPECT_TRUE(problem.starts_with(":conv/id \"a\u20ac")) << problem;
  EXPECT_NE(problem.find("\"… (301 bytes) does not match the file name"), std::string::npos)
      << problem;
  EXPECT_NO_THROW((void)Value(std::string_view(problem))) << "valid UTF-8";
  EXPECT_EQ(conv::quote_id(std::string(140, 'x')), "\"" + std::string(140, 'x') + "\"");
  // Bytes that are no UTF-8 at all still show (as \xNN), not an empty "".
  const std::string junk = conv::quote_id(std::string(300, '\x80'));
  EXPECT_TRUE(junk.starts_with(R"("\x80\x80)")) << junk;
  EXPECT_NE(junk.find("… (300 bytes)"), std::string::npos) << junk;
  // Such a byte and the characters that spell it are told apart: the byte
  // is \xFF, with one backslash; a backslash of the text is written \\.
  EXPECT_EQ(conv::quote_id("q\xFF"), R"("q\xFF")");
  EXPECT_EQ(conv::quote_id(R"(q\xFF)"), R"("q\\xFF")");
  EXPECT_EQ(conv::quote_id("\xC3\xA9\xC3"), R"("é\xC3")");
  // Every control character escaped, as EDN reads it back.
  EXPECT_EQ(conv::quote_id("a\nb\x1b[0m\x7f"), "\"a\\nb\\u001B[0m\\u007F\"");
  EXPECT_EQ(edn::read(conv::quote_id("a\x1b\x7f")), Value("a\x1b\x7f"));
}

}  // namespace
}  // namespace stube::test
