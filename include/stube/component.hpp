// stube/component.hpp — defining components.
//
// A component is registered under a namespaced id ("demo/counter") and gives
// any of the hooks below. Hooks receive a context (`Self`, or `Ctx<S>` for a
// typed state) through which they change state and request effects: calling
// a child, answering the parent, ending the conversation, ...
//
//   struct Counter { std::int64_t count = 0; };
//   STUBE_STATE(Counter, count)
//
//   registry.define<Counter>("demo/counter")
//       .render([](const stube::Ctx<Counter>& c) {
//         using namespace stube::html;
//         return div(h1("Count: ", c->count),
//                    button(c.on("click", "dec"), "-"), button(c.on("click", "inc"), "+"));
//       })
//       .on("inc", [](stube::Ctx<Counter>& c) { ++c->count; })
//       .on("dec", [](stube::Ctx<Counter>& c) { --c->count; });
//
// The state of an instance is EDN (it is what gets persisted); a typed state
// is converted to and from EDN around every hook.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "stube/edn.hpp"
#include "stube/html.hpp"
#include "stube/state.hpp"

namespace stube {

// A component to instantiate: its id and init arguments. Plain data.
struct Embed {
  edn::Value component;  // keyword
  edn::Value args;
};
Embed embed(std::string_view component_id, edn::Value args = {});

// An event addressed to an instance.
struct Event {
  std::string name;
  // Default member initializers keep Event{"inc"} free of -Wmissing-field-initializers.
  edn::Value payload{};  // nil when none
  edn::Value signals{};  // map of keyword -> value from the browser (nil when none)
};

// Thrown by a handler for an event it does not accept: a payload or signal
// of the wrong shape, i.e. a forged or garbled request, not a bug. The
// event is refused as bad input: nothing changes, and the browser's request
// gets HTTP 400 with the message, which the page shows in its error element
// (a handler that throws anything else is a 500, its error shown there too).
//   const edn::Value& p = e.payload;
//   if (!p.is(edn::Kind::Int)) throw stube::BadEvent("pick: expected an option's index");
struct BadEvent : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// A requested effect (SPEC §4). Built by the context methods below.
struct Effect {
  enum class Kind { Call, Answer, Replace, End, Back, Patch, After };
  Kind kind;
  Embed embed;                         // Call, Replace
  std::string resume;                  // Call
  edn::Value value;                    // Answer, End
  html::Html html;                     // Patch
  std::chrono::milliseconds delay{0};  // After
  Event event;                         // After
};

// Where rendered event attributes post to (set by the kernel).
struct Wire {
  std::string base_path;  // e.g. "" or "/app"
  std::string cid;
};

// The context every hook receives: the instance's state and the effects it
// requests. State changes and effects take effect only if the hook returns
// normally; an exception discards all of them.
namespace detail {
// state[key] for a state key given with or without its ':' (a keyword).
const edn::Value& state_key(const edn::Value& state, std::string_view key);
}  // namespace detail

// Limits of an event payload (Self::on): the server reads it no deeper than
// this, and a URL much longer would not fit in a request's head
// (ServerOptions::max_header_bytes, 8 KiB by default, cookies included).
inline constexpr std::size_t kMaxPayloadDepth = 64;
inline constexpr std::size_t kMaxPayloadUrlBytes = 4096;

class Self {
 public:
  Self(std::string iid, edn::Value state, const Wire* wire)
      : iid_(std::move(iid)), state_(std::move(state)), wire_(wire) {}
  // Not copyable: a hook written to take its context by value
  // ([](Self s) {...}, [](auto c) {...}) would change a copy and lose every
  // write and effect; it is a compile error instead. Take Self& / Ctx<S>&.
  Self(const Self&) = delete;
  Self& operator=(const Self&) = delete;
  Self(Self&&) = default;
  Self& operator=(Self&&) = default;

  std::string_view id() const noexcept { return iid_; }
  const Wire* wire() const noexcept { return wire_; }
  // The component's own state (a map; the :instance/* keys are not in it).
  const edn::Value& state() const noexcept { return state_; }
  void set_state(edn::Value s) { state_ = std::move(s); }
  // A state key is a keyword: s["count"] and s[":count"] read the key
  // s.set("count", …) and s.set(":count", …) write.
  const edn::Value& operator[](std::string_view key) const;
  void set(std::string_view key, edn::Value v);

  // Effects.
  void call(Embed child, std::string_view resume_key);
  void answer(edn::Value v = {});
  void replace(Embed other);
  void end(edn::Value v = {});
  void back();
  void patch(html::Html h);
  void after(std::chrono::milliseconds delay, std::string_view event, edn::Value payload = {});
  void add(Effect e) { effects_.push_back(std::move(e)); }  // low level: prefer the methods above
  const std::vector<Effect>& effects() const noexcept { return effects_; }
  [[nodiscard]] std::vector<Effect> take_effects() { return std::move(effects_); }

  // Rendering helpers: an attribute that posts `event` (with an optional EDN
  // payload) when the DOM event fires, and one that binds a form field to a
  // browser signal (declare it with keep() to receive it in state).
  // The payload travels in the event's URL: at most kMaxPayloadDepth levels
  // deep, kMaxPayloadUrlBytes once encoded, and printable (no opaque
  // value); on() throws std::invalid_argument otherwise (send a key into
  // the state instead of the data).
  html::Attr on(std::string_view dom_event, std::string_view event,
                const edn::Value& payload = {}) const;
  html::Attr bind(std::string_view signal) const;

 private:
  std::string iid_;
  edn::Value state_;
  const Wire* wire_;
  std::vector<Effect> effects_;
};

// Typed context: the state as a C++ struct declared with STUBE_STATE.
// Read and write the fields through c->field. set() and set_state() (on
// the Ctx, not through a Self&) write the struct too, so that a write to a
// declared field is not lost (a value of the wrong type is an
// edn::TypeError naming the field); c[":key"] and state() show the EDN as
// the hook got it, with those writes: for the keys the struct does not
// declare. (They return references, valid as long as no write follows.)
template <class S>
class Ctx : public Self {
 public:
  Ctx(std::string iid, edn::Value state, const Wire* wire)
      : Self(std::move(iid), state, wire), typed_(from_edn<S>(state)) {}
  S& operator*() noexcept { return typed_; }
  const S& operator*() const noexcept { return typed_; }
  S* operator->() noexcept { return &typed_; }
  const S* operator->() const noexcept { return &typed_; }
  // The EDN state with the struct's fields written over the untyped keys.
  edn::Value merged_state() const { return merge_into(Self::state(), typed_); }

  void set_state(edn::Value s) {
    S typed = from_edn<S>(s);
    Self::set_state(std::move(s));
    typed_ = std::move(typed);
  }
  void set(std::string_view key, edn::Value v) {
    set_state(merged_state().assoc(edn::Value::keyword(key), std::move(v)));
  }

 private:
  S typed_;
};

// Hook signatures on the untyped level; typed definitions adapt to these.
using InitFn = std::function<edn::Value(const edn::Value& args)>;
using RenderFn = std::function<html::Html(const Self&)>;
using HookFn = std::function<void(Self&)>;
using HandleFn = std::function<void(Self&, const Event&)>;
using ResumeFn = std::function<void(Self&, const edn::Value& answer)>;

// Everything the kernel knows about one component.
struct ComponentDef {
  edn::Value id;  // keyword
  InitFn init;
  RenderFn render;
  HandleFn handle;                                        // catch-all, after the per-event ones
  std::map<std::string, HandleFn, std::less<>> handlers;  // by event name
  HookFn start, stop, wakeup;
  std::map<std::string, ResumeFn, std::less<>> resumes;  // by resume key
  std::vector<std::string> kept_signals;
  // The kept signals (a map of them) as the component's state type writes
  // them, or edn::TypeError naming the field that does not fit. Typed
  // components set it (to_edn(from_edn<S>(signals))); the kernel runs it on
  // the kept signals before they are copied into the state, so that a
  // browser sending a signal of the wrong type gets a 400 naming it instead
  // of a handler error, and keys a nested struct does not declare are not
  // stored. Untyped components check their signals themselves.
  std::function<edn::Value(const edn::Value& signals)> fit_signals;
  // Internal (flows): releases live resources held in a state when its
  // instance goes away.
  std::function<void(const edn::Value& state)> dispose;
  // Set by the Registry when a Runtime takes it (on the thread that makes
  // it): its threads read the definition without a lock from then on, so
  // the Definition setters (and def()) refuse to change it. Not for users.
  bool sealed = false;
};

namespace detail {
// Throws std::logic_error naming the component (a setter after sealing).
[[noreturn]] void refuse_sealed(const ComponentDef& def);
// Adds `signals` to the kept ones (keep() called twice keeps both lists),
// each name once.
void keep_signals(ComponentDef& def, const std::vector<std::string>& signals);

// A typed component's init: (const edn::Value& args) -> S itself. An EDN map
// (what an untyped init returns) would otherwise be taken as S's first field
// when that field is an edn::Value.
template <class F, class S>
concept TypedInit = std::is_invocable_v<F&, const edn::Value&> &&
    std::is_same_v<std::remove_cvref_t<std::invoke_result_t<F&, const edn::Value&>>, S>;
}  // namespace detail

// Fluent definition of an untyped component (state = EDN map).
class Definition {
 public:
  explicit Definition(ComponentDef& def) : def_(def) {}
  Definition& init(InitFn f) { return open(), def_.init = std::move(f), *this; }
  Definition& render(RenderFn f) { return open(), def_.render = std::move(f), *this; }
  Definition& handle(HandleFn f) { return open(), def_.handle = std::move(f), *this; }
  Definition& start(HookFn f) { return open(), def_.start = std::move(f), *this; }
  Definition& stop(HookFn f) { return open(), def_.stop = std::move(f), *this; }
  Definition& wakeup(HookFn f) { return open(), def_.wakeup = std::move(f), *this; }
  Definition& keep(const std::vector<std::string>& signals) {
    return open(), detail::keep_signals(def_, signals), *this;
  }
  template <class F>
  Definition& on(std::string event, F f) {
    static_assert(std::is_invocable_v<F, Self&, const Event&> || std::is_invocable_v<F, Self&>,
                  "an event handler takes (Self&) or (Self&, const Event&): by reference");
    open();
    if constexpr (std::is_invocable_v<F, Self&, const Event&>)
      def_.handlers[std::move(event)] = std::move(f);
    else
      def_.handlers[std::move(event)] = [f = std::move(f)](Self& s, const Event&) { f(s); };
    return *this;
  }
  Definition& resume(std::string key, ResumeFn f) {
    return open(), def_.resumes[std::move(key)] = std::move(f), *this;
  }
  // The definition itself (for what the setters do not cover); refused,
  // as they are, once a runtime has taken the registry.
  ComponentDef& def() { return open(), def_; }
  const ComponentDef& def() const noexcept { return def_; }

 private:
  void open() const {
    if (def_.sealed) detail::refuse_sealed(def_);
  }
  ComponentDef& def_;
};

// Fluent definition of a component whose state is the struct S.
template <class S>
class TypedDefinition {
 public:
  explicit TypedDefinition(ComponentDef& def) : def_(def) {
    // As for an untyped component: map arguments are the state (the fields
    // they name; the others keep their defaults), anything else none.
    def_.init = [](const edn::Value& args) {
      return to_edn(args.is(edn::Kind::Map) ? from_edn<S>(args) : S{});
    };
    def_.fit_signals = [](const edn::Value& signals) { return to_edn(from_edn<S>(signals)); };
  }
  template <class F>
  TypedDefinition& init(F f) {  // S f(const edn::Value& args)
    static_assert(detail::TypedInit<F, S>,
                  "a typed component's init takes (const edn::Value& args) and returns its state "
                  "struct S, not an EDN map (from_edn<S>(map) makes one S from a map)");
    open();
    def_.init = [f = std::move(f)](const edn::Value& args) { return to_edn(f(args)); };
    return *this;
  }
  template <class F>
  TypedDefinition& render(F f) {  // html::Html f(const Ctx<S>&)
    open();
    def_.render = [f = std::move(f)](const Self& self) {
      const Ctx<S> c(std::string(self.id()), self.state(), self.wire());
      return f(c);
    };
    return *this;
  }
  template <class F>
  TypedDefinition& on(std::string event, F f) {  // f(Ctx<S>&) or f(Ctx<S>&, const Event&)
    open();
    def_.handlers[std::move(event)] = adapt_event(std::move(f));
    return *this;
  }
  template <class F>
  TypedDefinition& handle(F f) {
    open();
    def_.handle = adapt_event(std::move(f));
    return *this;
  }
  template <class F>
  TypedDefinition& start(F f) {
    return open(), def_.start = adapt_hook(std::move(f)), *this;
  }
  template <class F>
  TypedDefinition& stop(F f) {
    return open(), def_.stop = adapt_hook(std::move(f)), *this;
  }
  template <class F>
  TypedDefinition& wakeup(F f) {
    return open(), def_.wakeup = adapt_hook(std::move(f)), *this;
  }
  template <class F>
  TypedDefinition& resume(std::string key, F f) {  // f(Ctx<S>&, const edn::Value& answer)
    open();
    def_.resumes[std::move(key)] = [f = std::move(f)](Self& self, const edn::Value& answer) {
      run_typed(self, [&](Ctx<S>& c) { f(c, answer); });
    };
    return *this;
  }
  // Each name must be a field of S: a kept signal is copied onto its field
  // before the handler runs, and a misspelt one would never reach it.
  TypedDefinition& keep(const std::vector<std::string>& signals) {
    open();
    if constexpr (detail::Described<S>) {
      for (const std::string& name : signals) refuse_unless_field(name);
    }
    return detail::keep_signals(def_, signals), *this;
  }

 private:
  void refuse_unless_field(const std::string& name) const {
    std::vector<std::string> fields;
    std::apply([&](const auto&... f) { (fields.emplace_back(f.name), ...); },
               stube_fields(static_cast<const S*>(nullptr)));
    if (std::find(fields.begin(), fields.end(), name) != fields.end()) return;
    std::string listed;
    for (const std::string& field : fields) listed += (listed.empty() ? "" : ", ") + field;
    throw std::invalid_argument("keep: \"" + name + "\" is not a field of the state of " +
                                edn::write(def_.id) + " (its fields: " + listed + ")");
  }
  void open() const {
    if (def_.sealed) detail::refuse_sealed(def_);
  }
  // Runs f on a typed context over self and copies state + effects back.
  template <class Fn>
  static void run_typed(Self& self, Fn&& f) {
    Ctx<S> c(std::string(self.id()), self.state(), self.wire());
    f(c);
    self.set_state(c.merged_state());
    for (Effect& e : c.take_effects()) self.add(std::move(e));
  }
  template <class F>
  static HandleFn adapt_event(F f) {
    static_assert(std::is_invocable_v<F, Ctx<S>&, const Event&> || std::is_invocable_v<F, Ctx<S>&>,
                  "an event handler takes (Ctx<S>&) or (Ctx<S>&, const Event&): by reference");
    return [f = std::move(f)](Self& self, const Event& e) {
      run_typed(self, [&](Ctx<S>& c) {
        if constexpr (std::is_invocable_v<F, Ctx<S>&, const Event&>)
          f(c, e);
        else
          f(c);
      });
    };
  }
  template <class F>
  static HookFn adapt_hook(F f) {
    static_assert(std::is_invocable_v<F, Ctx<S>&>, "a hook takes (Ctx<S>&): by reference");
    return [f = std::move(f)](Self& self) { run_typed(self, [&](Ctx<S>& c) { f(c); }); };
  }
  ComponentDef& def_;
};

// All components by id. Comes with the stock components (confirm, prompt,
// choose, info) already registered.
//
// Define every component before a Runtime (or a started Server) uses the
// registry: from then on its threads read it without a lock, so define()
// throws std::logic_error (a Definition kept from before must not be used
// any more either). Defining an id again before that replaces its
// definition (e.g. a stock dialog with your own).
class Registry {
 public:
  Registry();
  Definition define(std::string_view id);
  template <class S>
  TypedDefinition<S> define(std::string_view id) {
    return TypedDefinition<S>(add(id));
  }
  // nullptr when unknown.
  const ComponentDef* find(const edn::Value& id) const;
  const ComponentDef* find(std::string_view id) const;
  const ComponentDef* find(const char* id) const { return find(std::string_view(id)); }
  const ComponentDef* find(const std::string& id) const { return find(std::string_view(id)); }
  const ComponentDef* find(std::nullptr_t) const = delete;

  // Called by the Runtime that takes the registry: no define() after it,
  // and no change through a Definition kept from before (sealed).
  void mark_in_use() const noexcept;

 private:
  ComponentDef& add(std::string_view id);
  struct Less {
    bool operator()(const edn::Value& a, const edn::Value& b) const noexcept {
      return compare(a, b) < 0;
    }
  };
  std::map<edn::Value, std::unique_ptr<ComponentDef>, Less> defs_;
  mutable bool in_use_ = false;  // set on the thread that makes the runtime
};

// Registers the stock components (the Registry constructor calls this).
void register_stock_components(Registry& reg);

// --- stock components ------------------------------------------------------
// confirm answers true/false; prompt answers the typed string or the cancel
// sentinel; choose answers the picked option or the cancel sentinel; info
// answers :ok.
Embed confirm(std::string_view question);
Embed prompt(std::string_view question, std::string_view default_value = {});
Embed choose(std::string_view question, std::vector<edn::Value> options);
Embed info(std::string_view message);
// The answer of a cancelled prompt or choose (:stube/cancel).
const edn::Value& cancel_value();
inline bool cancelled(const edn::Value& answer) {
  return answer == cancel_value();
}

}  // namespace stube
