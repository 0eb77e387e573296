#include "server/conversation_queues.hpp"

#include <boost/asio/post.hpp>
#include <utility>

#include "stube/log.hpp"

namespace stube::server {

void ConversationQueues::post(const std::string& cid, std::function<void()> task) {
  if (cid.empty()) return boost::asio::post(workers_, std::move(task));
  {
    std::lock_guard lock(mu_);
    auto [it, idle] = busy_.try_emplace(cid);
    if (!idle) {
      it->second.push_back(std::move(task));
      return;
    }
  }
  start(cid, std::move(task));
}

void ConversationQueues::start(const std::string& cid, std::function<void()> task) {
  boost::asio::post(workers_,
                    [this, cid, task = std::move(task)]() mutable { run(cid, std::move(task)); });
}

void ConversationQueues::run(const std::string& cid, std::function<void()> task) {
  // A throwing task would end the process from the pool's thread, and a cid
  // left busy would queue its requests for ever: logged, and the next runs.
  try {
    task();
  } catch (const std::exception& e) {
    log::error("server: a request for " + cid + " failed: " + e.what());
  } catch (...) {
    log::error("server: a request for " + cid + " failed");
  }
  std::function<void()> next;
  {
    std::lock_guard lock(mu_);
    auto it = busy_.find(cid);
    if (it->second.empty()) {
      busy_.erase(it);
      return;
    }
    next = std::move(it->second.front());
    it->second.pop_front();
  }
  start(cid, std::move(next));
}

std::size_t ConversationQueues::busy() const {
  std::lock_guard lock(mu_);
  return busy_.size();
}

}  // namespace stube::server
