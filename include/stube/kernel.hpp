// stube/kernel.hpp — the pure fold over conversations (SPEC §2–§4).
//
// Every function here is pure: it takes a conversation value and returns a
// new one plus the DOM fragments to send. Nothing here does I/O, so tests
// (and the runtime) drive conversations directly:
//
//   stube::Registry reg;  ... reg.define<Counter>("demo/counter") ...
//   stube::Step s = stube::start_conversation(reg, "demo/counter", {}, {});
//   s = stube::dispatch(reg, s.conv, stube::top_instance(s.conv), {"inc"}, {});
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "stube/component.hpp"
#include "stube/edn.hpp"

namespace stube {

// One DOM patch. Morph replaces the element whose id is `target` (morphing);
// Inner replaces the contents of that element.
struct Fragment {
  enum class Mode { Morph, Inner };
  std::string target;  // an element id
  Mode mode = Mode::Morph;
  std::string html;
};

// The id of the page element that holds the top frame's view.
inline constexpr std::string_view kRootElementId = "stube-root";
// The id of the page element where handler errors are shown.
inline constexpr std::string_view kErrorElementId = "stube-error";

struct TimerRequest {
  std::string iid;
  std::chrono::milliseconds delay{0};
  Event event;
};

struct KernelOptions {
  std::size_t history_limit = 20;  // snapshots kept for `back`; 0 disables back
  std::string base_path;           // URL prefix for event attributes
};

// The outcome of one fold step.
struct Step {
  // UnknownEvent: the instance's component has no handler for the event
  // (a forged URL, or a page rendered by an older version): nothing ran.
  // BadSignals: a kept signal does not fit the component's state type (see
  // ComponentDef::fit_signals): nothing ran.
  // BadEvent: the handler refused the event (it threw stube::BadEvent):
  // the conversation is unchanged.
  enum class Status { Ok, NoInstance, UnknownEvent, BadSignals, BadEvent, HandlerError };
  Status status = Status::Ok;
  edn::Value conv;       // the new conversation (unchanged on error)
  bool changed = false;  // conv differs from the input (Ok steps but a timer's: always, touched)
  std::vector<Fragment> fragments;   // DOM patches to send, in order
  std::vector<TimerRequest> timers;  // `after` effects to schedule
  // Instances of the input conversation that the result no longer has
  // (answered, replaced, undone by back; all of them when it ended).
  std::vector<std::string> removed_instances;
  bool ended = false;  // an `end` effect ran
  edn::Value end_value;
  // The moments (history snapshots) the step made and undid: `recorded`, a
  // new moment began (the one before it went into the history); `undone`,
  // how many moments `back` undid (a wakeup may go back again). The runtime
  // uses them to drop the timers of undone moments.
  bool recorded = false;
  std::size_t undone = 0;
  // The frames whose `wakeup` back ran (the top of each moment it restored,
  // whatever that wakeup then did to the stack): the runtime drops every
  // timer those frames have pending, which this wakeup re-arms.
  std::vector<std::string> woken_by_back;
  std::string error;  // HandlerError, UnknownEvent, BadSignals, BadEvent: what went wrong
};

// Makes a new conversation with `root` instantiated (init, then start).
// Its fragments are the first view only (the root element's contents): the
// page does not exist yet, so a patch a start hook asks for is dropped.
// Unlike the other entry points it throws, rather than returning a
// HandlerError step, what a hook or the first render throws (there is no
// conversation to keep as it was), and std::invalid_argument for an
// unknown root; Runtime::mint passes that on (the server answers 500).
Step start_conversation(const Registry& reg, std::string_view root, const edn::Value& args,
                        const KernelOptions& opts, std::string cid = {});

// Applies one event to instance `iid`. Status NoInstance (conversation
// untouched) when iid is not live. A handler that throws leaves the
// conversation untouched and yields an error fragment (HandlerError).
Step dispatch(const Registry& reg, const edn::Value& conv, std::string_view iid, const Event& event,
              const KernelOptions& opts);

// A timer's event (an `after` effect come due): as dispatch, but not a
// moment of its own: nothing goes into the history, so `back` undoes it
// together with the moment that requested the timer (a ticking clock does
// not fill the history, and back undoes what the user did).
// Nor does it bump :conv/touched: the TTL counts the time since the browser
// last did something, so a component that re-arms its timer for ever does not
// keep an abandoned conversation alive.
Step dispatch_timer(const Registry& reg, const edn::Value& conv, std::string_view iid,
                    const Event& event, const KernelOptions& opts);

// The `back` effect requested from outside the handlers (POST /back/<cid>).
Step go_back(const Registry& reg, const edn::Value& conv, const KernelOptions& opts);

// A restored conversation becomes live again: every frame's wakeup runs,
// the top frame's first, and the whole view is rendered.
Step wake(const Registry& reg, const edn::Value& conv, const KernelOptions& opts);

// The whole view for a page that connects again (no hook runs; nothing
// changes). A view that throws is a HandlerError whose fragment shows it.
Step redraw(const Registry& reg, const edn::Value& conv, const KernelOptions& opts);

// Shutdown/end: run every stop hook (top frame first, children before
// parents). A stop hook that throws is logged here and skipped.
Step stop_all(const Registry& reg, const edn::Value& conv, const KernelOptions& opts);

// The top frame's view, as the contents of the root element.
std::string render_top(const Registry& reg, const edn::Value& conv, const KernelOptions& opts);

// Accessors.
std::string_view top_instance(const edn::Value& conv);
const edn::Value& instance(const edn::Value& conv, std::string_view iid);

}  // namespace stube
