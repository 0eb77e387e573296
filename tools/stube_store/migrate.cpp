// stube-store migrate FROM TO: copies every readable conversation, reads
// each back from TO and compares, and says what it did.
#include <unistd.h>

#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "finish_output.hpp"
#include "stube/conversation.hpp"
#include "stube_store/tool.hpp"

namespace stube::tool {

namespace {

const edn::Value& version_key() {
  static const edn::Value k = edn::kw("conv/version");
  return k;
}

// A bar on stderr, drawn only when stderr is a terminal (never in logs or
// pipes); messages go above it.
class Progress {
 public:
  explicit Progress(std::size_t total) : total_(total), on_(::isatty(STDERR_FILENO) == 1) {}

  void step() {
    ++done_;
    if (on_) draw();
  }
  void message(const std::string& line) {
    if (on_) std::cerr << "\r\033[K";
    std::cerr << line << '\n';
    if (on_) draw();
  }
  void finish() {
    if (on_ && total_ > 0) std::cerr << '\n';
  }

 private:
  void draw() const {
    constexpr std::size_t kWidth = 40;
    const std::size_t filled = total_ == 0 ? kWidth : done_ * kWidth / total_;
    std::cerr << "\r[" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] "
              << done_ << '/' << total_ << std::flush;
  }

  std::size_t total_;
  std::size_t done_ = 0;
  bool on_;
};

struct Counts {
  std::size_t copied = 0, kept = 0, skipped = 0, failed = 0;
};

std::optional<edn::Instant> touched_of(const edn::Value& conv) {
  try {
    return conv::touched(conv);
  } catch (const std::exception&) {  // a record without a readable :conv/touched
    return std::nullopt;
  }
}

// What TO holds, read before copying unless --overwrite: its conversations,
// and the problems of the records it cannot read, by cid.
struct TargetRecords {
  ConversationMap copies;
  std::map<std::string, std::string> unreadable;
};

TargetRecords read_target(ConversationStore& target, const std::string& to) {
  TargetRecords held;
  try {
    for (Record& r : read_records(target, to)) {
      if (r.conv)
        held.copies.emplace(r.cid, std::move(*r.conv));
      else
        held.unreadable.emplace(r.cid, r.problem);
    }
  } catch (const Failure& e) {  // "cannot read TO: …"
    throw Failure(std::string(e.what()) +
                  " (read first, to keep the copies there that are newer); nothing was copied");
  }
  return held;
}

// Why TO's copy of a conversation stays, or "" when FROM's may replace it:
// TO's was touched later (a server ran on TO since the last migration), and
// copying FROM's over it would roll the user back; or TO's cannot be read,
// so nobody can tell (it may be the later one, damaged: a human decides).
std::string kept_in_target(const TargetRecords& held, const std::string& cid,
                           const edn::Value& conv) {
  if (const auto bad = held.unreadable.find(cid); bad != held.unreadable.end())
    return "kept " + cid + ": TO's record of it cannot be read (" + bad->second +
           "), so it cannot be told whether it is newer; --overwrite replaces it";
  const auto it = held.copies.find(cid);
  if (it == held.copies.end()) return "";
  const auto ours = touched_of(conv), theirs = touched_of(it->second);
  if (!ours || !theirs || !(*ours < *theirs)) return "";
  return "kept " + cid + ": TO's copy was touched later (" + format_instant(*theirs) +
         ") than FROM's (" + format_instant(*ours) + "); --overwrite replaces it";
}

// conv as the next version of what a shared target holds now (its
// compare-and-set then accepts it): re-running overwrites instead of failing.
edn::Value on_top_of(ConversationStore& target, const std::string& cid, const edn::Value& conv) {
  const auto current = target.load(cid);
  return current ? conv.assoc(version_key(), current->get(version_key()))
                 : conv.dissoc(version_key());
}

// The records a shared TO holds and cannot read (bad EDN, a record of the
// wrong shape), by cid: a compare-and-set cannot replace one, and its
// refusal names a race that never happened. Known from read_target, or
// (with --overwrite, which reads nothing first) read once, when a copy with
// no record there was first refused.
class UnreadableInTarget {
 public:
  using Problems = std::map<std::string, std::string>;
  UnreadableInTarget(ConversationStore& target, const std::string& to,
                     std::optional<Problems> known)
      : target_(target), to_(to), problems_(std::move(known)) {}

  // "" unless TO holds an unreadable record of `cid`; then why, to put
  // before the store's own message.
  std::string why(const std::string& cid) {
    if (!problems_) {
      problems_.emplace();
      try {
        for (const Record& r : read_records(target_, to_))
          if (!r.conv) problems_->emplace(r.cid, r.problem);
      } catch (const std::exception&) {  // the refusal's own message says enough
      }
    }
    const auto it = problems_->find(cid);
    if (it == problems_->end()) return "";
    return "TO holds a record of it that cannot be read (" + it->second +
           "), which a shared store does not replace: delete that row with the database's "
           "tools, then migrate again; the store said: ";
  }

 private:
  ConversationStore& target_;
  const std::string& to_;
  std::optional<Problems> problems_;
};

// Saved values the target could not read back one by one (no load(cid)):
// checked with one load_all at the end.
using Pending = std::vector<std::pair<std::string, edn::Value>>;

void confirm_pending(ConversationStore& target, const Pending& pending, Counts& counts,
                     Progress& progress) {
  if (pending.empty()) return;
  ConversationMap stored;
  try {
    stored = target.load_all();
  } catch (const StoreError& e) {
    progress.message(std::string("cannot read the copies back: ") + e.what());
    counts.failed += pending.size();
    return;
  }
  for (const auto& [cid, saved] : pending) {
    const auto it = stored.find(cid);
    if (it != stored.end() && it->second == saved) {
      ++counts.copied;
    } else {
      ++counts.failed;
      progress.message("failed " + cid + ": " +
                       (it == stored.end() ? "not found when read back" : "read back different"));
    }
  }
}

// TO may be FROM under another name: a symbolic or hard link, a bind
// mount, another spelling of a PostgreSQL URL (postgres: or postgresql:,
// other options). Copying a store onto itself would bump every version, and
// a live server's next save of each conversation would then be refused as
// stale. So look: a probe conversation saved to TO (which migrate writes to
// anyway) before FROM is read must not be among FROM's records.
std::string save_probe(ConversationStore& target, const std::string& to) {
  const edn::Value probe = conv::make(conv::mint_id("cv-"));
  try {
    target.save(probe);
  } catch (const StoreError& e) {
    throw Failure("cannot write to " + redact_store_url(to) + ": " + e.what());
  }
  return std::string(conv::id(probe));
}

void remove_probe(ConversationStore& target, const std::string& cid, const std::string& to) {
  try {
    target.remove(cid);
  } catch (const std::exception& e) {
    std::cerr << "warning: the probe conversation " << cid << " is left in " << redact_store_url(to)
              << " (remove it with your database's tools): " << e.what() << "\n";
  }
}

}  // namespace

int migrate(const std::string& from, const std::string& to, bool overwrite) {
  if (same_place(from, to)) {
    throw UsageError("FROM and TO are the same store (" + redact_store_url(store_identity(to)) +
                     ")");
  }
  if (to.starts_with("memory:")) {
    throw UsageError("TO is " + redact_store_url(to) +
                     ", which keeps nothing: every conversation would be lost");
  }
  // Both opened before the source is read: a target that cannot be opened
  // fails at once, not after reading a large store.
  const auto source = open_existing(from);
  const auto target = open_target(to);
  const std::string probe = save_probe(*target, to);
  std::vector<Record> records;
  try {
    records = read_records(*source, from);
  } catch (...) {
    remove_probe(*target, probe, to);
    throw;
  }
  remove_probe(*target, probe, to);
  for (const Record& r : records)
    if (r.cid == probe)
      throw UsageError("FROM and TO are the same store (a conversation saved to " +
                       redact_store_url(to) + " was read back from FROM)");

  const TargetRecords held = overwrite ? TargetRecords{} : read_target(*target, to);
  Counts counts;
  Pending pending;
  UnreadableInTarget unreadable(*target, to,
                                overwrite ? std::nullopt : std::optional(held.unreadable));
  Progress progress(records.size());
  for (const Record& r : records) {
    progress.step();
    if (!r.conv) {
      ++counts.skipped;
      progress.message("skipped " + r.cid + r.position + ": " + r.problem);
      continue;
    }
    if (const std::string why = kept_in_target(held, r.cid, *r.conv); !why.empty()) {
      ++counts.kept;
      progress.message(why);
      continue;
    }
    bool none_there = false;  // a shared TO's load() found no readable record
    try {
      const edn::Value value = target->shared() ? on_top_of(*target, r.cid, *r.conv) : *r.conv;
      none_there = target->shared() && !value.contains(version_key());
      const edn::Value saved = target->save(value);
      if (const auto back = target->load(r.cid)) {
        if (*back != saved) throw StoreError("read back different");
        ++counts.copied;
      } else {
        pending.emplace_back(r.cid, saved);
      }
    } catch (const StaleConversation& e) {
      ++counts.failed;
      progress.message("failed " + r.cid + ": " + (none_there ? unreadable.why(r.cid) : "") +
                       e.what());
    } catch (const std::exception& e) {  // StoreError, InvalidCid
      ++counts.failed;
      progress.message("failed " + r.cid + ": " + e.what());
    }
  }
  confirm_pending(*target, pending, counts, progress);
  progress.finish();
  std::cout << counts.copied << " copied, " << counts.kept << " kept (newer or unreadable in TO), "
            << counts.skipped << " skipped (unreadable), " << counts.failed << " failed\n";
  return with_output("stube-store",
                     counts.kept == 0 && counts.skipped == 0 && counts.failed == 0 ? 0 : 1);
}

}  // namespace stube::tool
