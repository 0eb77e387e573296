// store_detail::DeferredClose: descriptors handed over are closed, on the
// background thread or inline when it is full, before the object is gone,
// and in a forked child without touching the parent's thread.
#include "store/deferred_close.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace stube::store_detail {
namespace {

// A pipe whose write end is handed to the code under test: the read end sees
// end-of-file exactly when the write end has been closed.
struct Pipe {
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
    read_end = Fd(fds[0]);
    write_end = Fd(fds[1]);
  }
  // True once the write end is closed (read returns 0 instead of EAGAIN).
  bool write_end_closed() const {
    char byte;
    return ::read(read_end.get(), &byte, 1) == 0;
  }
  Fd read_end, write_end;
};

TEST(DeferredClose, ClosesWhatItIsHanded) {
  DeferredClose closer;
  std::vector<Pipe> pipes(20);
  for (Pipe& p : pipes) closer.close_later(std::move(p.write_end));
  closer.drain();
  for (const Pipe& p : pipes) EXPECT_TRUE(p.write_end_closed());
}

TEST(DeferredClose, ClosesInlineWhenNothingMayWait) {
  DeferredClose closer(0);
  Pipe p;
  closer.close_later(std::move(p.write_end));
  EXPECT_TRUE(p.write_end_closed());  // no drain: it was closed before close_later returned
}

// By default a thirty-second of the descriptor limit, within 16..1024: a
// busy server's bursts outran 64, and a small limit keeps most of its
// reserve (an eighth, at least 64) for the rest of the process.
TEST(DeferredClose, HoldsByDefaultAShareOfTheDescriptorLimit) {
  EXPECT_EQ(max_pending_for(0), 16u);
  EXPECT_EQ(max_pending_for(256), 16u);
  EXPECT_EQ(max_pending_for(1024), 32u);
  EXPECT_EQ(max_pending_for(4096), 128u);
  EXPECT_EQ(max_pending_for(32768), 1024u);
  EXPECT_EQ(max_pending_for(1u << 20), 1024u);
  EXPECT_EQ(max_pending_for(UINT64_MAX), 1024u);
}

TEST(DeferredClose, IgnoresAnEmptyDescriptor) {
  DeferredClose closer;
  closer.close_later(Fd());
  closer.drain();
  Pipe p;
  closer.close_later(std::move(p.write_end));
  closer.drain();
  EXPECT_TRUE(p.write_end_closed());
}

TEST(DeferredClose, ClosesEverythingPendingWhenDestroyed) {
  auto closer = std::make_unique<DeferredClose>(1000);
  std::vector<Pipe> pipes(200);
  for (Pipe& p : pipes) closer->close_later(std::move(p.write_end));
  closer.reset();
  for (const Pipe& p : pipes) EXPECT_TRUE(p.write_end_closed());
}

TEST(DeferredClose, TakesDescriptorsFromManyThreads) {
  DeferredClose closer(16);  // small, so that some close inline and some wait
  std::vector<Pipe> pipes(400);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = t; i < pipes.size(); i += 4)
        closer.close_later(std::move(pipes[i].write_end));
    });
  }
  for (std::thread& th : threads) th.join();
  closer.drain();
  for (const Pipe& p : pipes) EXPECT_TRUE(p.write_end_closed());
}

// For a save short of disk space: everything handed over so far is closed
// when it returns, whether it was still waiting or being closed by the
// thread.
TEST(DeferredClose, CloseAllNowClosesEverythingHandedOver) {
  DeferredClose closer;
  closer.close_all_now();  // nothing held, no thread yet: returns at once
  for (int round = 0; round < 50; ++round) {
    std::vector<Pipe> pipes(20);
    for (Pipe& p : pipes) closer.close_later(std::move(p.write_end));
    closer.close_all_now();
    for (const Pipe& p : pipes) ASSERT_TRUE(p.write_end_closed()) << "round " << round;
  }
}

// The child inherits the object with its thread started, but not the
// thread: it must close inline and get through the destructor without
// waiting for a thread that does not exist there.
TEST(DeferredClose, AForkedChildClosesInlineAndDoesNotWaitForTheParentsThread) {
  auto closer = std::make_unique<DeferredClose>();
  Pipe started;
  closer->close_later(std::move(started.write_end));  // starts the thread
  closer->drain();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::alarm(30);  // a hang becomes a SIGALRM the parent sees
    Pipe p;
    closer->close_later(std::move(p.write_end));
    const bool inline_closed = p.write_end_closed();
    closer.reset();
    ::_exit(inline_closed ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child did not exit (signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's descriptor was not closed inline";
  Pipe after;  // the parent's thread still works
  closer->close_later(std::move(after.write_end));
  closer->drain();
  EXPECT_TRUE(after.write_end_closed());
}

}  // namespace
}  // namespace stube::store_detail
