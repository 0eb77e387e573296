// The timer thread runs every conversation's timers, the reaper and the
// retries: it must not wait for one conversation's step (a slow handler, a
// slow save). A timer event that finds its conversation busy is handed
// back to the timer queue when the step is over.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/rig.hpp"

namespace stube::test {
namespace {

using namespace std::chrono_literals;

// Ticks per label, with waiting.
class Ticks {
 public:
  void add(const std::string& label) {
    std::lock_guard lock(mu_);
    ++count_[label];
    cv_.notify_all();
  }
  bool wait_for(const std::string& label) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return count_[label] > 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> count_;
};

// "tt/busy": "arm" [delay-ms] asks for a "tick"; "block" waits at the gate.
std::shared_ptr<const Registry> busy_registry(std::shared_ptr<Gate> gate,
                                              std::shared_ptr<Ticks> ticks) {
  auto reg = std::make_shared<Registry>();
  reg->define("tt/busy")
      .init([](const Value& args) {
        return edn::map({{kw("label"), args[":label"]}});
      })
      .render([](const Self& s) { return html::p(s[":label"]); })
      .on("arm",
          [](Self& s, const Event& e) {
            s.after(std::chrono::milliseconds(e.payload[0].as_int()), "tick");
          })
      .on("tick", [ticks](Self& s) { ticks->add(std::string(s[":label"].as_string())); })
      .on("block", [gate](Self&) { gate->enter_and_wait(); });
  return reg;
}

// Conversation a is busy in a step when its own timer and a reaper round
// come due; b's timer, due after those, must not wait for a's step (it
// waited for all of it: a slow handler or save of one conversation held up
// every other's timers and the reaper). a's timer event is delivered once
// its step is over.
TEST(TimerThread, OneBusyConversationHoldsUpNoOtherTimers) {
  auto gate = std::make_shared<Gate>();
  auto ticks = std::make_shared<Ticks>();
  RuntimeOptions o = options_with(std::make_shared<CountingStore>());
  o.conversation_ttl = std::chrono::hours(1);
  o.reaper_interval = 5ms;  // rounds while a is busy
  Runtime rt(busy_registry(gate, ticks), o);
  const Runtime::Minted a = rt.mint("tt/busy", edn::map({{kw("label"), "a"}}));
  const Runtime::Minted b = rt.mint("tt/busy", edn::map({{kw("label"), "b"}}));
  const std::string a_top = runtime_top(rt, a.cid);
  const std::string b_top = runtime_top(rt, b.cid);
  ASSERT_EQ(rt.dispatch(a.cid, a_top, Event{"arm", edn::vec({100})}, a.owner), Runtime::Result::Ok);
  auto busy = std::async(std::launch::async,
                         [&] { return rt.dispatch(a.cid, a_top, Event{"block"}, a.owner); });
  ASSERT_TRUE(gate->wait_entered());
  ASSERT_EQ(rt.dispatch(b.cid, b_top, Event{"arm", edn::vec({200})}, b.owner), Runtime::Result::Ok);
  const bool b_ticked = ticks->wait_for("b");
  gate->release();
  EXPECT_TRUE(b_ticked) << "b's timer waited for a's step";
  EXPECT_EQ(busy.get(), Runtime::Result::Ok);
  EXPECT_TRUE(ticks->wait_for("a")) << "a's timer event, due while it was busy, was lost";
  EXPECT_EQ(rt.size(), 2u) << "the reaper ended a conversation";
}

}  // namespace
}  // namespace stube::test
