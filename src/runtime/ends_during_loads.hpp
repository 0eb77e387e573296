// The conversations that ended while a load-on-miss was reading the shared
// store. Internal to the runtime; not thread-safe (the runtime calls it
// under its map lock).
//
// A record read before its conversation ended on this server is that ended
// conversation, and must not be inserted as a live one. So each load takes
// a ticket when it starts, and asks ended_since(cid, ticket) before it
// inserts. An end is remembered only while a load that started before it
// is still in flight: under a steady stream of overlapping loads the list
// holds the ends since the oldest of them, not every end since the loads
// last stopped.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

namespace stube::detail {

class EndsDuringLoads {
 public:
  using Ticket = std::uint64_t;

  Ticket load_started();
  void load_finished(Ticket ticket);
  void ended(const std::string& cid);
  // Whether cid ended after the load holding `ticket` started.
  bool ended_since(std::string_view cid, Ticket ticket) const;

  std::size_t remembered() const { return by_cid_.size(); }

 private:
  void forget_older_than(Ticket oldest);

  Ticket ends_ = 0;                       // ends counted so far
  std::multiset<Ticket> loads_;           // ends_ when each load in flight started
  std::map<Ticket, std::string> by_end_;  // end number -> cid
  std::unordered_map<std::string, Ticket> by_cid_;
};

}  // namespace stube::detail
