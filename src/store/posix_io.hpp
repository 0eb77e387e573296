// Small checked wrappers over the POSIX calls the file store makes. Every
// failure becomes a StoreError naming the operation, the path and errno's text.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>

namespace stube::store_detail {

// getpid() without a system call: cached, and refreshed in a forked child
// (pthread_atfork), so that a child never passes for its parent.
pid_t current_pid() noexcept;

// errno's text, thread-safe (strerror is not).
std::string errno_text(int err);

// "file store: <op> <path>: <reason>" as a StoreError.
[[noreturn]] void throw_errno(std::string_view op, std::string_view path, int err);

// An owned file descriptor, closed (unchecked) on destruction: a close that
// matters for the data is done explicitly with close_checked().
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  // Closes now; returns 0 or the errno of a failed close.
  int close_checked() noexcept;

 private:
  int fd_ = -1;
};

// Writes all of `data`, retrying short writes and EINTR. Returns 0 or errno.
int write_all(int fd, std::string_view data) noexcept;

// fsync, retried on EINTR. Returns 0 or errno.
int fsync_retry(int fd) noexcept;

// What read_file_at found.
enum class FileRead {
  read,    // `out` holds the file
  gone,    // no such file: removed since it was listed, which is no problem
  failed,  // `why` says what was wrong with the file
  // The process or the machine ran out of something (descriptors, kernel
  // memory): nothing is known about the file, which may be fine. `why`
  // says what ran out. A backend failure, not bad data.
  out_of_resources,
};

// Reads a whole regular file `name` relative to directory `dirfd` into
// `out`; a file larger than `max_bytes` fails unread.
FileRead read_file_at(int dirfd, const char* name, std::size_t max_bytes, std::string& out,
                      std::string& why);

}  // namespace stube::store_detail
