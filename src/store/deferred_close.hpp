// Closes file descriptors on a background thread, so that what a close sets
// off does not run on the caller's thread.
//
// Why the file store needs it: a save renames its new file over the old
// one, and dropping the old file's last link frees its blocks. On a file
// system mounted with `discard` (common on SSDs and virtual disks) freeing
// waits for the device to trim them, and that wait was a large part of a
// save. A file held open is freed only at its last close, so the store
// opens the old file before the rename and hands the descriptor here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "store/posix_io.hpp"

namespace stube::store_detail {

// How many descriptors a DeferredClose holds at most by default under a soft
// descriptor limit of `limit` (RLIMIT_NOFILE): limit / 32, at least 16 and at
// most 1024. A release can take a while (freeing a file's blocks waits
// for the device when the file system discards them), and when the queue
// is full the saving thread releases inline, holding up every save queued
// behind it: 64 filled up within bursts of a busy server. By default that
// is a quarter of what a server keeps back from connections (an eighth of
// the limit, at least 64: server::descriptor_reserve). A server whose
// explicit max_connections leaves less may find the closer holding part of
// the rest during a burst: the file store's own create then closes what
// waits in the queue and tries again; anything else (an accept, another
// store's open) fails or backs off as when the process is short anyway.
std::size_t max_pending_for(std::uint64_t limit) noexcept;

class DeferredClose {
 public:
  // At most `max_pending` descriptors are held (waiting or being closed);
  // beyond that close_later closes inline, so a slow device holds back the
  // callers instead of piling up descriptors. By default, the number
  // max_pending_for() gives for the descriptor limit the process has when
  // the first descriptor comes (a program may raise its limit after it
  // opened its store, as stube-demo does before it opens it).
  DeferredClose();
  explicit DeferredClose(std::size_t max_pending);
  // Closes whatever is still pending, then joins the thread.
  ~DeferredClose();
  DeferredClose(const DeferredClose&) = delete;
  DeferredClose& operator=(const DeferredClose&) = delete;

  // Closes `fd` soon, on the background thread (started on first use), or
  // right here if max_pending descriptors already wait or no thread can be
  // started. Never throws; an invalid Fd is ignored.
  void close_later(Fd fd) noexcept;

  // Closes, on the calling thread, the descriptors waiting in the queue (not
  // the ones the thread is closing now): for a caller that ran out of
  // descriptors. Bounded by what waits; in a forked child, nothing.
  void close_pending_now() noexcept;

  // Like close_pending_now, and then waits for the batch the thread is
  // closing meanwhile: for a caller that ran out of disk space, as a held
  // file's blocks are freed only at its close. In a forked child, nothing.
  void close_all_now() noexcept;

  // Returns once every descriptor handed over so far is closed (tests).
  void drain();

 private:
  struct Shared;  // what the thread works on, see the destructor
  static void run(Shared& shared);

  std::optional<std::size_t> max_pending_;  // set under the lock when the thread starts
  std::unique_ptr<Shared> shared_;
};

}  // namespace stube::store_detail
