// stube/runtime.hpp — the live conversations of one process (SPEC §8).
//
// The runtime owns cid -> conversation, applies events one at a time per
// conversation (different conversations in parallel), saves through the
// store after every change, runs timers and the reaper, and sends DOM
// fragments to the attached output stream. It knows nothing of HTTP: the
// server (stube/server.hpp) and tests drive it through this interface.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "stube/component.hpp"
#include "stube/edn.hpp"
#include "stube/kernel.hpp"
#include "stube/store.hpp"

namespace stube {

// Where a conversation's fragments go: the browser's SSE stream.
class Output {
 public:
  virtual ~Output() = default;
  // Called with the conversation's lock held: queue, do not block. An
  // exception is logged and the stream closed and dropped (the step it
  // shows stands).
  virtual void send(const std::vector<Fragment>& fragments) = 0;
  // After send(), for a step the page did not ask for (a timer's event, a
  // wakeup, the newer version another server saved): the conversation as
  // it was and as it is; on a stream's first view, `before` is nil (the
  // page may have missed changes while it had no stream), except on the
  // first attach after mint with nothing since (the page that minted it
  // holds that state: not called). What the page
  // holds of the state outside the patched HTML (the server: the signals of
  // bound form fields) is brought in line here; after the page's own
  // events, the answer to its request does that. Same rules as send().
  // Does nothing by default.
  virtual void state_changed(const edn::Value& before, const edn::Value& after) {
    (void)before;
    (void)after;
  }
  // The conversation ended, the runtime is shutting down, or a reconnect
  // replaced this stream. An exception is logged; the end goes on.
  virtual void close() = 0;
};

// The constructor refuses (std::invalid_argument, naming the field) a TTL
// or reaper interval of zero or less and a reaper_batch of zero.
struct RuntimeOptions {
  std::shared_ptr<ConversationStore> store;                   // default: in_memory_store()
  std::optional<std::chrono::milliseconds> conversation_ttl;  // reaper off when empty
  std::chrono::milliseconds reaper_interval{std::chrono::seconds(60)};
  // Shared stores (PostgreSQL): the most conversations one reap()
  // transaction ends. A round repeats batches while they come back full,
  // up to 20 of them, so it ends at most 20 × reaper_batch conversations.
  // Every store: also the most failed saves one retry round saves again.
  std::size_t reaper_batch = 500;
  // The most conversations this runtime holds at once; a mint past it
  // throws TooManyConversations (0: no limit). Counted when a mint starts,
  // so mints running at the same moment may pass it by their number. On a
  // shared store, a request for a conversation not held here that would
  // load it past the limit gets Result::Unavailable.
  std::size_t max_conversations = 0;
  KernelOptions kernel;
};

// mint() during shutdown.
class ShuttingDown : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// mint() while the runtime holds max_conversations.
class TooManyConversations : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Runtime {
 public:
  // Loads every stored conversation (store.load_all) before returning.
  Runtime(std::shared_ptr<const Registry> registry, RuntimeOptions options = {});
  ~Runtime();  // shutdown()
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  struct Minted {
    std::string cid;
    std::string owner;  // the owner token: the browser must present it
    std::string html;   // the root element's first contents
    // The conversation as its start left it: the page that shows `html`
    // needs its kept signals too (the server puts them into the shell).
    edn::Value conv{};
  };
  // Starts a conversation on `component`. Throws ShuttingDown,
  // TooManyConversations, or std::invalid_argument for an unknown component.
  [[nodiscard]] Minted mint(std::string_view component, const edn::Value& args = {});

  enum class Result {
    Ok,
    NoConversation,  // unknown or ended cid (HTTP 410)
    NoInstance,      // the instance is gone or not on top; nothing changed (HTTP 204)
    Forbidden,       // the owner token does not match (HTTP 403)
    UnknownEvent,    // the instance has no handler for that event; nothing changed (HTTP 400)
    BadSignals,      // a kept signal does not fit the state's type; nothing changed (HTTP 400)
    BadEvent,        // the handler refused the event (stube::BadEvent); nothing changed (HTTP 400)
    HandlerError,    // a handler threw; conversation untouched, error shown
    Unavailable,     // a shared store could not be reached to load it, or to load the
                     // newer version an event lost the race to, or to end it as the
                     // step asked (nothing changed), or loading it would pass
                     // max_conversations (HTTP 503)
  };
  // Only the top frame (the one whose view is on the page) takes events: one
  // for a frame below it is NoInstance, like one for a gone instance. For
  // UnknownEvent, BadSignals and BadEvent, `why` (when given) receives what was wrong
  // with the event, for the client's error message.
  Result dispatch(std::string_view cid, std::string_view iid, Event event, std::string_view owner,
                  std::string* why = nullptr);
  Result back(std::string_view cid, std::string_view owner);
  // Connects the browser stream and sends the whole current view. A
  // conversation restored from the store is woken first (wakeup hooks).
  // Only on Ok and HandlerError (the error sent on it) does it keep `out`.
  Result attach(std::string_view cid, std::string_view owner, std::shared_ptr<Output> out);
  // Lets go of `out` (its browser went away). Never waits: when another
  // thread holds the conversation (a handler, a slow save), that thread
  // lets go of it when its step is done. The runtime may hold an Output's
  // last reference; it releases it where a detach() from its destructor
  // waits for nothing.
  void detach(std::string_view cid, const Output* out);

  // Ends a conversation: runs its stop hooks, cancels timers, closes its
  // stream, removes it and calls store.remove. Idempotent. On a shared store
  // a conversation this runtime does not hold is loaded to be ended; a
  // store that cannot be read then throws StoreError. A failed remove is
  // logged and retried (docs/store.md, "A failed remove"). During or after shutdown,
  // whose stop hooks have run, only the record is removed, and a store that
  // cannot remove it throws StoreError.
  void end(std::string_view cid);
  // Idempotent: refuse new conversations, cancel timers, run stop hooks,
  // close streams, one last save per conversation, clear. On a shared store
  // (store.shared()) the last save is only for conversations whose last
  // save failed: the others are stored as they are, and saving them again
  // would make a new version under the server that serves them.
  void shutdown();

  bool shutting_down() const noexcept;
  // True while this thread runs a handler, wakeup or stop hook of one of
  // this runtime's conversations (a timer's event included), or the start
  // hook of a component a handler called (inside the event's step); not the
  // root's start hook, which mint() runs before the conversation is
  // registered. From there,
  // shutdown() and the calls for a conversation the thread holds (dispatch,
  // back, attach, end, conversation) would wait for that conversation's
  // lock: they throw std::logic_error. So does such a call for another
  // conversation whose handler, on another thread, waits for one this
  // thread holds (two handlers stepping each other's conversations).
  bool in_handler() const noexcept;
  std::size_t size() const;
  // True when mint() would now throw TooManyConversations.
  bool full() const;
  std::optional<edn::Value> conversation(std::string_view cid) const;
  std::size_t restored_count() const noexcept;  // how many load_all returned

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stube
