// finish_output: the tools' last step, so that output lost to a full disk or
// a closed pipe is an error that says so, not a silent exit status.
#pragma once

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string_view>

namespace stube::tool {

// The errno of the first write to standard output that failed (write_output).
inline int& output_errno() {
  static int err = 0;
  return err;
}

// Writes `text` to standard output, keeping the errno of a failed write for
// finish_output: a large output fails in the write, before the flush, and
// errno would be gone by then.
inline void write_output(std::string_view text) {
  if (!std::cout) return;
  errno = 0;
  std::cout << text;
  if (!std::cout && output_errno() == 0) output_errno() = errno;
}

// Flushes standard output. Returns 0 when it took everything, or 1 after
// telling stderr why not (a full disk, a closed pipe with SIGPIPE ignored).
// `err` is the errno of a write that already failed (a large output written
// before the flush), or 0.
inline int finish_output(std::string_view tool, int err = 0) {
  if (err == 0) err = output_errno();
  if (std::cout) {
    errno = 0;
    std::cout.flush();
    if (std::cout) return 0;
    err = errno;
  }
  std::cerr << tool
            << ": cannot write the output: " << (err != 0 ? std::strerror(err) : "write failed")
            << '\n';
  return 1;
}

// `status` unless the output could not be written (then 1, said on stderr).
inline int with_output(std::string_view tool, int status) {
  return finish_output(tool) != 0 ? 1 : status;
}

}  // namespace stube::tool
