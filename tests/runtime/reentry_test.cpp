// Handlers that call back into the runtime. A handler runs with its
// conversation's lock held, so a call for that same conversation, or
// shutdown(), would wait for its own thread: they are refused with
// std::logic_error (shown as the handler's error) instead of hanging.
// Calls for other conversations work.
#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <memory>
#include <string>

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
      {"Runtime::dispatch/back/attach", [&] { rt.dispatch(m.cid, iid, Event{"call"}, m.owner); }},
      {"Runtime::dispatch/back/attach", [&] { rt.back(m.cid, m.owner); }},
      {"Runtime::dispatch/back/attach", [&] { rt.attach(m.cid, m.owner, out); }},
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

}  // namespace
}  // namespace stube::test
