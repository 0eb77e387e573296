// Requests for one conversation, handled one after another on the workers.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace stube::server {

// A second request for a conversation whose request is being handled (a
// double click on a slow handler, a stream reconnecting meanwhile) waits
// here, not on a worker blocked on the conversation's lock: with a couple
// of workers, that would stall every other conversation's requests too.
// Requests of different conversations run in parallel, as before.
class ConversationQueues {
 public:
  explicit ConversationQueues(boost::asio::thread_pool& workers) : workers_(workers) {}
  ConversationQueues(const ConversationQueues&) = delete;
  ConversationQueues& operator=(const ConversationQueues&) = delete;

  // Runs `task` on the workers once every task posted before for `cid` ran;
  // at once for an empty cid (a mint: no conversation yet).
  void post(const std::string& cid, std::function<void()> task);

  // Conversations with a task running or waiting (for tests).
  std::size_t busy() const;

 private:
  void start(const std::string& cid, std::function<void()> task);  // on a worker
  void run(const std::string& cid, std::function<void()> task);

  boost::asio::thread_pool& workers_;
  mutable std::mutex mu_;
  // A cid is here while one of its tasks runs; the queue holds those after it.
  std::unordered_map<std::string, std::deque<std::function<void()>>> busy_;
};

}  // namespace stube::server
