#include "runtime/retry_rounds.hpp"

#include <algorithm>
#include <exception>
#include <string>

#include "stube/log.hpp"

namespace stube::detail {

void RetryRounds::request() {
  std::lock_guard lock(mu_);
  if (delay_.count() == 0)
    book(first_);
  else
    again_ = true;
}

void RetryRounds::book(std::chrono::milliseconds delay) {
  delay_ = delay;
  timers_.schedule(delay, "", [this] { on_timer(); });
}

// Booked again whatever the round does: a round that threw and booked none
// would end the retries for good.
void RetryRounds::on_timer() {
  {
    std::lock_guard lock(mu_);
    again_ = false;
  }
  bool done = false;
  try {
    done = round_();
  } catch (const std::exception& e) {
    log::error(std::string("a retry round failed: ") + e.what());
  } catch (...) {
    log::error("a retry round failed: it threw something that is not a std::exception");
  }
  std::lock_guard lock(mu_);
  if (done && !again_) {
    delay_ = std::chrono::milliseconds(0);
    return;
  }
  book(done ? first_ : std::min(delay_ * 2, longest_));
}

}  // namespace stube::detail
