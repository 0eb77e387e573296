// Helpers shared by the kernel and runtime tests (header-only: the runtime
// tests are another executable).
#pragma once

#include <gtest/gtest.h>

#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/edn_print.hpp"
#include "stube/component.hpp"
#include "stube/conversation.hpp"
#include "stube/edn.hpp"
#include "stube/kernel.hpp"

namespace stube::test {

using edn::kw;
using edn::Value;

// What hooks did, in order: tests define components whose hooks append here.
class Journal {
 public:
  void add(std::string entry) {
    std::lock_guard lock(mu_);
    entries_.push_back(std::move(entry));
  }
  std::vector<std::string> entries() const {
    std::lock_guard lock(mu_);
    return entries_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    entries_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> entries_;
};

// --- events that answer the stock dialogs -----------------------------------
inline Event type_and_ok(std::string_view text) {
  return Event{"ok", {}, edn::map({{kw("answer"), Value(text)}})};
}
inline Event yes() {
  return Event{"yes"};
}
inline Event no() {
  return Event{"no"};
}
inline Event pick(std::int64_t index) {
  return Event{"pick", Value(index)};
}
inline Event cancel() {
  return Event{"cancel"};
}

// --- reading a conversation ---------------------------------------------------
inline std::string top_iid(const Value& conv) {
  return std::string(top_instance(conv));
}
inline const Value& top_frame(const Value& conv) {
  return instance(conv, top_instance(conv));
}
// The component id of the top frame, e.g. "stube/prompt".
inline std::string top_type(const Value& conv) {
  return std::string(top_frame(conv)[":instance/type"].as_keyword());
}
inline std::vector<std::string> stack_types(const Value& conv) {
  std::vector<std::string> out;
  for (const Value& iid : conv::stack(conv))
    out.emplace_back(instance(conv, iid.as_string())[":instance/type"].as_keyword());
  return out;
}

// Dispatches `e` to the top frame and expects an Ok step.
inline Step send_top(const Registry& reg, const Value& conv, const Event& e,
                     const KernelOptions& opts = {}) {
  Step s = dispatch(reg, conv, top_instance(conv), e, opts);
  EXPECT_EQ(s.status, Step::Status::Ok) << s.error;
  return s;
}

// The fragment aimed at `target`, or nullptr.
inline const Fragment* fragment_for(const Step& s, std::string_view target) {
  for (const Fragment& f : s.fragments)
    if (f.target == target) return &f;
  return nullptr;
}

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace stube::test
