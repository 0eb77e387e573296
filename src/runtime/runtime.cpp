// The runtime: live conversations, per-conversation serialisation, saves,
// timers, the reaper, streams, shutdown.
//
// Locking: `map_mu` guards the cid -> Slot map only; each Slot has its own
// mutex held for the whole of one step (fold, save, send; see slot.hpp). So
// events for one conversation run one at a time and each is saved before the
// next starts, while different conversations proceed in parallel. end() takes the slot
// lock too, which is why a save can never land after the remove.
#include "stube/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "kernel/wire.hpp"
#include "runtime/ends_during_loads.hpp"
#include "runtime/moments.hpp"
#include "runtime/pending_removes.hpp"
#include "runtime/retry_rounds.hpp"
#include "runtime/slot.hpp"
#include "runtime/timers.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"

namespace stube {

using namespace edn::literals;
using detail::held;
using detail::settle;
using detail::Slot;
using detail::SlotLock;

namespace {

const edn::Value kOwnerKey = "stube/owner"_kw;

// Tolerant of a record written by hand: no history is an empty one.
std::size_t history_size(const edn::Value& conv) {
  const edn::Value& h = conv.get(conv::keys::history());
  return h.is(edn::Kind::Vector) ? h.size() : 0;
}

// Which moment the timers a step requests belong to: by default the one
// the conversation is in; `origin`, the moment of the timer whose event
// made the step; `woke`, a restored conversation's wakeups: each frame's
// own (Moments::woken).
struct TimersOf {
  detail::Moments::Ref origin;
  bool woke = false;
};

// The instance ids on conv's call stack, root first; as tolerant.
std::vector<std::string_view> stack_ids(const edn::Value& conv) {
  std::vector<std::string_view> ids;
  const edn::Value& stack = conv.get(conv::keys::stack());
  if (stack.is(edn::Kind::Vector))
    for (const edn::Value& iid : stack.items())
      if (iid.is(edn::Kind::String)) ids.push_back(iid.as_string());
  return ids;
}

// Whether iid is the top frame of conv. A record whose stack cannot be read
// counts as yes: the fold then reports what is wrong with it.
bool is_top(const edn::Value& conv, std::string_view iid) noexcept {
  try {
    return top_instance(conv) == iid;
  } catch (...) {
    return true;
  }
}

}  // namespace

struct Runtime::Impl {
  std::shared_ptr<const Registry> reg;
  RuntimeOptions opts;
  std::shared_ptr<ConversationStore> store;
  mutable std::shared_mutex map_mu;
  std::unordered_map<std::string, std::shared_ptr<Slot>> slots;
  // Load-on-miss in flight, and the cids ended meanwhile (under map_mu).
  detail::EndsDuringLoads ends_during_loads;
  std::atomic<bool> shutting{false};
  std::mutex shutdown_mu;
  bool shut_down = false;
  // The conversations shutdown stopped, for an end() after it let go of
  // them (under map_mu): only their records may go then, not one this
  // runtime never held (another server's, one load_all skipped).
  std::unordered_set<std::string> stopped_at_shutdown;
  // mint() holds it shared while it registers a conversation; shutdown()
  // takes it once exclusively, so every mint either finished registering
  // (and gets the final save) or sees `shutting` and is refused.
  std::shared_mutex lifecycle_mu;
  std::size_t restored = 0;
  // Ended conversations whose remove failed: never loaded back here, and
  // retried (see pending_removes.hpp). Made once the store is known; before
  // `timers`, so that it is destroyed after the timer thread has stopped.
  std::optional<detail::PendingRemoves> unremoved;
  // Rounds of resave_failed() after a save failed, with or without a reaper
  // (which also runs one each round). Before `timers`, as `unremoved`.
  std::optional<detail::RetryRounds> resaves;
  detail::TimerQueue timers;

  std::shared_ptr<Slot> find(std::string_view cid) const {
    std::shared_lock lock(map_mu);
    auto it = slots.find(std::string(cid));
    return it == slots.end() ? nullptr : it->second;
  }

  bool was_stopped_at_shutdown(std::string_view cid) const {
    std::shared_lock lock(map_mu);
    return stopped_at_shutdown.contains(std::string(cid));
  }

  // Why find_or_load did not keep what it loaded.
  enum class LoadRefused { none, foreign, full };

  // The slot for cid, loaded on a miss from a shared store (load-on-miss).
  // Throws StoreError when the store cannot be reached: the caller answers
  // "try again" (503), not "ended" (410). With `owner`, a request's: a
  // record another owner holds, or one past max_conversations, is not kept
  // (`refused` says which): cids are not secrets, and a stranger's guesses
  // must not fill this server's memory.
  std::shared_ptr<Slot> find_or_load(std::string_view cid, const std::string_view* owner = nullptr,
                                     LoadRefused* refused = nullptr) {
    if (auto slot = find(cid)) return slot;
    if (!store->shared() || shutting || !conv::valid_id(cid) || unremoved->contains(cid))
      return nullptr;
    detail::EndsDuringLoads::Ticket ticket;
    {
      std::unique_lock lock(map_mu);
      ticket = ends_during_loads.load_started();
    }
    struct LoadDone {
      Impl& m;
      detail::EndsDuringLoads::Ticket ticket;
      ~LoadDone() {
        std::unique_lock lock(m.map_mu);
        m.ends_during_loads.load_finished(ticket);
      }
    } done{*this, ticket};
    std::optional<edn::Value> loaded;
    try {
      loaded = store->load(cid);
    } catch (const StoreError& e) {
      log::error("store load failed for " + std::string(cid) + ": " + e.what());
      throw;
    } catch (const std::exception& e) {  // unreadable record: treat as absent
      log::error("store load failed for " + std::string(cid) + ": " + e.what());
      return nullptr;
    }
    if (!loaded) return nullptr;
    auto slot = make_slot(std::move(*loaded));
    if (owner && slot->foreign(*owner)) {
      *refused = LoadRefused::foreign;
      return nullptr;
    }
    std::unique_lock lock(map_mu);
    // Shutdown sets `shutting` before it takes its list of slots under this
    // lock: a slot added after that would never be stopped or saved. And a
    // racing request may have ended it meanwhile with a failed remove (the
    // cid joins `unremoved` before its slot leaves the map), or ended it
    // with a remove that worked after this load had read the record: the
    // record loaded here is that ended conversation.
    if (shutting || unremoved->contains(cid) || ends_during_loads.ended_since(cid, ticket))
      return nullptr;
    if (auto it = slots.find(std::string(cid)); it != slots.end())
      return it->second;  // a racing loader won
    if (owner && opts.max_conversations > 0 && slots.size() >= opts.max_conversations) {
      *refused = LoadRefused::full;
      log::warn("not loading conversation " + std::string(cid) + ": this runtime holds " +
                std::to_string(slots.size()) + " conversations (max_conversations)");
      return nullptr;
    }
    return slots.emplace(std::string(cid), slot).first->second;
  }

  // Runs f(slot) under the slot's lock when cid names a live conversation
  // owned by `owner`; otherwise says why not.
  template <class F>
  // `call` names the Runtime method, for the re-entry error.
  Runtime::Result with_owned(std::string_view call, std::string_view cid, std::string_view owner,
                             F&& f) {
    std::shared_ptr<Slot> slot;
    LoadRefused refused = LoadRefused::none;
    try {
      slot = find_or_load(cid, &owner, &refused);
    } catch (const StoreError&) {
      return Runtime::Result::Unavailable;
    }
    if (refused == LoadRefused::foreign) return Runtime::Result::Forbidden;
    if (refused == LoadRefused::full) return Runtime::Result::Unavailable;
    if (!slot) return Runtime::Result::NoConversation;
    std::shared_ptr<Output> forgotten;  // released after the lock
    const SlotLock lock(this, *slot, call, cid);
    forgotten = slot->forget_dropped();
    if (slot->ended) return Runtime::Result::NoConversation;
    if (slot->foreign(owner)) return Runtime::Result::Forbidden;
    return f(*slot);
  }

  static std::shared_ptr<Slot> make_slot(edn::Value conv) {
    auto slot = std::make_shared<Slot>();
    const edn::Value& owner = conv.get(kOwnerKey);
    slot->owner = owner.is(edn::Kind::String) ? std::string(owner.as_string()) : std::string();
    slot->conv = std::move(conv);
    slot->moments.reset(history_size(slot->conv));
    return slot;
  }

  enum class Saved {
    yes,                 // or failed on the backend, logged: the live value is right
    lost_race,           // another server saved first: the slot holds its version, or ended
    lost_race_unloaded,  // and its version could not be loaded: the slot holds `before`
  };

  // Saves the slot's value, which a step made from `before`. A step that
  // lost a version race is dropped whole, its value too.
  Saved save(Slot& slot, const edn::Value& before) {
    try {
      slot.conv = store->save(slot.conv);  // shared stores return the new version
      slot.dirty = false;
      slot.failed_resaves = 0;
    } catch (const StaleConversation& e) {
      slot.dirty = false;  // reload() takes the stored version or ends it
      if (reload(slot, e.what())) return Saved::lost_race;
      slot.conv = before;  // stale too, but no step that was never saved
      return Saved::lost_race_unloaded;
    } catch (const std::exception& e) {
      // The live conversation is still right in memory; only the durable
      // copy is stale. Log, carry on (SPEC §7), and save it again soon.
      slot.dirty = true;
      log::error("store save failed for " + std::string(conv::id(slot.conv)) + ": " + e.what());
      resaves->request();
    }
    return Saved::yes;
  }

  enum class Removed { yes, failed, lost_race, lost_race_unloaded };

  // Removes the slot's conversation from a shared store for an end its
  // step asked for, only if the stored version is still the slot's: a copy
  // that fell behind (a timer on the server that minted it, while another
  // serves the page) must not end what the other changed since. A store
  // that cannot be reached cannot tell, so the end is refused then: an
  // unconditional remove could end a newer version (the step is dropped,
  // as one whose stored version cannot be loaded is).
  Removed remove_current(Slot& slot) {
    const std::string cid(conv::id(slot.conv));
    try {
      store->remove_current(slot.conv);
      return Removed::yes;
    } catch (const StaleConversation& e) {
      slot.dirty = false;  // reload() takes the stored version or ends it
      return reload(slot, e.what()) ? Removed::lost_race : Removed::lost_race_unloaded;
    } catch (const std::exception& e) {
      log::error("conversation " + cid + ": its end was not made, the store failed: " + e.what());
      return Removed::failed;
    }
  }

  // Shutdown's last save. On a shared store every save makes a new version,
  // so re-saving a copy the store already holds would make the copy of the
  // server that serves the conversation stale, and drop its next event: only
  // a conversation whose last save failed is saved there. A refused save
  // (changed or ended elsewhere) leaves the newer version alone.
  void final_save(const std::string& cid, Slot& slot) {
    if (store->shared() && !slot.dirty) return;
    try {
      slot.conv = store->save(slot.conv);
    } catch (const StaleConversation& e) {
      log::warn("conversation " + cid + " was changed elsewhere (" + e.what() +
                "); its final save is dropped");
    } catch (const std::exception& e) {
      log::error("store save failed for " + cid + " during shutdown: " + e.what());
    }
  }

  // Another server saved a newer version (or removed it): ours is stale.
  // Take theirs and show it; the event that lost the race is dropped. False
  // when the store could not be read: the slot is left as it was.
  bool reload(Slot& slot, const std::string& why) {
    const std::string cid(conv::id(slot.conv));
    slot.as_minted = false;
    log::warn("conversation " + cid + " was changed elsewhere (" + why + "); reloading it");
    std::optional<edn::Value> fresh;
    try {
      fresh = store->load(cid);
    } catch (const std::exception& e) {
      log::error("store load failed for " + cid + ": " + e.what());
      return false;
    }
    if (!fresh) {
      end_locked(cid, slot, slot.conv);
      return true;
    }
    const edn::Value ours = std::exchange(slot.conv, std::move(*fresh));
    slot.moments.reset(history_size(slot.conv));
    // Its view, or the error its view throws, shown on the page.
    send(slot, redraw(*reg, slot.conv, opts.kernel).fragments, cid);
    send_change(slot, ours, cid);
    return true;
  }

  // An Output is the embedder's code: what one of its calls threw, if it did.
  template <class F>
  static std::optional<std::string> failure_of(F&& call) {
    try {
      call();
      return std::nullopt;
    } catch (const std::exception& e) {
      return std::string(e.what());
    } catch (...) {
      return std::string("it threw something that is not a std::exception");
    }
  }

  static void send(Slot& slot, const std::vector<Fragment>& fragments, std::string_view cid) {
    if (!fragments.empty()) to_stream(slot, cid, [&](Output& out) { out.send(fragments); });
  }

  // After a step the page did not ask for: see Output::state_changed.
  static void send_change(Slot& slot, const edn::Value& before, std::string_view cid) {
    to_stream(slot, cid, [&](Output& out) { out.state_changed(before, slot.conv); });
  }

  // Calls the slot's stream, if it has one. A stream that throws is dropped
  // (logged); the step it came after, already saved, stands.
  template <class F>
  static void to_stream(Slot& slot, std::string_view cid, F&& call) {
    // Released with the lock held, but this thread is known to hold it
    // (SlotLock): a detach() from its destructor waits for nothing.
    const std::shared_ptr<Output> forgotten = slot.forget_dropped();
    if (!slot.out) return;
    if (auto why = failure_of([&] { call(*slot.out); })) {
      log::error("the stream of " + std::string(cid) + " failed to send; dropping it: " + *why);
      close_stream(slot, cid);
    }
  }

  // Closes and forgets the slot's stream. A throwing close() is logged: the
  // end or shutdown that called it goes on.
  static void close_stream(Slot& slot, std::string_view cid) {
    const std::shared_ptr<Output> out = std::move(slot.out);
    if (!out) return;
    if (auto why = failure_of([&] { out->close(); }))
      log::error("closing the stream of " + std::string(cid) + " failed: " + *why);
  }

  // Where a step comes from: the page (an event, back: the answer to its
  // request brings what the page holds of the state in line), elsewhere (a
  // timer, a wakeup: the stream must, for what the step changed) or a
  // stream's first view (the stream must, for all of it: the page may have
  // missed changes while it had no stream). See Output::state_changed.
  enum class From { page, elsewhere, first_view };

  // A restored conversation's frames become live before anything reaches
  // them: its frames' wakeups run once, on the first stream, event or
  // back, whichever comes first (an event in the moment before the page's
  // stream is back must not run on a frame whose wakeup has not run). It
  // counts as done when it went through (Ok), or when it threw and a stream
  // showed the error (HandlerError with a stream: not retried); otherwise
  // (thrown with no page to show it, or a lost race to a version that
  // cannot be loaded) it runs again next time. A wakeup that lost the race
  // to a version it could load was dropped with its step (its timers too):
  // that version wakes instead, a few times over if other servers keep
  // saving in between.
  // `from`: elsewhere (an event or back reached it first) or first_view.
  Result wake_up(const std::string& cid, Slot& slot, From from) {
    constexpr int kAttempts = 3;
    slot.awake = true;
    Result result = Result::Ok;
    bool lost = true;
    for (int attempt = 0; lost && !slot.ended && attempt < kAttempts; ++attempt) {
      lost = false;
      result = apply(cid, slot, wake(*reg, slot.conv, opts.kernel), from,
                     {.origin = nullptr, .woke = true}, &lost);
    }
    const bool done =
        !lost && (result == Result::Ok || (result == Result::HandlerError && slot.out));
    if (!done && !slot.ended) slot.awake = false;
    return result;
  }

  // For an event or back: wakes the conversation first if it must be
  // (wake_up); the result to answer instead when that did not leave it
  // usable (dropped, or ended by its wakeup). Not on a shared store: there
  // the events of a page may reach a server that never holds its stream,
  // whose wakeups would re-arm the timers the stream's server re-arms too
  // (and save one more version per server); the stream wakes it there.
  std::optional<Result> wake_before_use(std::string_view cid, Slot& slot) {
    if (slot.awake || store->shared()) return std::nullopt;
    const Result woken = wake_up(std::string(cid), slot, From::elsewhere);
    if (woken != Result::Ok && woken != Result::HandlerError) return woken;
    if (slot.ended) return Result::NoConversation;
    return std::nullopt;
  }

  // What a timer belongs to: the moment that armed it, and its frame's
  // token of pending timers (Moments::frame). Undone when either is.
  struct TimerTag {
    detail::Moments::Ref moment, frame;
    bool undone() const noexcept { return moment->undone || frame->undone; }
  };
  using TagRef = std::shared_ptr<const TimerTag>;

  static TagRef tag_of(Slot& slot, detail::Moments::Ref moment, const std::string& iid) {
    return std::make_shared<const TimerTag>(TimerTag{std::move(moment), slot.moments.frame(iid)});
  }

  // For cancel_if: the tag book_timer() gives the queue.
  static bool timer_undone(const void* tag) {
    return tag != nullptr && static_cast<const TimerTag*>(tag)->undone();
  }

  // One timer event for instance `iid`; cancelled with the conversation's
  // other timers (owner: the cid), or when its tag is undone.
  void book_timer(const std::string& cid, std::chrono::milliseconds delay, TagRef tag,
                  std::string iid, Event ev) {
    const void* const key = tag.get();
    timers.schedule(
        delay, cid,
        [this, cid, tag = std::move(tag), iid = std::move(iid), ev = std::move(ev)] {
          deliver(cid, tag, iid, ev);
        },
        key);
  }

  // Timer events take the same serialised path as browser events.
  void deliver(const std::string& cid, const TagRef& tag, const std::string& iid, const Event& ev);

  // Applies a kernel step to a locked slot.
  // `lost_race`, if given, is set when the step was dropped because its
  // save lost the race to a version reload() then took (Ok all the same).
  Result apply(const std::string& cid, Slot& slot, Step step, From from,
               const TimersOf& timers_of = {}, bool* lost_race = nullptr) {
    // A refused step changes nothing: the page that minted the conversation
    // (if nothing happened since) still holds all of it.
    if (step.status == Step::Status::NoInstance) return Result::NoInstance;
    if (step.status == Step::Status::UnknownEvent) {
      log::warn("conversation " + cid + ": " + step.error);
      return Result::UnknownEvent;
    }
    if (step.status == Step::Status::BadSignals) {
      log::warn("conversation " + cid + ": " + step.error);
      return Result::BadSignals;
    }
    if (step.status == Step::Status::BadEvent) {
      log::warn("conversation " + cid + ": " + step.error);
      return Result::BadEvent;
    }
    slot.as_minted = false;
    if (step.status == Step::Status::HandlerError) {
      log::warn("handler error in conversation " + cid + ": " + step.error);
      send(slot, step.fragments, cid);
      return Result::HandlerError;
    }
    if (step.ended) {
      bool removed = false;
      if (store->shared()) {  // a compare-and-set, as a save is
        switch (remove_current(slot)) {
          case Removed::yes:
            removed = true;
            break;
          case Removed::failed:  // its version unknown: refused, nothing changed
            return Result::Unavailable;
          case Removed::lost_race:  // dropped, as a step whose save lost is
            if (lost_race) *lost_race = true;
            return slot.ended ? Result::NoConversation : Result::Ok;
          case Removed::lost_race_unloaded:
            return Result::Unavailable;
        }
      }
      end_locked(cid, slot, step.conv, removed);
      return Result::Ok;
    }
    edn::Value before = std::exchange(slot.conv, std::move(step.conv));
    // An event that lost the race is dropped whole: reload() already showed
    // the newer version, so neither its view nor its timers (nor the moments
    // it undid) may follow. When that version cannot be read, the event is
    // refused as when the store is down.
    if (step.changed) {
      switch (save(slot, before)) {
        case Saved::yes:
          break;
        case Saved::lost_race:  // dropped; when it was ended elsewhere, say so (410)
          if (lost_race) *lost_race = true;
          return slot.ended ? Result::NoConversation : Result::Ok;
        case Saved::lost_race_unloaded:
          return Result::Unavailable;
      }
    }
    slot.moments.step(step.recorded, step.undone, history_size(slot.conv));
    // The timers of the moments back undid would only be skipped when due
    // (deliver): gone now, with what they hold.
    if (step.undone > 0) {
      slot.moments.went_back(stack_ids(slot.conv), step.woken_by_back);
      for (const std::string& iid : step.woken_by_back) slot.moments.rewake(iid);
      timers.cancel_if(cid, &timer_undone);
    }
    // A timer's event is part of its timer's moment, and so are the timers
    // it asks for (a clock that re-arms itself goes on in the moment that
    // started it), unless it went back: then they are the restored moment's.
    // A restored conversation's wakeups: each frame's own (Moments::woken).
    for (TimerRequest& t : step.timers) {
      const detail::Moments::Ref moment = timers_of.woke ? slot.moments.woken(t.iid)
                                          : timers_of.origin && step.undone == 0
                                              ? timers_of.origin
                                              : slot.moments.current();
      TagRef tag = tag_of(slot, moment, t.iid);
      book_timer(cid, t.delay, std::move(tag), std::move(t.iid), std::move(t.event));
    }
    send(slot, step.fragments, cid);
    if (from == From::first_view)
      send_change(slot, edn::Value(), cid);
    else if (from == From::elsewhere && step.changed)
      send_change(slot, before, cid);
    return Result::Ok;
  }

  // Runs the stop hooks of every frame of `conv` (the kernel logs and
  // skips a failing hook). A throwing dispose, or a record they cannot run
  // on at all (no stack), is logged here, not thrown: what follows an end
  // must run regardless.
  void stop_hooks(const edn::Value& conv, const std::string& which) {
    try {
      stop_all(*reg, conv, opts.kernel);
    } catch (const std::exception& e) {
      log::error("stop hooks of " + which + " failed: " + e.what());
    } catch (...) {
      log::error("stop hooks of " + which + " failed: something that is not a std::exception");
    }
  }

  // Runs stop hooks, closes the stream, forgets the conversation and
  // removes it from the store. The slot lock is held.
  // `removed`: the record is gone already (remove_current).
  void end_locked(const std::string& cid, Slot& slot, const edn::Value& conv,
                  bool removed = false) {
    if (slot.ended) return;
    slot.ended = true;
    // The hooks failing (a record without a stack, a throwing dispose) must
    // not leave an ended slot in the map, its timers armed and its record
    // in the store: the rest runs regardless.
    stop_hooks(conv, "conversation " + cid + " (ending it)");
    timers.cancel(cid);
    close_stream(slot, cid);
    // Removed from the store while the slot is still in the map: a request
    // for it meanwhile finds the slot (and, once it has the lock, that it
    // ended) instead of loading the still-stored record of a shared store
    // back to life.
    if (auto failure = removed ? std::nullopt : detail::try_remove(*store, cid))
      unremoved->add(cid, *failure);  // before the slot goes: see find_or_load
    std::unique_lock lock(map_mu);
    slots.erase(cid);
    ends_during_loads.ended(cid);
  }

  // A TTL beyond 1,000 years counts as 1,000 years: now minus more would
  // overflow the arithmetic of an #inst (and a database's timestamps).
  std::int64_t reap_cutoff_millis() const {
    constexpr std::chrono::milliseconds kLongest =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::years(1000));
    return edn::Instant::now().millis() - std::min(*opts.conversation_ttl, kLongest).count();
  }

  static edn::Instant instant_of_millis(std::int64_t ms) {
    std::int64_t seconds = ms / 1000, rest = ms % 1000;
    if (rest < 0) {  // floor, so that nanos stays within 0..999,999,999
      --seconds;
      rest += 1000;
    }
    return edn::Instant{seconds, static_cast<std::uint32_t>(rest * 1000000)};
  }

  // A save that failed (the backend was down) left the stored copy behind
  // the live one, its :conv/touched too: a shared store's reaper would end a
  // conversation whose user is active, and a crash would lose its steps.
  // A round (`resaves`, and each reaper round) saves those again, up to
  // reaper_batch of them, and stops at the first that fails again: the store
  // is still down, and each attempt could wait out a connection timeout on
  // the timer thread, which also fires the components' timers. False when a
  // save failed again.
  bool resave_failed() {
    std::size_t all_failed = 0;
    auto failed = failed_saves_fewest_retries_first(all_failed);
    bool left = false;
    for (auto& [cid, slot] : failed) {
      if (shutting) return true;  // shutdown's final save takes them
      try {
        // A busy one is left for the next round (its step may save it):
        // the timer thread does not wait for a step.
        const SlotLock lock(this, *slot, std::try_to_lock);
        if (!lock.owns()) {
          left = true;
          continue;
        }
        if (slot->ended || !slot->dirty) continue;
        save(*slot, slot->conv);  // logs a failure, naming the cid
        if (slot->dirty) {
          slot->failed_resaves.fetch_add(1, std::memory_order_relaxed);
          return false;
        }
        log::info("conversation " + cid + " saved again after its failed save");
      } catch (const std::exception& e) {
        log::error("could not save conversation " + cid + " again: " + e.what());
        return false;
      }
    }
    // More than a batch, or busy ones: another round soon (not a backed-off
    // one: nothing failed).
    if (left || all_failed > failed.size()) resaves->request();
    return true;
  }

  // The conversations whose last save failed (`all` of them), at most
  // reaper_batch, those whose retries failed the fewest times first: one that
  // can never be saved (a record over the store's limit) would otherwise
  // stop every round before the others, if the map's order put it first.
  std::vector<std::pair<std::string, std::shared_ptr<Slot>>> failed_saves_fewest_retries_first(
      std::size_t& all) {
    struct Failed {
      std::uint32_t retries;  // a snapshot: the sort needs keys that stay put
      std::string cid;
      std::shared_ptr<Slot> slot;
    };
    std::vector<Failed> failed;
    {
      std::shared_lock lock(map_mu);
      for (const auto& [cid, slot] : slots) {
        if (slot->dirty.load(std::memory_order_relaxed))
          failed.push_back({slot->failed_resaves.load(std::memory_order_relaxed), cid, slot});
      }
    }
    all = failed.size();
    const auto taken =
        failed.begin() + static_cast<std::ptrdiff_t>(std::min(all, opts.reaper_batch));
    std::partial_sort(failed.begin(), taken, failed.end(),
                      [](const Failed& a, const Failed& b) { return a.retries < b.retries; });
    std::vector<std::pair<std::string, std::shared_ptr<Slot>>> out;
    out.reserve(static_cast<std::size_t>(taken - failed.begin()));
    for (auto it = failed.begin(); it != taken; ++it)
      out.emplace_back(std::move(it->cid), std::move(it->slot));
    return out;
  }

  void reap() {
    if (!opts.conversation_ttl || shutting) return;
    resave_failed();
    const std::int64_t cutoff = reap_cutoff_millis();
    std::vector<std::pair<std::string, std::shared_ptr<Slot>>> all;
    if (store->shared()) {
      // The database picks the idle ones (by its touched index), and only
      // one server reaps at a time; we end our live copies of those.
      const edn::Instant t = instant_of_millis(cutoff);
      try {
        reap_shared(t, all);
        add_reaped_elsewhere(cutoff, all);  // not when the store is down
      } catch (const std::exception& e) {
        log::error(std::string("store reap failed: ") + e.what());
      }
    } else {
      std::shared_lock lock(map_mu);
      all.assign(slots.begin(), slots.end());
    }
    std::size_t reaped = 0;
    for (auto& [cid, slot] : all) {
      // One bad conversation must not keep the reaper from the others.
      try {
        // A busy one is in use, not idle: the timer thread does not wait.
        const SlotLock lock(this, *slot, std::try_to_lock);
        if (!lock.owns() || slot->ended) continue;
        if (last_touched(cid, *slot) >= cutoff) {
          // Only a shared store's reap can pick a conversation used here
          // within the TTL: one whose saves failed until now.
          if (store->shared())
            log::warn("the store reaped conversation " + cid +
                      ", which was used here within the TTL but not saved since (its saves "
                      "failed); its next event will find it gone");
          continue;
        }
        end_locked(cid, *slot, slot->conv);
        ++reaped;
      } catch (const std::exception& e) {
        log::error("reaper could not end conversation " + cid + ": " + e.what());
      }
    }
    if (reaped) log::info("reaper ended " + std::to_string(reaped) + " idle conversation(s)");
  }

  // :conv/touched in ms, or, when it is missing, not an #inst or in the
  // future (a record written by hand: it would never be idle), the moment
  // the reaper first saw that (warned about once; a clock a little ahead on
  // another server of a shared store is not worth a warning).
  static std::int64_t last_touched(const std::string& cid, Slot& slot) {
    const edn::Value* t = slot.conv.find(conv::keys::touched());
    const bool inst = t != nullptr && t->is(edn::Kind::Inst);
    const std::int64_t now = edn::Instant::now().millis();
    if (inst && t->as_inst().millis() <= now) {
      slot.untouched_since.reset();
      return t->as_inst().millis();
    }
    if (!slot.untouched_since) {
      slot.untouched_since = now;
      constexpr std::int64_t kSkew = 60'000;
      if (!inst) {
        log::warn("conversation " + cid + " has no :conv/touched #inst (" +
                  (t == nullptr ? std::string("missing") : edn::kind_phrase(t->kind())) +
                  "); the reaper counts it as touched now");
      } else if (t->as_inst().millis() - now > kSkew) {
        log::warn("conversation " + cid + " has :conv/touched " + edn::write(*t) +
                  ", in the future; the reaper counts it as touched now");
      }
    }
    return *slot.untouched_since;
  }

  // Our idle copies of conversations another server's round reaped (only
  // one server reaps at a time, and the store reports a cid once): gone
  // from the store, they end here too, instead of living on until their
  // next event or shutdown. A copy idle past the cutoff here is looked up
  // (a load) unless the store's copy was touched after the cutoff when last
  // looked at (served elsewhere: it cannot have been reaped yet); at most
  // reaper_batch loads a round, on the timer thread. A StoreError ends the
  // round (the store is down: the next round tries again).
  void add_reaped_elsewhere(std::int64_t cutoff,
                            std::vector<std::pair<std::string, std::shared_ptr<Slot>>>& all) {
    std::vector<std::pair<std::string, std::shared_ptr<Slot>>> local;
    {
      std::shared_lock lock(map_mu);
      local.assign(slots.begin(), slots.end());
    }
    std::unordered_set<std::string> reaped;
    for (const auto& entry : all) reaped.insert(entry.first);
    std::size_t loads = 0;
    for (auto& [cid, slot] : local) {
      if (shutting || loads == opts.reaper_batch) return;
      if (reaped.contains(cid)) continue;
      {
        const SlotLock lock(this, *slot, std::try_to_lock);  // busy: in use
        if (!lock.owns() || slot->ended || last_touched(cid, *slot) >= cutoff) continue;
        if (slot->stored_touched && *slot->stored_touched >= cutoff) continue;
      }
      ++loads;
      std::optional<edn::Value> stored;
      try {
        stored = store->load(cid);
      } catch (const StoreError&) {
        throw;
      } catch (const std::exception& e) {  // an unreadable record: not reaped
        log::error("reaper could not look up conversation " + cid + ": " + e.what());
        continue;
      }
      if (!stored) {
        all.emplace_back(cid, slot);
        continue;
      }
      const edn::Value* t = stored->find(conv::keys::touched());
      const SlotLock lock(this, *slot, std::try_to_lock);
      if (!lock.owns()) continue;  // looked up again next round
      slot->stored_touched = t != nullptr && t->is(edn::Kind::Inst) ? t->as_inst().millis()
                                                                    : edn::Instant::now().millis();
    }
  }

  // Batches while they come back full: a fleet whose conversations go idle
  // faster than one batch per interval would otherwise never catch up. At
  // most kMaxBatches, because this runs on the timer thread, which also
  // fires the components' timers.
  void reap_shared(edn::Instant cutoff,
                   std::vector<std::pair<std::string, std::shared_ptr<Slot>>>& live) {
    constexpr int kMaxBatches = 20;
    for (int batch = 0; batch < kMaxBatches; ++batch) {
      if (shutting) return;
      const std::vector<std::string> cids = store->reap(cutoff, opts.reaper_batch);
      for (const std::string& cid : cids)
        if (auto slot = find(cid)) live.emplace_back(cid, slot);
      if (cids.size() < opts.reaper_batch) return;
    }
    log::warn("reaper: " + std::to_string(kMaxBatches) + " full batches of " +
              std::to_string(opts.reaper_batch) +
              " idle conversations in one round; any more wait for the next round "
              "(raise reaper_batch or shorten reaper_interval)");
  }

  void schedule_reaper() {
    if (!opts.conversation_ttl) return;
    timers.schedule(opts.reaper_interval, "", [this] {
      // The next round is booked whatever this one does: a round that
      // throws must not stop reaping for good.
      try {
        reap();
      } catch (const std::exception& e) {
        log::error(std::string("reaper round failed: ") + e.what());
      }
      schedule_reaper();
    });
  }
};

void Runtime::Impl::deliver(const std::string& cid, const TagRef& tag, const std::string& iid,
                            const Event& ev) {
  auto slot = find(cid);
  if (!slot) return;
  const SlotLock lock(this, *slot, std::try_to_lock);
  if (!lock.owns()) {
    // Busy: back into the timer queue, due at once, when its holder lets go
    // (or as `lock` goes, if it did meanwhile: settle()).
    slot->park([this, cid, tag, iid, ev] { book_timer(cid, {}, tag, iid, ev); });
    return;
  }
  // A moment back undid: its timers would act on a state they were not
  // requested in (a countdown the user stepped back out of would go on).
  // Or back woke the frame again, which re-armed what it needs.
  if (slot->ended || tag->undone()) return;
  apply(cid, *slot, dispatch_timer(*reg, slot->conv, iid, ev, opts.kernel), From::elsewhere,
        {.origin = tag->moment, .woke = false});
}

namespace {

// Settings that cannot work are refused before the store is read: a zero
// reaper interval would spin the timer thread, a zero batch would leave a
// shared store's idle conversations for ever.
void check_options(const RuntimeOptions& o) {
  auto refuse = [](const std::string& what) {
    throw std::invalid_argument("runtime options: " + what);
  };
  if (o.conversation_ttl && o.conversation_ttl->count() <= 0)
    refuse("conversation_ttl must be positive, got " + std::to_string(o.conversation_ttl->count()) +
           " ms (leave it empty to keep conversations until they end)");
  if (o.reaper_interval.count() <= 0)
    refuse("reaper_interval must be positive, got " + std::to_string(o.reaper_interval.count()) +
           " ms");
  if (o.reaper_batch == 0) refuse("reaper_batch must be at least 1");
  if (!valid_base_path(o.kernel.base_path))
    refuse("kernel.base_path '" + o.kernel.base_path +
           "' is not a URL path (use \"\" or e.g. \"/app\": [A-Za-z0-9_.~-] segments)");
}

}  // namespace

Runtime::Runtime(std::shared_ptr<const Registry> registry, RuntimeOptions options)
    : impl_(std::make_unique<Impl>()) {
  check_options(options);
  if (!registry) throw std::invalid_argument("Runtime: the registry is null");
  Impl& m = *impl_;
  m.reg = std::move(registry);
  m.opts = std::move(options);
  m.store = m.opts.store ? m.opts.store : in_memory_store();
  m.unremoved.emplace(*m.store, m.timers);
  m.resaves.emplace(m.timers, [&m] { return m.resave_failed(); });
  for (auto& [cid, conv] : m.store->load_all())
    m.slots.emplace(cid, Impl::make_slot(std::move(conv)));
  m.restored = m.slots.size();
  if (m.restored)
    log::info("restored " + std::to_string(m.restored) + " conversation(s) from the store");
  // Once nothing here can throw any more (a store that cannot load leaves
  // the registry open), and before the timer thread may read it.
  m.reg->mark_in_use();
  m.schedule_reaper();
}

Runtime::~Runtime() {
  shutdown();
}

Runtime::Minted Runtime::mint(std::string_view component, const edn::Value& args) {
  Impl& m = *impl_;
  if (m.shutting)
    throw ShuttingDown("the runtime is shutting down; not starting new conversations");
  if (full())
    throw TooManyConversations("the runtime holds " + std::to_string(m.opts.max_conversations) +
                               " conversations (max_conversations); not starting another");
  // The start hooks run outside lifecycle_mu: a slow one must not hold up a
  // shutdown, and one that mints again must not take the lock twice.
  Step step = start_conversation(*m.reg, component, args, m.opts.kernel);
  Minted minted;
  minted.cid = std::string(conv::id(step.conv));
  minted.owner = conv::mint_id("ow-");
  for (const Fragment& f : step.fragments)
    if (f.target == kRootElementId) minted.html = f.html;
  minted.conv = step.conv;
  if (step.ended) {
    // Nothing to keep. The root answered (its stop hooks ran as it left) or
    // a start hook asked for end(), which stops what is still on the stack.
    m.stop_hooks(step.conv, "conversation " + minted.cid + " (ended by its start hooks)");
    return minted;
  }
  std::shared_lock life(m.lifecycle_mu);
  if (m.shutting) {
    // Refused after its start hooks ran: it gets its stop hooks, as every
    // conversation that started does. Not under the lifecycle lock, which
    // the shutdown waits for: a hook that calls shutdown() would wait for
    // that shutdown, and it for the hook.
    life.unlock();
    m.stop_hooks(step.conv, "a conversation refused at shutdown");
    throw ShuttingDown("the runtime is shutting down; not starting new conversations");
  }
  auto slot = std::make_shared<Slot>();
  slot->owner = minted.owner;
  slot->conv = step.conv.assoc(kOwnerKey, edn::Value(minted.owner));
  slot->awake = true;
  slot->as_minted = true;
  const SlotLock lock(&m, *slot, "mint", minted.cid);  // a stale save reloads: user code
  {
    std::unique_lock map_lock(m.map_mu);
    m.slots.emplace(minted.cid, slot);
  }
  m.save(*slot, slot->conv);  // new: no other server saved it
  for (TimerRequest& t : step.timers) {
    Impl::TagRef tag = Impl::tag_of(*slot, slot->moments.current(), t.iid);
    m.book_timer(minted.cid, t.delay, std::move(tag), std::move(t.iid), std::move(t.event));
  }
  return minted;
}

Runtime::Result Runtime::dispatch(std::string_view cid, std::string_view iid, Event event,
                                  std::string_view owner, std::string* why) {
  Impl& m = *impl_;
  return m.with_owned("dispatch", cid, owner, [&](Slot& slot) {
    // Only the top frame's view is on the page. An event for a frame below
    // it (waiting for its callee's answer) comes from a view replaced a
    // moment ago, e.g. the second click of a double click that called a
    // dialog: stale, as one for a gone instance (a second dialog otherwise).
    if (const auto refused = m.wake_before_use(cid, slot)) return *refused;
    if (!is_top(slot.conv, iid)) return Result::NoInstance;
    Step step = stube::dispatch(*m.reg, slot.conv, iid, event, m.opts.kernel);
    if (why && (step.status == Step::Status::UnknownEvent ||
                step.status == Step::Status::BadSignals || step.status == Step::Status::BadEvent))
      *why = step.error;
    return m.apply(std::string(cid), slot, std::move(step), Impl::From::page);
  });
}

Runtime::Result Runtime::back(std::string_view cid, std::string_view owner) {
  Impl& m = *impl_;
  return m.with_owned("back", cid, owner, [&](Slot& slot) {
    if (const auto refused = m.wake_before_use(cid, slot)) return *refused;
    return m.apply(std::string(cid), slot, go_back(*m.reg, slot.conv, m.opts.kernel),
                   Impl::From::page);
  });
}

Runtime::Result Runtime::attach(std::string_view cid, std::string_view owner,
                                std::shared_ptr<Output> out) {
  Impl& m = *impl_;
  return m.with_owned("attach", cid, owner, [&](Slot& slot) {
    if (slot.out != out) Impl::close_stream(slot, cid);  // a reconnect replaces the old stream
    const Output* const attached = out.get();
    slot.out = std::move(out);
    // The page that minted it, with nothing since, holds the kept signals
    // already: sent again, they would overwrite what the user typed in the
    // meantime (the view, redrawn, takes its fields' values from them).
    const Impl::From from =
        std::exchange(slot.as_minted, false) ? Impl::From::page : Impl::From::first_view;
    const Result result =
        slot.awake ? m.apply(std::string(cid), slot, redraw(*m.reg, slot.conv, m.opts.kernel), from)
                   : m.wake_up(std::string(cid), slot, Impl::From::first_view);
    // Only Ok and HandlerError (the error shown on it) serve the stream; on
    // any other answer (a lost race to a version that cannot be loaded: try
    // again) it is never started, so it must not take this conversation's
    // patches until the browser's next stream replaces it.
    if (result != Result::Ok && result != Result::HandlerError && slot.out.get() == attached)
      slot.out.reset();
    return result;
  });
}

void Runtime::detach(std::string_view cid, const Output* out) {
  auto slot = impl_->find(cid);
  if (!slot) return;
  // Noted, then forgotten by whichever thread has the lock: this one now if
  // it is free, else its holder when it lets go (this thread itself, when a
  // handler lets go of its own stream).
  slot->drop_later(out);
  settle(impl_.get(), *slot);
}

void Runtime::end(std::string_view cid) {
  // On a shared store another server may hold it: loaded here to be ended
  // (its stop hooks run here), as SPEC §8's end removes it everywhere.
  auto slot = impl_->find_or_load(cid);
  // Shutdown stopped it (its stop hooks ran) or has let go of it: only its
  // record is left to remove, or it would be back at the next start. A
  // store that cannot remove it throws to the caller.
  if (!slot) {
    if (impl_->shutting && impl_->was_stopped_at_shutdown(cid)) impl_->store->remove(cid);
    return;
  }
  const SlotLock lock(impl_.get(), *slot, "end", cid);
  if (slot->stopped_by_shutdown) return impl_->store->remove(cid);
  impl_->end_locked(std::string(cid), *slot, slot->conv);
}

void Runtime::shutdown() {
  Impl& m = *impl_;
  if (held(&m))
    throw std::logic_error(
        "Runtime::shutdown called from one of its handlers or hooks, where it would wait for "
        "itself; call it from another thread");
  std::lock_guard once(m.shutdown_mu);
  if (m.shut_down) return;
  m.shutting = true;
  { std::unique_lock barrier(m.lifecycle_mu); }  // wait for mints in flight
  m.timers.stop();
  std::vector<std::pair<std::string, std::shared_ptr<Slot>>> all;
  {
    std::shared_lock lock(m.map_mu);
    all.assign(m.slots.begin(), m.slots.end());
  }
  for (auto& [cid, slot] : all) {
    const SlotLock lock(&m, *slot, "shutdown", cid);
    if (slot->ended) continue;
    m.stop_hooks(slot->conv, "conversation " + cid + " during shutdown");
    Impl::close_stream(*slot, cid);
    slot->ended = true;  // before the save: nothing may end it (and stop it) again
    slot->stopped_by_shutdown = true;
    m.final_save(cid, *slot);
  }
  if (!m.unremoved->retry("at shutdown"))
    log::error(
        "those conversations are still in the store and will be loaded again on the next "
        "start");
  {
    std::unique_lock lock(m.map_mu);
    for (const auto& [cid, slot] : m.slots)
      if (slot->stopped_by_shutdown) m.stopped_at_shutdown.insert(cid);
    m.slots.clear();
  }
  m.shut_down = true;
}

bool Runtime::in_handler() const noexcept {
  return held(impl_.get());
}

bool Runtime::shutting_down() const noexcept {
  return impl_->shutting;
}

bool Runtime::full() const {
  return impl_->opts.max_conversations > 0 && size() >= impl_->opts.max_conversations;
}

std::size_t Runtime::size() const {
  std::shared_lock lock(impl_->map_mu);
  return impl_->slots.size();
}

std::optional<edn::Value> Runtime::conversation(std::string_view cid) const {
  auto slot = impl_->find(cid);
  if (!slot) return std::nullopt;
  const SlotLock lock(impl_.get(), *slot, "conversation", cid);
  if (slot->ended) return std::nullopt;
  return slot->conv;
}

std::size_t Runtime::restored_count() const noexcept {
  return impl_->restored;
}

}  // namespace stube
