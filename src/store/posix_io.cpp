// Checked POSIX helpers for the file store.
#include "store/posix_io.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>

#include "stube/store.hpp"

namespace stube::store_detail {

namespace {

std::atomic<pid_t> cached_pid{0};

void refresh_cached_pid() noexcept {
  cached_pid.store(::getpid(), std::memory_order_relaxed);
}

}  // namespace

pid_t current_pid() noexcept {
  static const bool registered = [] {
    refresh_cached_pid();
    return ::pthread_atfork(nullptr, nullptr, refresh_cached_pid) == 0;
  }();
  return registered ? cached_pid.load(std::memory_order_relaxed) : ::getpid();
}

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns the message, which may or may not be in buf.
  return ::strerror_r(err, buf, sizeof buf);
}

void throw_errno(std::string_view op, std::string_view path, int err) {
  std::string msg = "file store: ";
  msg.append(op).append(" ").append(path).append(": ").append(errno_text(err));
  throw StoreError(msg);
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

int Fd::close_checked() noexcept {
  // Linux releases the descriptor even when close fails (also on EINTR), so
  // it is never retried.
  const int rc = ::close(std::exchange(fd_, -1));
  return rc == 0 ? 0 : errno;
}

int write_all(int fd, std::string_view data) noexcept {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // no progress on a regular file: treat as an I/O error
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return 0;
}

int fsync_retry(int fd) noexcept {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

namespace {

// Why a record could not be opened, beyond errno.
enum class Missing { no, gone, dangling_link };

// Errors that say the process or the machine ran short, not that the file
// is bad: the same read may well succeed later.
bool out_of_resources(int err) {
  return err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS;
}

// Opens a record for reading. A remove and then a save of the same record
// between the open and the look at the name show a name that the open did
// not find: the record is back, so it is opened again (a bounded number of
// times: another remove may come between; then it counts as gone).
Fd open_record(int dirfd, const char* name, Missing& missing) {
  for (int attempt = 0;; ++attempt) {
    // O_NONBLOCK: a FIFO named like a record must not block the load.
    Fd fd(::openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd || errno != ENOENT) return fd;
    struct stat link {};
    if (::fstatat(dirfd, name, &link, AT_SYMLINK_NOFOLLOW) != 0 || attempt == 100) {
      missing = Missing::gone;
      return fd;
    }
    if (S_ISLNK(link.st_mode)) {
      missing = Missing::dangling_link;
      return fd;
    }
  }
}

}  // namespace

FileRead read_file_at(int dirfd, const char* name, std::size_t max_bytes, std::string& out,
                      std::string& why) {
  const auto failed = [&why](std::string reason) {
    why = std::move(reason);
    return FileRead::failed;
  };
  Missing missing = Missing::no;
  Fd fd = open_record(dirfd, name, missing);
  if (missing == Missing::gone) return FileRead::gone;
  if (missing == Missing::dangling_link) return failed("a symbolic link to nothing");
  if (!fd) {
    const int err = errno;
    why = "cannot open: " + errno_text(err);
    return out_of_resources(err) ? FileRead::out_of_resources : FileRead::failed;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return failed("cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return failed("not a regular file");
  const auto too_large = [&failed, max_bytes](std::size_t bytes) {
    return failed("larger than the record limit (" + std::to_string(bytes) + " bytes, at most " +
                  std::to_string(max_bytes) + "; FileStoreOptions::max_record_bytes): not read");
  };
  if (static_cast<std::uintmax_t>(st.st_size) > max_bytes)
    return too_large(static_cast<std::size_t>(st.st_size));
  // The size is a hint: read until end of file in case the file changed.
  // One byte more is asked for so that the usual case takes one read: a
  // short read that stops exactly at the stat size is the end of the file
  // (a file that had grown would have given the extra byte). Otherwise read
  // on until read() says end of file. Within the capacity of a reused buffer
  // the resize neither allocates nor clears much.
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t cap = max_bytes < SIZE_MAX ? max_bytes + 1 : max_bytes;  // +1: sees growth
  try {
    out.resize(std::min(size + 1, cap));
    std::size_t used = 0;
    for (;;) {
      if (used > max_bytes) return too_large(used);  // it grew while read
      if (used == out.size()) out.resize(std::min(out.size() * 2, cap));
      const ssize_t n = ::read(fd.get(), out.data() + used, out.size() - used);
      if (n < 0) {
        const int err = errno;
        if (err == EINTR) continue;
        why = "cannot read: " + errno_text(err);
        return out_of_resources(err) ? FileRead::out_of_resources : FileRead::failed;
      }
      if (n == 0) break;
      used += static_cast<std::size_t>(n);
      if (used == size && size + 1 == out.size()) break;
    }
    out.resize(used);
  } catch (const std::bad_alloc&) {
    why = "no memory to read it into (" + std::to_string(size) + " bytes)";
    return FileRead::out_of_resources;
  }
  return FileRead::read;
}

}  // namespace stube::store_detail
