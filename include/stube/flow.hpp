// stube/flow.hpp — flows: a wizard written as straight-line C++20 coroutine.
//
//   stube::Flow onboarding(stube::edn::Value args) {
//     auto name = co_await stube::await(stube::prompt("Who are you?"));
//     if (stube::cancelled(name)) co_return stube::cancel_value();
//     bool ok = (co_await stube::await(stube::confirm("Hello " + ...))).as_bool();
//     co_return name;
//   }
//   stube::define_flow(registry, "demo/wizard-flow", onboarding);
//
// Each await calls the child component; its answer resumes the coroutine;
// co_return answers the flow's own caller. The coroutine frame is a live C++
// object kept in the instance state as an opaque EDN value, so a
// conversation with a running flow is not printable: it works normally live,
// but a durable store skips saving it (with a warning). Write a task
// component (start + resume keys) when it must survive a restart; see
// docs/flows.md.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "stube/component.hpp"
#include "stube/edn.hpp"

namespace stube {

struct Await;

class Flow {
 public:
  struct promise_type {
    std::optional<Embed> pending;  // the child awaited right now
    edn::Value answer;             // what the last awaited child answered
    edn::Value result;             // co_return value
    std::exception_ptr error;
    Flow get_return_object() {
      return Flow(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_value(edn::Value v) { result = std::move(v); }
    void unhandled_exception() noexcept { error = std::current_exception(); }
    // co_await takes stube::await(child) and nothing else: another awaitable
    // would get the frame's handle and could resume it after the runtime
    // has destroyed it.
    template <class Awaitable>
    std::remove_cvref_t<Awaitable> await_transform(Awaitable&& a) {
      static_assert(std::is_same_v<std::remove_cvref_t<Awaitable>, Await>,
                    "a stube::Flow can only co_await stube::await(child)");
      return std::forward<Awaitable>(a);
    }
    promise_type();
    ~promise_type();
    promise_type(const promise_type&) = delete;
    promise_type& operator=(const promise_type&) = delete;
  };

  Flow(Flow&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Flow& operator=(Flow&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Flow(const Flow&) = delete;
  Flow& operator=(const Flow&) = delete;
  ~Flow() {
    if (h_) h_.destroy();
  }
  [[nodiscard]] std::coroutine_handle<promise_type> release() noexcept {
    return std::exchange(h_, {});
  }

 private:
  explicit Flow(std::coroutine_handle<promise_type> h) : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

// co_await await(child): calls the child and yields its answer.
struct Await {
  Embed child;
  std::coroutine_handle<Flow::promise_type> handle;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<Flow::promise_type> h) {
    handle = h;
    h.promise().pending = std::move(child);
  }
  edn::Value await_resume() { return std::move(handle.promise().answer); }
};
inline Await await(Embed child) {
  return Await{std::move(child), {}};
}

using FlowBody = std::function<Flow(const edn::Value& args)>;

// Registers a flow as a component. `render` draws the flow's own frame in the
// moments it is on top (rarely visible); the default shows nothing.
Definition define_flow(Registry& reg, std::string_view id, FlowBody body);

// Number of coroutine frames alive in this process (for leak tests).
std::size_t live_flow_frames() noexcept;

}  // namespace stube
