// Which moments of a conversation `back` has undone, so that a timer one of
// them requested does not fire into the moment restored. Internal to the
// runtime; used with the conversation's lock held.
//
// A moment is what the history snapshots: it begins with a step that records
// a snapshot and ends when the next one does, or when `back` undoes it. A
// timer belongs to the moment that requested it (a timer's own event is no
// moment, see dispatch_timer). Moments that fall off the front of a capped
// history are not undone: back can no longer reach past them, so their
// timers still fire, unless back runs their frame's wakeup again (rewake).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace stube::detail {

class Moments {
 public:
  struct Moment {
    bool undone = false;
  };
  using Ref = std::shared_ptr<Moment>;

  // The moment the conversation is in, for a timer it requests (made on
  // first use: most moments never request one).
  Ref current();

  // After a step: `undone` moments were undone by back, and `recorded`
  // began a new one. `history_size` is the conversation's history length
  // now, which the moments follow (a capped history drops the oldest).
  void step(bool recorded, std::size_t undone, std::size_t history_size);

  // The conversation was replaced (another server's version): its history's
  // moments are unknown here. Timers already requested stay.
  void reset(std::size_t history_size);

  // The moment of the timers frame `iid`'s wakeup re-armed after a restart
  // (and those their events re-arm). Which moment the frame first armed them
  // in died with the last process, so back does not undo this one with the
  // history's; went_back() does, when the frame leaves the stack or back
  // runs its wakeup again (which re-arms them: its clock would run twice).
  Ref woken(const std::string& iid);

  // After a step that went back: `stack` is the call stack it left
  // (instance ids), `rewoken` the frames whose wakeup it ran.
  void went_back(const std::vector<std::string_view>& stack,
                 const std::vector<std::string>& rewoken);

  // The token of the timers frame `iid` has pending, which they hold: made
  // anew when it has none pending. A timer fires only while both its moment
  // and its frame's token stand.
  Ref frame(const std::string& iid);

  // Back ran frame `iid`'s wakeup again, which re-arms what the frame needs:
  // every timer it had pending is undone, whichever moment armed it (a clock
  // its start and its wakeup both set going would otherwise run once more
  // after each back). Those the wakeup arms get a new token.
  void rewake(const std::string& iid);

 private:
  void follow(std::size_t history_size);

  std::vector<Ref> path_;  // the history's moments, oldest first; null: no timer asked
  Ref current_;
  std::map<std::string, Ref, std::less<>> woken_;  // by instance id
  // By instance id; expired once the frame's last pending timer is gone.
  std::map<std::string, std::weak_ptr<Moment>, std::less<>> frames_;
};

}  // namespace stube::detail
