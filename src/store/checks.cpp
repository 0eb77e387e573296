// Checks shared by every durable backend.
#include "store/checks.hpp"

#include <new>

#include "store/posix_io.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"
#include "stube/store.hpp"

namespace stube::store_checks {

void check_cid(std::string_view backend, std::string_view cid) {
  if (conv::valid_id(cid)) return;
  throw InvalidCid(std::string(backend) + ": invalid conversation id " + conv::quote_id(cid) +
                   " (an id is 1-" + std::to_string(conv::max_id_length) +
                   " characters from [A-Za-z0-9_-])");
}

std::string_view checked_cid(std::string_view backend, const edn::Value& conv) {
  const auto cid = conv::find_id(conv);
  if (!cid) {
    throw InvalidCid(std::string(backend) + ": cannot save " + edn::kind_phrase(conv.kind()) +
                     (conv.is(edn::Kind::Map) ? " without a string :conv/id" : "") +
                     ": a conversation is a map with a string :conv/id");
  }
  check_cid(backend, *cid);
  return *cid;
}

UnsavedWarnings::UnsavedWarnings() : owner_pid_(store_detail::current_pid()) {}

bool UnsavedWarnings::first_time(std::string_view cid) {
  if (store_detail::current_pid() != owner_pid_) return true;
  constexpr std::size_t kRemembered = 10'000;
  std::lock_guard lock(mutex_);
  if (warned_.size() >= kRemembered) warned_.clear();
  return warned_.emplace(cid).second;
}

bool printable_or_warn(std::string_view backend, std::string_view cid, const edn::Value& conv,
                       UnsavedWarnings* once) {
  if (conv.printable() && conv.depth() <= edn::max_write_depth) return true;
  if (once != nullptr && !once->first_time(cid)) return false;  // said once: enough
  if (conv.printable()) {
    // Written, it could never be loaded back: edn::read refuses it.
    log::warn(std::string(backend) + ": conversation " + conv::quote_id(cid) +
              " was not saved: it nests " + std::to_string(conv.depth()) +
              " levels deep, deeper than the " + std::to_string(edn::max_write_depth) +
              " levels a store reads back (edn::ReadOptions::max_depth), so its stored "
              "copy is missing or stale. Keep deep structures flat (a vector of items, "
              "not items nested in items).");
    return false;
  }
  log::warn(std::string(backend) + ": conversation " + conv::quote_id(cid) +
            " was not saved: it holds a live object that is not EDN data (typically a "
            "running coroutine flow), so its stored copy is missing or stale. To make "
            "it durable, rewrite the flow as a task component (a start hook plus named "
            "resume keys that keep its state in EDN); see docs/store.md.");
  return false;
}

std::optional<edn::Value> read_record(std::string_view cid, std::string_view text,
                                      std::string_view index, std::string& problem) noexcept {
  bool starved = false;
  return store_detail::read_record(cid, text, index, problem, starved);
}

}  // namespace stube::store_checks

namespace stube::store_detail {

std::optional<edn::Value> read_record(std::string_view cid, std::string_view text,
                                      std::string_view index, std::string& problem,
                                      bool& starved) noexcept {
  starved = false;
  try {
    // A record a backend never wrote (by hand, or by another program) is
    // not a conversation the runtime could address.
    if (!conv::valid_id(cid)) {
      problem = std::string(index) + " is not a valid conversation id";
      return std::nullopt;
    }
    edn::Value v = edn::read(text);
    problem = conv::record_problem(v, cid, index);
    if (problem.empty()) return v;
  } catch (const edn::StackExhausted& e) {
    problem = e.what();  // the thread's limit: nothing is known about the record
    starved = true;
  } catch (const edn::ParseError& e) {
    problem = std::string("not valid EDN: ") + e.what();
  } catch (const std::bad_alloc&) {
    problem = "out of memory";  // short: no allocation to fail again
    starved = true;
  } catch (const std::exception& e) {
    problem = e.what();
  } catch (...) {
    problem = "unknown error";
  }
  return std::nullopt;
}

void throw_starved(std::string_view backend, std::string_view what, std::string_view problem) {
  throw StoreError(std::string(backend) + ": cannot load " + std::string(what) + ": " +
                   std::string(problem) +
                   " (the process or the machine ran short; nothing was loaded)");
}

namespace {
thread_local std::string t_scratch;
thread_local bool t_scratch_taken = false;
}  // namespace

ScratchText::ScratchText() noexcept
    : text_(t_scratch_taken ? &own_ : &t_scratch), borrowed_(!t_scratch_taken) {
  t_scratch_taken = true;
  text_->clear();
}

ScratchText::~ScratchText() {
  if (!borrowed_) return;
  if (t_scratch.capacity() > kKeep) std::string().swap(t_scratch);
  t_scratch_taken = false;
}

std::size_t ScratchText::kept_capacity() noexcept {
  return t_scratch.capacity();
}

}  // namespace stube::store_detail
