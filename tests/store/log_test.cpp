// The log facility: replaceable sink, default format, thread safety.
#include "stube/log.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support.hpp"

namespace stube::test {
namespace {

TEST(Log, ASinkReceivesEveryLevelAndIsRestored) {
  std::vector<std::pair<log::Level, std::string>> got;
  auto previous =
      log::set_sink([&got](log::Level l, std::string_view m) { got.emplace_back(l, m); });
  log::debug("d");
  log::info("i");
  log::warn("w");
  log::error("e");
  auto mine = log::set_sink(std::move(previous));
  EXPECT_TRUE(static_cast<bool>(mine));
  log::info("not captured");  // goes to the previous sink
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], std::make_pair(log::Level::debug, std::string("d")));
  EXPECT_EQ(got[3], std::make_pair(log::Level::error, std::string("e")));
}

// What the default sink writes to stderr for one warning.
std::string default_sink_output(std::string_view message) {
  auto previous = log::set_sink({});
  ::testing::internal::CaptureStderr();
  log::warn(std::string(message));
  const std::string out = ::testing::internal::GetCapturedStderr();
  log::set_sink(std::move(previous));
  return out;
}

TEST(Log, TheDefaultSinkWritesOneLineToStderr) {
  EXPECT_EQ(default_sink_output("conversation \"cv-1\" was not saved"),
            "stube warn: conversation \"cv-1\" was not saved\n");
}

// A message may quote user input (a handler's exception text): a newline in
// it must not start a forged line.
TEST(Log, TheDefaultSinkEscapesControlCharacters) {
  EXPECT_EQ(default_sink_output("bad email: a\nstube error: forged\r\x01\x7f\tok \xc3\xa9"),
            "stube warn: bad email: a\\nstube error: forged\\r\\x01\\x7f\tok \xc3\xa9\n");
}

// What else a reader may take for a line break (NEL, U+2028, U+2029), the
// C1 controls (0x9B is CSI on an 8-bit terminal) and bytes that are not
// UTF-8 are escaped too; other text, accents and CJK included, is not.
TEST(Log, TheDefaultSinkEscapesLineBreaksOfUnicodeAndBytesThatAreNotUtf8) {
  EXPECT_EQ(default_sink_output("a\xc2\x85"
                                "b\xe2\x80\xa8"
                                "c\xe2\x80\xa9"
                                "d\x9b"
                                "31m\xc3 \xe2\x82\xac\xe6\x97\xa5"),
            "stube warn: a\\xc2\\x85"
            "b\\xe2\\x80\\xa8"
            "c\\xe2\\x80\\xa9"
            "d\\x9b"
            "31m\\xc3 \xe2\x82\xac\xe6\x97\xa5\n");
}

// A sink may install another (a one-shot capture that removes itself): it
// used to wait for ever on the lock its own call held, and every thread that
// logged after it with it.
TEST(Log, ASinkMayReplaceItself) {
  int calls = 0;
  auto previous = log::set_sink([&calls](log::Level, std::string_view) {
    ++calls;
    log::set_sink({});
  });
  ::testing::internal::CaptureStderr();
  log::warn("first");
  log::warn("second");
  const std::string out = ::testing::internal::GetCapturedStderr();
  log::set_sink(std::move(previous));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(out, "stube warn: second\n");
}

// A fork waits for the message being written, so that a child never starts
// with the log's lock held by a thread it does not have (its first message
// would wait for good: tests/store/file_store_test.cpp, AForkedChild...).
// A sink that forks itself (to hand the line to another program) holds that
// lock: its fork must not wait for it.
TEST(Log, ASinkThatForksDoesNotWaitForItself) {
  int child_status = -1;
  auto previous = log::set_sink([&child_status](log::Level, std::string_view) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      log::warn("from the child");  // from within the sink (this thread's, copied): stderr
      ::_exit(0);
    }
    if (pid > 0) ::waitpid(pid, &child_status, 0);
  });
  ::testing::internal::CaptureStderr();
  log::warn("forks");
  const std::string out = ::testing::internal::GetCapturedStderr();
  log::set_sink(std::move(previous));
  ASSERT_TRUE(WIFEXITED(child_status)) << child_status;
  EXPECT_EQ(WEXITSTATUS(child_status), 0);
  EXPECT_NE(out.find("from the child"), std::string::npos) << out;
}

// Logging happens in error paths: a sink that throws must not turn a logged
// error into std::terminate, and one that logs must not wait for ever on
// the sink's own lock. Both messages reach stderr.
TEST(Log, ASinkThatThrowsOrLogsFallsBackToStderr) {
  auto previous = log::set_sink([](log::Level, std::string_view message) {
    if (message == "nested") return;
    if (message == "throw") throw std::runtime_error("backend full");
    log::info("nested");
  });
  ::testing::internal::CaptureStderr();
  EXPECT_NO_THROW(log::error("throw"));
  log::warn("outer");
  const std::string out = ::testing::internal::GetCapturedStderr();
  log::set_sink(std::move(previous));
  EXPECT_EQ(out,
            "stube error: throw\n"
            "stube error: log sink threw: backend full\n"
            "stube info: nested\n");
}

TEST(Log, MessagesFromManyThreadsArriveWhole) {
  LogCapture capture;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 500; ++i)
        log::info("thread " + std::to_string(t) + " message " + std::to_string(i));
    });
  }
  for (auto& th : threads) th.join();
  const auto messages = capture.at(log::Level::info);
  ASSERT_EQ(messages.size(), 4000u);
  std::set<std::string> unique(messages.begin(), messages.end());
  EXPECT_EQ(unique.size(), 4000u);
}

TEST(Log, LevelNames) {
  EXPECT_EQ(log::level_name(log::Level::debug), "debug");
  EXPECT_EQ(log::level_name(log::Level::info), "info");
  EXPECT_EQ(log::level_name(log::Level::warn), "warn");
  EXPECT_EQ(log::level_name(log::Level::error), "error");
}

}  // namespace
}  // namespace stube::test
