// Flows: coroutine frames driven by the call/answer machinery.
#include "stube/flow.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace stube {

using namespace edn::literals;

namespace {

std::atomic<std::size_t> g_live_frames{0};

const edn::Value kFrameKey = "flow/frame"_kw;
const edn::Value kArgsKey = "flow/args"_kw;
// How many times the coroutine had been resumed when this state was made.
const edn::Value kStepsKey = "flow/steps"_kw;
constexpr std::string_view kResumeKey = "flow/resume";

// Owns one coroutine frame. Kept in the instance state as an opaque value;
// dispose() destroys the frame when the flow answers or its conversation
// stops, even while other copies of the conversation still hold the (then
// empty) holder. Otherwise the last copy dropped destroys it.
//
// A failed event discards the conversation it made, but not what it did to
// the coroutine: that cannot be rolled back. So the frame counts its steps
// and the state records the count; a state whose count is not the frame's
// belongs to an event that failed after moving the coroutine on (or
// disposing it), and resuming from it would feed an answer to the wrong
// co_await. Such a flow refuses to go on.
// "flow :demo/wizard-flow (ix-…)": the page and the log say which flow.
std::string flow_name(const std::string& component, const Self& self) {
  return "flow " + component + " (" + std::string(self.id()) + ")";
}

class FlowFrame {
 public:
  // The body gets the frame's own copy of the arguments: a body that takes
  // them by reference reads them after every co_await, long after the state
  // it came from has been replaced.
  FlowFrame(const FlowBody& body, edn::Value args, std::string component)
      : args_(std::move(args)), component_(std::move(component)) {
    h_ = body(args_).release();
  }
  ~FlowFrame() { dispose(); }
  FlowFrame(const FlowFrame&) = delete;
  FlowFrame& operator=(const FlowFrame&) = delete;

  void dispose() noexcept {
    if (h_) std::exchange(h_, {}).destroy();
  }

  // Resumes the coroutine (with the child's answer) and turns where it
  // stopped into an effect on `self`.
  void step(Self& self, edn::Value answer) {
    if (h_ && h_.done())  // its body threw
      throw std::logic_error(name(self) + " has already finished");
    const edn::Value& known = self.state().get(kStepsKey);
    if (!h_ || (known.is(edn::Kind::Int) ? known.as_int() : 0) != steps_)
      throw std::logic_error(name(self) +
                             " cannot go on: its coroutine is past this point (an earlier event "
                             "moved it on and then failed, or this is an older copy of the "
                             "conversation), and a coroutine cannot be rolled back (go back to "
                             "leave the flow, or reload to start again)");
    h_.promise().answer = std::move(answer);
    h_.promise().pending.reset();
    ++steps_;  // before anything can throw: the coroutine has moved on
    h_.resume();
    self.set_state(self.state().assoc(kStepsKey, edn::Value(steps_)));
    auto& p = h_.promise();
    if (p.error) rethrow_naming(self, std::exchange(p.error, nullptr));
    if (h_.done()) {
      self.answer(std::move(p.result));
    } else if (p.pending) {
      self.call(std::move(*p.pending), kResumeKey);
      p.pending.reset();
    } else {
      throw std::logic_error(name(self) +
                             " suspended without awaiting a component (use co_await "
                             "stube::await(...))");
    }
  }

 private:
  std::string name(const Self& self) const { return flow_name(component_, self); }

  // The body's exception, its message prefixed with the flow's name (a
  // user's exception type would say nothing about where it came from).
  [[noreturn]] void rethrow_naming(const Self& self, std::exception_ptr error) const {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      throw std::runtime_error(name(self) + " threw: " + e.what());
    } catch (...) {
      throw std::runtime_error(name(self) + " threw something that is not a std::exception");
    }
  }

  edn::Value args_;  // declared first: outlives the coroutine (disposed in ~FlowFrame)
  std::coroutine_handle<Flow::promise_type> h_;
  std::string component_;
  std::int64_t steps_ = 0;
};

std::shared_ptr<FlowFrame> frame_of(const Self& self, const std::string& component) {
  const edn::Value& v = self.state().get(kFrameKey);
  if (!v.is(edn::Kind::Opaque))
    throw std::logic_error(flow_name(component, self) +
                           " has no live coroutine (was it restored from a store?)");
  return v.as_opaque<FlowFrame>();
}

}  // namespace

Flow::promise_type::promise_type() {
  g_live_frames.fetch_add(1, std::memory_order_relaxed);
}
Flow::promise_type::~promise_type() {
  g_live_frames.fetch_sub(1, std::memory_order_relaxed);
}

std::size_t live_flow_frames() noexcept {
  return g_live_frames.load(std::memory_order_relaxed);
}

Definition define_flow(Registry& reg, std::string_view id, FlowBody body) {
  Definition d = reg.define(id);
  d.init([](const edn::Value& args) {
     return edn::map({{kArgsKey, args}});
   })
      .start([body = std::move(body), component = edn::write(d.def().id)](Self& self) {
        auto frame = std::make_shared<FlowFrame>(body, self.state().get(kArgsKey), component);
        self.set_state(self.state().assoc(kFrameKey, edn::Value::opaque(frame, "stube.flow")));
        frame->step(self, {});
      })
      .resume(std::string(kResumeKey),
              [component = edn::write(d.def().id)](Self& self, const edn::Value& answer) {
                frame_of(self, component)->step(self, answer);
              });
  d.def().dispose = [](const edn::Value& state) {
    const edn::Value& v = state.get(kFrameKey);
    if (v.is(edn::Kind::Opaque)) v.as_opaque<FlowFrame>()->dispose();
  };
  return d;
}

}  // namespace stube
