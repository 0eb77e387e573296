// The pure fold: (conversation, event) -> (conversation', fragments).
#include "stube/kernel.hpp"

#include <stdexcept>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "kernel/patch_targets.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"

namespace stube {

using namespace edn::literals;

namespace {

// A BadEvent thrown by the event's own handler (Step::BadEvent). One thrown
// further on (a parent's resume, a flow going on, a hook) comes after the
// fold changed things a refusal would hide: that is a HandlerError.
struct RefusedByHandler : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A kept signal that does not fit the component's state type (Step::BadSignals).
struct BadSignals : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const edn::Value kId = "instance/id"_kw;
const edn::Value kType = "instance/type"_kw;
const edn::Value kParent = "instance/parent"_kw;
const edn::Value kResume = "instance/resume"_kw;

// The caller's resume key: a string as stube writes it, or a keyword as
// the original Clojure library does (by its text, "ns/name" when it has a
// namespace); none is "".
std::string_view resume_key(const edn::Value& resume) {
  if (resume.is(edn::Kind::String)) return resume.as_string();
  if (resume.is(edn::Kind::Keyword)) return resume.as_keyword();
  return {};
}

bool is_frame_key(const edn::Value& key) {
  return key.is(edn::Kind::Keyword) && key.ns() == "instance";
}

// The component's own state: the instance minus the :instance/* keys. Built
// in one go (not key by key): this runs for every handler and every render.
edn::Value own_state(const edn::Value& inst) {
  const auto entries = inst.entries();
  std::vector<edn::MapEntry> kept;
  kept.reserve(entries.size());
  for (const edn::MapEntry& e : entries)
    if (!is_frame_key(e.key)) kept.push_back(e);
  return kept.size() == entries.size() ? inst : edn::map(kept);
}

// `state` plus the framework keys of `inst` (state cannot clobber them).
edn::Value with_frame_keys(const edn::Value& state, const edn::Value& inst) {
  std::vector<edn::MapEntry> all;
  if (state.is(edn::Kind::Map)) {
    all.reserve(state.size() + 4);
    for (const edn::MapEntry& e : state.entries())
      if (!is_frame_key(e.key)) all.push_back(e);
  }
  for (const edn::MapEntry& e : inst.entries())
    if (is_frame_key(e.key)) all.push_back(e);
  return edn::map(all);
}

std::string error_html(std::string_view message) {
  return html::div(html::cls("stube-error-message"), html::strong("Error: "), message).str();
}

// One fold over a conversation. Effects are applied in the order requested;
// `end` and `back` stop the remaining ones.
class Fold {
 public:
  Fold(const Registry& reg, const KernelOptions& opts, const edn::Value& conv)
      : reg_(reg), opts_(opts), original_(conv), conv_(conv) {
    wire_.base_path = opts.base_path;
    wire_.cid = std::string(conv::id(conv));
  }

  const ComponentDef& def_of(const edn::Value& inst) const {
    const ComponentDef* def = reg_.find(inst.get(kType));
    if (!def) throw std::invalid_argument("unknown component " + edn::write(inst.get(kType)));
    return *def;
  }

  // Creates an instance of `e` above the stack and runs its start hook.
  std::string instantiate(const Embed& e, const edn::Value& parent, std::string_view resume) {
    const ComponentDef* def = reg_.find(e.component);
    if (!def) throw std::invalid_argument("unknown component " + edn::write(e.component));
    edn::Value state =
        def->init ? def->init(e.args) : (e.args.is(edn::Kind::Map) ? e.args : edn::map({}));
    std::string iid = conv::mint_id("ix-");
    edn::Value frame = edn::map({{kId, edn::Value(iid)},
                                 {kType, def->id},
                                 {kParent, parent},
                                 {kResume, resume.empty() ? edn::Value() : edn::Value(resume)}});
    conv_ = conv::put_instance(conv_, iid, with_frame_keys(state, frame));
    conv_ = conv::with_stack(conv_, conv::stack(conv_).conj(edn::Value(iid)));
    top_changes();
    if (def->start) run_hook(iid, [&](Self& s) { def->start(s); });
    return iid;
  }

  // Runs f on a Self over instance iid, then applies what it did.
  template <class F>
  void run_hook(const std::string& iid, F&& f) {
    // A callee that answers from its start hook resumes its caller inside
    // that hook, so a loop of such calls (a flow awaiting one per item)
    // nests a few C++ frames per call: bounded here, or a long loop would
    // overflow the thread's stack and take the process down.
    if (hook_depth_ >= kMaxHookDepth)
      throw std::logic_error(
          "more than " + std::to_string(kMaxHookDepth) +
          " hooks nested in one step: each component that answers from its start hook resumes "
          "its caller inside that hook, and each resume hook that answers in turn resumes its "
          "own caller inside it; call fewer such components in one step, or pass answers up "
          "fewer frames at once");
    ++hook_depth_;
    struct Unnest {
      std::size_t& depth;
      ~Unnest() { --depth; }
    } unnest{hook_depth_};
    const edn::Value& inst = conv::instance(conv_, iid);
    Self self(iid, own_state(inst), &wire_);
    f(self);
    apply(iid, self);
  }

  void handle_event(const std::string& iid, const Event& event) {
    const edn::Value& inst = conv::instance(conv_, iid);
    const ComponentDef& def = def_of(inst);
    Self self(iid, own_state(inst), &wire_);
    keep_signals(def, event, self);
    // dispatch() made sure that one of the two exists (else UnknownEvent).
    try {
      if (auto it = def.handlers.find(event.name); it != def.handlers.end())
        it->second(self, event);
      else
        def.handle(self, event);
    } catch (const BadEvent& e) {
      throw RefusedByHandler(e.what());
    }
    apply(iid, self);
  }

  // Copies the component's kept signals into its state. A typed component's
  // signals are fitted to its state type first (only the kept ones: an
  // older record's other fields are not the browser's doing): a number sent
  // for a text field is bad input, not a bug in the handler, and no handler
  // may run on it; a key a nested struct does not declare is the page's
  // invention, and is not kept.
  static void keep_signals(const ComponentDef& def, const Event& event, Self& self) {
    if (!event.signals.is(edn::Kind::Map)) return;
    std::vector<edn::MapEntry> kept;
    for (const std::string& name : def.kept_signals) {
      edn::Value key = edn::Value::keyword(name);
      if (const edn::Value* v = event.signals.find(key)) {
        kept.push_back({std::move(key), *v});
      } else if (event.signals.contains(edn::Value(name))) {
        // An embedding's own event, built by hand: dropped, the handler
        // would run on the old value without a word.
        throw BadSignals("a signal of " + edn::write(def.id) + " is keyed by the string " +
                         edn::write(edn::Value(name)) + ": signal keys are keywords (" +
                         edn::write(key) + ")");
      }
    }
    if (kept.empty()) return;
    if (def.fit_signals) {
      edn::Value fitted;
      try {
        fitted = def.fit_signals(edn::map(kept));
      } catch (const edn::TypeError& e) {
        throw BadSignals("a signal of " + edn::write(def.id) +
                         " does not fit its state: " + e.what());
      }
      for (edn::MapEntry& e : kept)
        if (const edn::Value* f = fitted.find(e.key)) e.val = *f;  // not a field: as sent
    }
    for (const edn::MapEntry& e : kept) self.set(e.key.as_keyword(), e.val);
  }

  void apply(const std::string& iid, Self& self) {
    const edn::Value& inst = conv::instance(conv_, iid);
    if (inst.is_nil()) return;  // removed meanwhile (e.g. by back)
    edn::Value next = with_frame_keys(self.state(), inst);
    if (next != inst) {
      conv_ = conv::put_instance(conv_, iid, next);
      dirty_.push_back(iid);
    }
    bool left = false;  // by an answer or replace of its own
    for (Effect& e : self.take_effects()) {
      if (stopped_ || left) return;
      if (conv::instance(conv_, iid).is_nil()) {
        // Gone while an earlier effect applied: a callee that answered at
        // once resumed it, and it answered from its resume hook. That answer
        // came after this list was requested, so the conversation-wide
        // effects in it still apply; the frame's own have no frame left.
        if (e.kind == Effect::Kind::End || e.kind == Effect::Kind::Back) apply_effect(iid, e);
        continue;
      }
      if (e.kind == Effect::Kind::Call) refuse_call_from_below(iid, e);
      apply_effect(iid, e);
      left = e.kind == Effect::Kind::Answer || e.kind == Effect::Kind::Replace;
    }
  }

  void apply_effect(const std::string& iid, Effect& e) {
    switch (e.kind) {
      case Effect::Kind::Call:
        check_resume_key(iid, e);
        instantiate(e.embed, edn::Value(iid), e.resume);
        return;
      case Effect::Kind::Answer:
        answer(iid, std::move(e.value));
        return;
      case Effect::Kind::Replace:
        replace(iid, e.embed);
        return;
      case Effect::Kind::End:
        ended_ = true;
        end_value_ = std::move(e.value);
        stopped_ = true;
        return;
      case Effect::Kind::Back:
        back();
        return;
      case Effect::Kind::Patch:
        check_patch_targets(e.html.str());
        patches_.push_back({iid, Fragment{{}, Fragment::Mode::Morph, std::move(e.html).release()}});
        return;
      case Effect::Kind::After:
        timers_.push_back(TimerRequest{iid, e.delay, std::move(e.event)});
        return;
    }
  }

  // A frame waits for one answer at a time. One under the top (its callee
  // still up: called earlier in this event, or before, when a timer or a
  // wakeup reaches it) calling again would stack the new child over the
  // frames above it, as its own, and be resumed twice. A callee that
  // answered at once has left, and the frame may call again.
  void refuse_call_from_below(const std::string& iid, const Effect& e) const {
    const std::string_view top = top_instance(conv_);
    if (top == iid) return;
    throw std::invalid_argument(
        "component " + edn::write(def_of(conv::instance(conv_, iid)).id) + " calls " +
        edn::write(e.embed.component) + " while " +
        edn::write(conv::instance(conv_, top).get(kType)) +
        " is above it on the stack, not yet answered: a frame waits for one answer at a time");
  }

  // A call names the caller's resume hook for the answer: a key it does
  // not have fails the event that calls, not, much later, the answer (when
  // the child has already left and cannot be answered again).
  void check_resume_key(const std::string& iid, const Effect& e) const {
    const ComponentDef& caller = def_of(conv::instance(conv_, iid));
    if (caller.resumes.contains(e.resume)) return;
    std::string known;
    for (const auto& [key, fn] : caller.resumes) known += (known.empty() ? "'" : ", '") + key + "'";
    throw std::invalid_argument("component " + edn::write(caller.id) + " calls " +
                                edn::write(e.embed.component) + " with resume key '" + e.resume +
                                "', which it has no resume hook for (" +
                                (known.empty() ? "it has none" : "it has " + known) + ")");
  }

  // Pops iid (and anything above it) and resumes its parent with v.
  void answer(const std::string& iid, edn::Value v) {
    const edn::Value inst = conv::instance(conv_, iid);
    const edn::Value& parent = inst.get(kParent);
    const edn::Value& resume = inst.get(kResume);
    // The root answering ends the conversation, and, as with `end`, a stop
    // hook that fails then is logged and keeps neither the others from
    // running nor the conversation alive.
    pop_through(iid, /*swallow_stop_errors=*/parent.is_nil());
    if (parent.is_nil()) {  // the root answered: the conversation is over
      ended_ = true;
      end_value_ = std::move(v);
      stopped_ = true;
      return;
    }
    const std::string pid(parent.as_string());
    const edn::Value& pinst = conv::instance(conv_, pid);
    const ComponentDef& pdef = def_of(pinst);
    auto it = pdef.resumes.find(std::string(resume_key(resume)));
    if (it == pdef.resumes.end())
      throw std::invalid_argument("component " + edn::write(pdef.id) + " has no resume key " +
                                  edn::write(resume));
    run_hook(pid, [&](Self& s) { it->second(s, v); });
  }

  void replace(const std::string& iid, const Embed& e) {
    const edn::Value inst = conv::instance(conv_, iid);
    pop_through(iid);
    instantiate(e, inst.get(kParent), resume_key(inst.get(kResume)));
  }

  // Removes every frame from the top down to and including iid, running
  // their stop hooks (top first).
  void pop_through(const std::string& iid, bool swallow_stop_errors = false) {
    for (;;) {
      const edn::Value& stack = conv::stack(conv_);
      if (stack.empty()) return;
      const std::string top(stack.at(stack.size() - 1).as_string());
      remove_frame(top, swallow_stop_errors);
      if (top == iid) return;
    }
  }

  // During shutdown a failing stop hook must not keep the others from
  // running (swallow_stop_errors); during an event it fails the event.
  void remove_frame(const std::string& iid, bool swallow_stop_errors = false) {
    stop_frame(iid, swallow_stop_errors);
    conv_ = conv::with_stack(conv_, conv::stack(conv_).pop());
    conv_ = conv::drop_instance(conv_, iid);
    top_changes();
  }

  // Runs the frame's stop hook and releases what it holds (a flow's
  // coroutine); the conversation itself is left as it is.
  void stop_frame(const std::string& iid, bool swallow_stop_errors) {
    const edn::Value inst = conv::instance(conv_, iid);
    const ComponentDef* def = reg_.find(inst.get(kType));
    if (def && def->stop) {
      Self self(iid, own_state(inst), &wire_);
      try {
        def->stop(self);  // effects of stop hooks are not applied
      } catch (const std::exception& e) {
        if (!swallow_stop_errors) throw;
        log::warn("stop hook of " + iid + " in conversation " + std::string(conv::id(conv_)) +
                  " failed: " + e.what());
      } catch (...) {
        if (!swallow_stop_errors) throw;
        log::warn("stop hook of " + iid + " in conversation " + std::string(conv::id(conv_)) +
                  " failed: it threw something that is not a std::exception");
      }
    }
    if (def && def->dispose) def->dispose(inst);
  }

  void back() {
    stopped_ = true;
    // A limit of 0 disables back, also over a history recorded under a
    // larger limit (a conversation restored from a store).
    if (opts_.history_limit == 0) return;
    // The live history, not original_'s: a wakeup that goes back again
    // (from the restored moment) must reach the moment before it, and stop
    // when there is none, not restore the same snapshot for ever.
    const edn::Value history = conv::history(conv_);
    if (history.empty()) return;
    // The UI goes back (instances and call stack); everything else stays the
    // live conversation's: what the runtime and the store keep there (the
    // owner, a shared store's :conv/version, which the snapshot has at its
    // old value and a compare-and-set would refuse) did not go back in time.
    const edn::Value& snapshot = history.at(history.size() - 1);
    conv_ = conv::with_history(original_, history.pop())
                .assoc(conv::keys::instances(), snapshot.get(conv::keys::instances()))
                .assoc(conv::keys::stack(), snapshot.get(conv::keys::stack()));
    is_back_ = true;
    ++undone_;
    top_changes();
    timers_.clear();         // requested by the moment just undone (the wakeup's own come after)
    woken_by_back_.clear();  // a wakeup that went back again: what it re-armed went too
    const std::string top(top_instance(conv_));
    const ComponentDef* def =
        top.empty() ? nullptr : reg_.find(conv::instance(conv_, top).get(kType));
    stopped_ = false;
    if (def && def->wakeup) {
      woken_by_back_.push_back(top);
      run_hook(top, [&](Self& s) { def->wakeup(s); });
    }
    stopped_ = true;
  }

  // A restored conversation's page is new: the whole view is sent, showing
  // what the wakeup hooks changed, and the patches they ask for follow it
  // (as after back). Every frame on the stack wakes, the top first: the
  // restart dropped the timers of those below it too, which reach them
  // there (a page's autosave under an open dialog), and a frame can only
  // re-arm them from its wakeup. A frame a wakeup above it removed (an
  // answer, a replace) does not wake; after an end or a back, none does.
  // Only the top frame must have a definition (it is shown): one below it
  // whose component this program no longer has fails when it is on top
  // again, not now.
  void wake_frames() {
    top_changes();
    const edn::Value stack = conv::stack(conv_);  // a copy: wakeups may change it
    for (std::size_t i = stack.size(); i-- > 0 && !stopped_;) {
      const std::string iid(stack.at(i).as_string());
      const edn::Value& inst = conv::instance(conv_, iid);
      if (inst.is_nil()) continue;
      const bool top = iid == top_instance(conv_);
      const ComponentDef* def = top ? &def_of(inst) : reg_.find(inst.get(kType));
      if (def && def->wakeup) run_hook(iid, [&](Self& s) { def->wakeup(s); });
    }
  }

  // The whole view will be rendered anew: patches requested before this
  // target the view it replaces (back: a moment undone), so they would be
  // drawn over it or lost; those requested after it apply on top.
  void top_changes() {
    top_changed_ = true;
    patches_.clear();
  }

  html::Html render(const std::string& iid) const {
    const edn::Value& inst = conv::instance(conv_, iid);
    const ComponentDef& def = def_of(inst);
    html::Html body;
    if (def.render) body = def.render(Self(iid, own_state(inst), &wire_));
    // Sized once: a large body is copied into the wrapper only once.
    const std::string_view component = def.id.as_keyword();
    std::string out;
    out.reserve(body.str().size() + iid.size() + component.size() + 48);
    out += "<div id=\"";
    html::escape_into(iid, out);
    out += "\" data-component=\"";
    html::escape_into(component, out);
    out += "\">";
    out += body.str();
    out += "</div>";
    return html::Html::unsafe_raw(std::move(out));
  }

  std::string render_top() const {
    const std::string top(top_instance(conv_));
    return top.empty() ? std::string() : render(top).release();
  }

  // The instances of the conversation the step began with that are gone
  // from its result: popped by an answer or a replace, undone by back, or
  // all of them when it ended. (One made and gone within the step never
  // reached the page.)
  std::vector<std::string> gone_instances() const {
    std::vector<std::string> gone;
    const edn::Value& before = original_.get(conv::keys::instances());
    const edn::Value& after = conv_.get(conv::keys::instances());
    if (!before.is(edn::Kind::Map)) return gone;
    for (const edn::MapEntry& e : before.entries())
      if (e.key.is(edn::Kind::String) &&
          (ended_ || !after.is(edn::Kind::Map) || !after.find(e.key)))
        gone.emplace_back(e.key.as_string());
    return gone;
  }

  // `by_user`: the moment came from the browser (an event, back, the wakeup
  // of a restored conversation), so it bumps :conv/touched; a timer's event does not, or a
  // component that re-arms a timer would keep its conversation from ever
  // being idle (the reaper's TTL counts from :conv/touched).
  Step finish(bool record_history, bool by_user = true) {
    Step s;
    s.ended = ended_;
    s.end_value = end_value_;
    s.timers = std::move(timers_);
    s.removed_instances = gone_instances();
    s.undone = undone_;
    s.woken_by_back = std::move(woken_by_back_);
    edn::Value next = conv_;
    if (!ended_) {
      // A snapshot holding a live flow could never be restored (its frame
      // moves on), and would keep the conversation unprintable long after
      // the flow ended: such moments are not recorded.
      const bool content_changed = !(next == original_);
      if (content_changed && record_history && !is_back_ && opts_.history_limit > 0 &&
          original_.printable()) {
        next = conv::with_history(
            next, conv::history(conv::push_history(original_, opts_.history_limit)));
        s.recorded = true;
      }
      // A history recorded under a larger limit (restored from a store, run
      // with a smaller history_limit now) is cut at the next step, whether
      // or not it records a moment: a limit of 0 keeps none.
      next = conv::cap_history(next, opts_.history_limit);
      if (by_user) next = conv::touch(next);
    }
    s.conv = next;
    s.changed = by_user || ended_ || !(next == original_);  // by_user: :conv/touched moved
    if (ended_) return s;
    conv_ = next;
    if (top_changed_) {
      s.fragments.push_back(
          Fragment{std::string(kRootElementId), Fragment::Mode::Inner, render_top()});
    } else if (patches_.empty()) {
      const std::string top(top_instance(conv_));
      for (const std::string& iid : dirty_)
        if (iid == top) {
          s.fragments.push_back(Fragment{iid, Fragment::Mode::Morph, render(iid).release()});
          break;
        }
    }
    // Only the top frame's view is on the page: a patch from a frame under
    // it (its timer, its wakeup) would land on the shown view's element of
    // the same id, or find none. Its state shows when it is on top again.
    const std::string_view shown = top_instance(conv_);
    for (PendingPatch& p : patches_)
      if (p.requester == shown) s.fragments.push_back(std::move(p.fragment));
    return s;
  }

 private:
  const Registry& reg_;
  const KernelOptions& opts_;
  const edn::Value original_;
  edn::Value conv_;
  Wire wire_;
  std::vector<std::string> dirty_;
  struct PendingPatch {
    std::string requester;  // the instance whose hook or handler asked for it
    Fragment fragment;
  };
  std::vector<PendingPatch> patches_;
  std::vector<TimerRequest> timers_;
  bool top_changed_ = false;
  bool stopped_ = false;
  bool ended_ = false;
  bool is_back_ = false;
  std::size_t undone_ = 0;  // snapshots back restored
  std::vector<std::string> woken_by_back_;
  static constexpr std::size_t kMaxHookDepth = 512;
  std::size_t hook_depth_ = 0;
  edn::Value end_value_;
};

// What a handler or hook threw when it was not a std::exception (a string,
// an int, a type of its own): still the handler's failure, not the server's.
constexpr const char* kNotAnException = "threw something that is not a std::exception";

// `context` (what the step was doing, for the log) goes into the error,
// not onto the page: the user reads what went wrong, the log also where.
Step error_step(const edn::Value& conv, std::string message, std::string_view context = {}) {
  Step s;
  s.status = Step::Status::HandlerError;
  s.conv = conv;
  s.fragments.push_back(
      Fragment{std::string(kErrorElementId), Fragment::Mode::Inner, error_html(message)});
  s.error = context.empty() ? std::move(message) : std::string(context) + ": " + message;
  return s;
}

// "event 'inc' to :demo/counter (ix-…)", for a handler error's log line.
// A malformed conversation (its instances not a map) has no type to name.
std::string event_context(const edn::Value& conv, std::string_view iid, const Event& event) {
  std::string to = "(" + std::string(iid) + ")";
  try {
    to = edn::write(conv::instance(conv, iid).get(kType)) + " " + to;
  } catch (const std::exception&) {
  }
  return "event '" + event.name + "' to " + to;
}

// An event refused before or by its handler: nothing changed, nothing is
// shown on the page (the client's request says what was wrong).
Step refused(const edn::Value& conv, Step::Status status, std::string why) {
  Step s;
  s.status = status;
  s.conv = conv;
  s.error = std::move(why);
  return s;
}

}  // namespace

std::string_view top_instance(const edn::Value& conv) {
  const edn::Value& stack = conv::stack(conv);
  return stack.empty() ? std::string_view() : stack.at(stack.size() - 1).as_string();
}

const edn::Value& instance(const edn::Value& conv, std::string_view iid) {
  return conv::instance(conv, iid);
}

Step start_conversation(const Registry& reg, std::string_view root, const edn::Value& args,
                        const KernelOptions& opts, std::string cid) {
  if (!reg.find(root)) throw std::invalid_argument("unknown component :" + std::string(root));
  const edn::Value conv = conv::make(cid.empty() ? conv::mint_id("cv-") : cid);
  Fold fold(reg, opts, conv);
  fold.instantiate(embed(root, args), edn::Value(), {});
  Step s = fold.finish(false);
  s.changed = true;
  // The page does not exist yet: its first view is the root element's
  // contents, and a patch a start hook asked for has nothing to land on.
  std::erase_if(s.fragments, [](const Fragment& f) { return f.target != kRootElementId; });
  return s;
}

namespace {

Step dispatch_event(const Registry& reg, const edn::Value& conv, std::string_view iid,
                    const Event& event, const KernelOptions& opts, bool by_user) {
  // The look-ups too are inside the try: a malformed conversation (loaded
  // from a store) is a step with its error, as for the other entry points.
  try {
    if (conv::instance(conv, iid).is_nil()) {
      return refused(conv, Step::Status::NoInstance, {});
    }
    if (const ComponentDef* def = reg.find(conv::instance(conv, iid).get(kType));
        def != nullptr && !def->handle && !def->handlers.contains(event.name)) {
      return refused(
          conv, Step::Status::UnknownEvent,
          "component " + edn::write(def->id) + " has no handler for event '" + event.name + "'");
    }
    Fold fold(reg, opts, conv);
    fold.handle_event(std::string(iid), event);
    return fold.finish(by_user, by_user);
  } catch (const BadSignals& e) {
    return refused(conv, Step::Status::BadSignals, e.what());
  } catch (const RefusedByHandler& e) {
    const edn::Value& type = conv::instance(conv, iid).get(kType);
    return refused(
        conv, Step::Status::BadEvent,
        "component " + edn::write(type) + " refused event '" + event.name + "': " + e.what());
  } catch (const std::exception& e) {
    return error_step(conv, e.what(), event_context(conv, iid, event));
  } catch (...) {
    return error_step(conv, kNotAnException, event_context(conv, iid, event));
  }
}

}  // namespace

Step dispatch(const Registry& reg, const edn::Value& conv, std::string_view iid, const Event& event,
              const KernelOptions& opts) {
  return dispatch_event(reg, conv, iid, event, opts, true);
}

Step dispatch_timer(const Registry& reg, const edn::Value& conv, std::string_view iid,
                    const Event& event, const KernelOptions& opts) {
  return dispatch_event(reg, conv, iid, event, opts, false);
}

Step go_back(const Registry& reg, const edn::Value& conv, const KernelOptions& opts) {
  try {
    Fold fold(reg, opts, conv);
    fold.back();
    return fold.finish(false);
  } catch (const std::exception& e) {
    return error_step(conv, e.what());
  } catch (...) {
    return error_step(conv, kNotAnException);
  }
}

// A record with nothing on its stack (edited by hand, or written by another
// program) has no view: a page that showed it would stay blank, with every
// event refused as for a gone instance. Said on the page instead.
void require_a_view(const edn::Value& conv) {
  if (conv::stack(conv).empty())
    throw std::runtime_error("conversation " + std::string(conv::id(conv)) +
                             " has nothing to show: its :conv/stack is empty. Reload the page to "
                             "start over.");
}

Step wake(const Registry& reg, const edn::Value& conv, const KernelOptions& opts) {
  try {
    require_a_view(conv);
    Fold fold(reg, opts, conv);
    fold.wake_frames();
    return fold.finish(false);
  } catch (const std::exception& e) {
    return error_step(conv, e.what());
  } catch (...) {
    return error_step(conv, kNotAnException);
  }
}

Step redraw(const Registry& reg, const edn::Value& conv, const KernelOptions& opts) {
  try {
    require_a_view(conv);
    Step s;
    s.conv = conv;
    s.fragments.push_back(
        Fragment{std::string(kRootElementId), Fragment::Mode::Inner, render_top(reg, conv, opts)});
    return s;
  } catch (const std::exception& e) {
    return error_step(conv, e.what());
  } catch (...) {
    return error_step(conv, kNotAnException);
  }
}

// Top first, each frame once. The conversation is not rebuilt frame by
// frame (it ends as a whole): a stack of n frames costs O(n), also a
// restored one that names the same frame many times.
Step stop_all(const Registry& reg, const edn::Value& conv, const KernelOptions& opts) {
  Fold fold(reg, opts, conv);
  const edn::Value stack = conv::stack(conv);
  std::unordered_set<std::string_view> stopped;
  for (std::size_t i = stack.size(); i-- > 0;) {
    const std::string_view iid = stack.at(i).as_string();
    if (stopped.insert(iid).second) fold.stop_frame(std::string(iid), true);
  }
  Step s;
  s.conv = conv;
  s.ended = true;
  return s;
}

std::string render_top(const Registry& reg, const edn::Value& conv, const KernelOptions& opts) {
  Fold fold(reg, opts, conv);
  return fold.render_top();
}

}  // namespace stube
