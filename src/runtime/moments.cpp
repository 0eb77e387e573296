#include "runtime/moments.hpp"

#include <algorithm>

namespace stube::detail {

Moments::Ref Moments::current() {
  if (!current_) current_ = std::make_shared<Moment>();
  return current_;
}

void Moments::step(bool recorded, std::size_t undone, std::size_t history_size) {
  for (std::size_t i = 0; i < undone; ++i) {
    if (current_) current_->undone = true;
    if (path_.empty()) {  // a snapshot from before this process: no timers of its own
      current_.reset();
      continue;
    }
    current_ = std::move(path_.back());
    path_.pop_back();
  }
  if (recorded) {
    path_.push_back(std::move(current_));
    current_.reset();
  }
  follow(history_size);
}

void Moments::reset(std::size_t history_size) {
  path_.clear();
  current_.reset();
  follow(history_size);
}

Moments::Ref Moments::woken(const std::string& iid) {
  Ref& moment = woken_[iid];
  if (!moment) moment = std::make_shared<Moment>();
  return moment;
}

void Moments::went_back(const std::vector<std::string_view>& stack,
                        const std::vector<std::string>& rewoken) {
  for (auto it = woken_.begin(); it != woken_.end();) {
    const bool stays = std::find(stack.begin(), stack.end(), it->first) != stack.end() &&
                       std::find(rewoken.begin(), rewoken.end(), it->first) == rewoken.end();
    if (stays) {
      ++it;
      continue;
    }
    it->second->undone = true;
    it = woken_.erase(it);
  }
}

Moments::Ref Moments::frame(const std::string& iid) {
  if (Ref token = frames_[iid].lock()) return token;
  // A new token: first drop those of frames whose timers have all gone, so
  // that the map holds no more than the frames with timers pending.
  std::erase_if(frames_, [](const auto& entry) { return entry.second.expired(); });
  Ref token = std::make_shared<Moment>();
  frames_[iid] = token;
  return token;
}

void Moments::rewake(const std::string& iid) {
  const auto it = frames_.find(iid);
  if (it == frames_.end()) return;
  if (const Ref token = it->second.lock()) token->undone = true;
  frames_.erase(it);
}

void Moments::follow(std::size_t history_size) {
  if (path_.size() > history_size) {
    path_.erase(path_.begin(),
                path_.begin() + static_cast<std::ptrdiff_t>(path_.size() - history_size));
  } else if (path_.size() < history_size) {
    path_.insert(path_.begin(), history_size - path_.size(), nullptr);
  }
}

}  // namespace stube::detail
