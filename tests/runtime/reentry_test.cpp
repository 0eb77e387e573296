// Handlers that call back into the runtime. A handler runs with its
// conversation's lock held, so a call for that same conversation, or
// shutdown(), would wait for its own thread: they are refused with
// std::logic_error (shown as the handler's error) instead of hanging.
// Calls for other conversations work.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/spin_until.hpp"
#include "runtime/rig.hpp"

namespace stube::test {
namespace {

using Hook = std::function<void()>;

// "re/caller": "call" runs the test's hook and counts; "later" runs "call"
// on the timer thread; its stop hook runs the test's stop hook.
std::shared_ptr<const Registry> reentrant_registry(std::shared_ptr<Hook> on_call,
                                                   std::shared_ptr<Hook> on_stop) {
  auto reg = std::make_shared<Registry>();
  reg->define("re/caller")
      .init([](const Value&) {
        return edn::map({{kw("calls"), 0}});
      })
      .render([](const Self& s) { return html::p("calls ", s[":calls"]); })
      .on("call",
          [on_call](Self& s) {
            if (*on_call) (*on_call)();
            s.set("calls", s[":calls"].as_int() + 1);
          })
      .on("later", [](Self& s) { s.after(std::chrono::milliseconds(1), "call"); })
      .stop([on_stop](Self&) {
        if (*on_stop) (*on_stop)();
      });
  return reg;
}

class Reentry : public ::testing::Test {
 protected:
  Runtime::Minted mint_attached(std::shared_ptr<RecordingOutput> out) {
    Runtime::Minted m = rt.mint("re/caller");
    EXPECT_EQ(rt.attach(m.cid, m.owner, std::move(out)), Runtime::Result::Ok);
    return m;
  }
  std::int64_t calls(const Runtime::Minted& m) {
    return top_frame(*rt.conversation(m.cid))[":calls"].as_int();
  }

  std::shared_ptr<Hook> on_call = std::make_shared<Hook>();
  std::shared_ptr<Hook> on_stop = std::make_shared<Hook>();
  std::shared_ptr<CountingStore> store = std::make_shared<CountingStore>();
  Runtime rt{reentrant_registry(on_call, on_stop), options_with(store)};
};

TEST_F(Reentry, CallsForTheHandlersOwnConversationAreRefusedNotHung) {
  auto out = std::make_shared<RecordingOutput>();
  const Runtime::Minted m = mint_attached(out);
  const std::string iid = runtime_top(rt, m.cid);
  const std::vector<std::pair<std::string, Hook>> calls_back = {
      {"Runtime::end", [&] { rt.end(m.cid); }},
      {"Runtime::conversation", [&] { rt.conversation(m.cid); }},
      {"Runtime::dispatch for conversation",
       [&] { rt.dispatch(m.cid, iid, Event{"call"}, m.owner); }},
      {"Runtime::back for conversation", [&] { rt.back(m.cid, m.owner); }},
      {"Runtime::attach for conversation", [&] { rt.attach(m.cid, m.owner, out); }},
      {"Runtime::shutdown", [&] { rt.shutdown(); }},
  };
  for (const auto& [name, call] : calls_back) {
    SCOPED_TRACE(name);
    bool inside = false;
    std::string refusal;
    *on_call = [&] {
      inside = rt.in_handler();
      try {
        call();
      } catch (const std::logic_error& e) {
        refusal = e.what();
        throw;
      }
    };
    EXPECT_EQ(send_top(rt, m, Event{"call"}), Runtime::Result::HandlerError);
    EXPECT_TRUE(inside);
    EXPECT_TRUE(refusal.starts_with(name)) << refusal;
    EXPECT_TRUE(contains(refusal, "would wait for itself")) << refusal;
    EXPECT_TRUE(contains(out->fragments().back().html, "would wait for itself"));
    EXPECT_EQ(calls(m), 0) << "the refused handler changed nothing";
  }
  EXPECT_FALSE(rt.in_handler());
  EXPECT_FALSE(rt.shutting_down());
  *on_call = nullptr;
  EXPECT_EQ(send_top(rt, m, Event{"call"}), Runtime::Result::Ok);
  EXPECT_EQ(calls(m), 1);
}

// Another conversation is fair game. While its handler runs, both are
// held: a call back into the first from there is refused too, and after
// the nested step the handler still counts as in its own conversation.
TEST_F(Reentry, AHandlerMayStepAnotherConversation) {
  const Runtime::Minted a = mint_attached(std::make_shared<RecordingOutput>());
  const Runtime::Minted b = mint_attached(std::make_shared<RecordingOutput>());
  const std::string b_iid = runtime_top(rt, b.cid);
  bool refused_inside = false, refused_after = false, nested = false;
  *on_call = [&] {
    if (nested) {  // b's own "call", inside a's
      try {
        rt.conversation(a.cid);
      } catch (const std::logic_error&) {
        refused_inside = true;
      }
      return;
    }
    nested = true;
    EXPECT_EQ(rt.dispatch(b.cid, b_iid, Event{"call"}, b.owner), Runtime::Result::Ok);
    try {
      rt.end(a.cid);
    } catch (const std::logic_error&) {
      refused_after = true;
    }
  };
  EXPECT_EQ(send_top(rt, a, Event{"call"}), Runtime::Result::Ok);
  EXPECT_EQ(calls(a), 1);
  EXPECT_EQ(calls(b), 1);
  EXPECT_TRUE(refused_inside) << "b's handler reached a, whose lock its thread holds";
  EXPECT_TRUE(refused_after) << "the nested call must not forget the outer hold";
}

// The timer thread holds the conversation's lock as a browser's request
// does: shutdown() from a timer's event is refused there too.
TEST_F(Reentry, ShutdownFromATimersEventIsRefused) {
  auto out = std::make_shared<RecordingOutput>();
  const Runtime::Minted m = mint_attached(out);
  std::promise<std::string> refusal;
  *on_call = [&] {
    try {
      rt.shutdown();
      refusal.set_value("shutdown() returned");
    } catch (const std::logic_error& e) {
      refusal.set_value(e.what());
      throw;
    }
  };
  EXPECT_EQ(send_top(rt, m, Event{"later"}), Runtime::Result::Ok);
  auto answer = refusal.get_future();
  ASSERT_EQ(answer.wait_for(kPatience), std::future_status::ready);
  EXPECT_NE(answer.get().find("would wait for itself"), std::string::npos);
  EXPECT_TRUE(out->wait_for_html("would wait for itself"));
  EXPECT_FALSE(rt.shutting_down());
}

// A stop hook that shuts down during shutdown: refused and logged, and the
// shutdown it is part of completes.
TEST_F(Reentry, AStopHookCallingShutdownDoesNotHangIt) {
  LogCapture log;
  const Runtime::Minted m = mint_attached(std::make_shared<RecordingOutput>());
  *on_stop = [&] { rt.shutdown(); };
  rt.shutdown();
  EXPECT_TRUE(rt.shutting_down());
  EXPECT_EQ(rt.size(), 0u);
  EXPECT_TRUE(log.has(log::Level::warn, {"stop hook of", "would wait for itself"}));
  EXPECT_EQ(store->saves(m.cid), 2u) << "the final save still ran";
}

// A store whose first save waits at its gate: it keeps a mint inside the
// runtime's lifecycle lock, which a shutdown then waits for.
class HeldFirstSave : public ConversationStore {
 public:
  ConversationMap load_all() override { return {}; }
  edn::Value save(const edn::Value& conv) override {
    if (first_.exchange(false)) gate.enter_and_wait();
    return conv;
  }
  void remove(std::string_view) override {}
  Gate gate;

 private:
  std::atomic<bool> first_{true};
};

// Fails the test, and the process (its stuck threads cannot be joined), when
// `f` is not ready within a minute.
template <class T>
void must_finish(std::future<T>& f, const char* what) {
  if (f.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    std::fprintf(stderr, "deadlock: %s\n", what);
    std::_Exit(1);
  }
}

// A mint refused because a shutdown began while its start hooks ran gets
// its stop hooks; one that calls shutdown() waits for that shutdown to
// finish (and returns), instead of holding the lock the shutdown waits for.
TEST(ReentryAtShutdown, AStopHookOfAMintRefusedAtShutdownMayCallShutdown) {
  auto store = std::make_shared<HeldFirstSave>();
  auto reg = std::make_shared<Registry>();
  Runtime* runtime = nullptr;
  std::latch late_started(1), shutting(1);
  std::promise<void> stopping;
  reg->define("re/plain").render([](const Self&) { return html::p("plain"); });
  reg->define("re/late")
      .render([](const Self&) { return html::p("late"); })
      .start([&](Self&) {
        late_started.count_down();
        shutting.wait();  // until the shutdown has begun
      })
      .stop([&](Self&) {
        stopping.set_value();
        runtime->shutdown();
      });
  RuntimeOptions options;
  options.store = store;
  Runtime rt(reg, options);
  runtime = &rt;
  auto first = std::async(std::launch::async, [&] { return rt.mint("re/plain"); });
  ASSERT_TRUE(store->gate.wait_entered());  // the first mint holds the lifecycle lock, saving
  auto late = std::async(std::launch::async, [&] {
    try {
      (void)rt.mint("re/late");
      return std::string("minted");
    } catch (const ShuttingDown&) {
      return std::string("refused");
    }
  });
  late_started.wait();  // past mint's first check, in its start hook
  auto shutdown = std::async(std::launch::async, [&] { rt.shutdown(); });
  // shutting_down() is set before the shutdown waits for the lifecycle lock.
  const bool began = test::spin_until([&] { return rt.shutting_down(); });
  shutting.count_down();
  if (!began) {
    store->gate.release();
    FAIL() << "shutdown() never marked the runtime as shutting down";
  }
  auto stop_hook = stopping.get_future();
  must_finish(stop_hook, "the refused mint's stop hook never ran");
  store->gate
      .release();  // the first mint goes on: only the refused one could hold the shutdown now
  must_finish(shutdown, "shutdown and a refused mint's stop hook wait for each other");
  must_finish(late, "the refused mint never returned");
  EXPECT_EQ(late.get(), "refused");
  EXPECT_FALSE(first.get().cid.empty());
}

// Streams let go of while a handler holds the conversation are all
// forgotten after it: a replaced stream's late detach does not hide the
// current one's (the current one would be written to for ever).
TEST_F(Reentry, EveryDetachDuringAStepTakesEffect) {
  auto replaced = std::make_shared<RecordingOutput>();
  auto current = std::make_shared<RecordingOutput>();
  const Runtime::Minted m = mint_attached(replaced);
  ASSERT_EQ(rt.attach(m.cid, m.owner, current), Runtime::Result::Ok);  // a reconnect
  std::latch inside(1), go_on(1);
  *on_call = [&] {
    inside.count_down();
    go_on.wait();
  };
  auto step = std::async(std::launch::async, [&] { return send_top(rt, m, Event{"call"}); });
  inside.wait();                     // the handler holds the conversation
  rt.detach(m.cid, current.get());   // the page went away
  rt.detach(m.cid, replaced.get());  // the old stream's connection, torn down late
  go_on.count_down();
  EXPECT_EQ(step.get(), Runtime::Result::Ok);
  *on_call = nullptr;
  const std::size_t sends = current->sends();
  EXPECT_EQ(send_top(rt, m, Event{"call"}), Runtime::Result::Ok);
  EXPECT_EQ(current->sends(), sends) << "the detached stream still got fragments";
}

// A handler letting go of its own stream: no self-deadlock, and the stream
// is forgotten once the step is done.
TEST_F(Reentry, DetachFromTheHandlersOwnConversationTakesEffect) {
  auto out = std::make_shared<RecordingOutput>();
  const Runtime::Minted m = mint_attached(out);
  *on_call = [&] { rt.detach(m.cid, out.get()); };
  EXPECT_EQ(send_top(rt, m, Event{"call"}), Runtime::Result::Ok);
  *on_call = nullptr;
  const std::size_t sends = out->sends();
  EXPECT_EQ(send_top(rt, m, Event{"call"}), Runtime::Result::Ok);
  EXPECT_EQ(out->sends(), sends) << "the detached stream still got fragments";
  EXPECT_EQ(calls(m), 2);
}

// An Output that detaches itself when it goes (RAII), as a transport of
// one's own may write it.
class SelfDetachingOutput : public RecordingOutput {
 public:
  SelfDetachingOutput(Runtime& rt, std::string cid, std::atomic<int>& gone)
      : rt_(rt), cid_(std::move(cid)), gone_(gone) {}
  ~SelfDetachingOutput() override {
    rt_.detach(cid_, this);
    ++gone_;
  }
  SelfDetachingOutput(const SelfDetachingOutput&) = delete;
  SelfDetachingOutput& operator=(const SelfDetachingOutput&) = delete;

 private:
  Runtime& rt_;
  std::string cid_;
  std::atomic<int>& gone_;
};

// The runtime may hold a stream's last reference when it lets go of it. It
// destroyed a stream detached during a step while it held the lock of its
// list of detached streams, which the destructor's detach() then waited
// for: the conversation hung for good.
TEST_F(Reentry, AStreamThatDetachesItselfWhenItGoesIsLetGoOfWithoutHanging) {
  const Runtime::Minted m = rt.mint("re/caller");
  std::atomic<int> gone{0};
  auto out = std::make_shared<SelfDetachingOutput>(rt, m.cid, gone);
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  const Output* const attached = out.get();
  out.reset();  // the runtime holds the only reference now
  *on_call = [&] { rt.detach(m.cid, attached); };
  auto step = std::async(std::launch::async, [&] { return send_top(rt, m, Event{"call"}); });
  must_finish(step, "a stream detaching itself as the runtime let go of it");
  EXPECT_EQ(step.get(), Runtime::Result::Ok);
  EXPECT_EQ(gone.load(), 1);
  *on_call = nullptr;
  EXPECT_EQ(send_top(rt, m, Event{"call"}), Runtime::Result::Ok) << "the conversation hung";
  EXPECT_EQ(calls(m), 2);
}

// An Output whose client goes away while it is sent to: another thread (the
// server's I/O thread, dropping a stream whose client stopped reading)
// detaches it during send(), while the step holds the conversation.
class DetachedWhileSentOutput : public RecordingOutput {
 public:
  DetachedWhileSentOutput(Runtime& rt, std::string cid, std::atomic<int>& gone)
      : rt_(rt), cid_(std::move(cid)), gone_(gone) {}
  ~DetachedWhileSentOutput() override { ++gone_; }
  DetachedWhileSentOutput(const DetachedWhileSentOutput&) = delete;
  DetachedWhileSentOutput& operator=(const DetachedWhileSentOutput&) = delete;

  void send(const std::vector<Fragment>& fragments) override {
    RecordingOutput::send(fragments);
    if (armed) std::thread([this] { rt_.detach(cid_, this); }).join();
  }
  std::atomic<bool> armed{false};

 private:
  Runtime& rt_;
  std::string cid_;
  std::atomic<int>& gone_;
};

// Such a stream was let go of only when the conversation was next used,
// perhaps never (an abandoned page): it held its buffers until then.
TEST_F(Reentry, AStreamDetachedDuringAnotherThreadsStepGoesWhenTheStepEnds) {
  const Runtime::Minted m = rt.mint("re/caller");
  std::atomic<int> gone{0};
  auto out = std::make_shared<DetachedWhileSentOutput>(rt, m.cid, gone);
  ASSERT_EQ(rt.attach(m.cid, m.owner, out), Runtime::Result::Ok);
  out->armed = true;
  out.reset();  // the runtime holds the only reference now
  EXPECT_EQ(send_top(rt, m, Event{"call"}), Runtime::Result::Ok);
  EXPECT_EQ(gone.load(), 1) << "the detached stream outlived the step";
}

// Handlers that step each other's conversations at the same moment, in a
// ring of `n`: each holds its own lock and wants the next one's. The last
// to wait closes the cycle and is refused (its handler goes on without the
// nested step); the others then get their locks in turn and finish.
// Without the check all wait for ever, which the watchdog turns into a
// failure.
class ReentryRing : public Reentry, public ::testing::WithParamInterface<int> {};

TEST_P(ReentryRing, HandlersSteppingEachOthersConversationsAreRefusedNotDeadlocked) {
  const int n = GetParam();
  std::vector<Runtime::Minted> convs;
  std::vector<std::string> iids;
  for (int i = 0; i < n; ++i) {
    convs.push_back(mint_attached(std::make_shared<RecordingOutput>()));
    iids.push_back(runtime_top(rt, convs.back().cid));
  }
  thread_local int next = -1;  // the conversation this thread's handler steps
  std::latch all_inside(n);
  std::atomic<int> stepped{0}, refused{0};
  std::mutex message_mu;
  std::string message;
  *on_call = [&] {
    const int target = std::exchange(next, -1);
    if (target < 0) return;        // the nested step of the next conversation
    all_inside.arrive_and_wait();  // every handler holds its own lock now
    try {
      EXPECT_EQ(rt.dispatch(convs[target].cid, iids[target], Event{"call"}, convs[target].owner),
                Runtime::Result::Ok);
      ++stepped;
    } catch (const std::logic_error& e) {
      ++refused;
      const std::lock_guard lock(message_mu);
      message = e.what();
    }
  };
  std::vector<std::future<Runtime::Result>> runs;
  for (int i = 0; i < n; ++i) {
    runs.push_back(std::async(std::launch::async, [&, i] {
      next = (i + 1) % n;
      return send_top(rt, convs[i], Event{"call"});
    }));
  }
  for (auto& run : runs) {
    must_finish(run, "handlers wait for each other's conversations");
    EXPECT_EQ(run.get(), Runtime::Result::Ok);
  }
  EXPECT_EQ(refused.load(), 1);
  EXPECT_EQ(stepped.load(), n - 1);
  int total = 0;
  for (const auto& c : convs) total += static_cast<int>(calls(c));
  EXPECT_EQ(total, 2 * n - 1) << "every own step, and every nested one but the refused";
  EXPECT_NE(message.find("would wait for ever"), std::string::npos) << message;
  EXPECT_NE(message.find("keep such calls one-way"), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(Sizes, ReentryRing, ::testing::Values(2, 3, 5));

}  // namespace
}  // namespace stube::test
