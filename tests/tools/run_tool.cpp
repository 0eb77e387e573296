#include "tools/run_tool.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>

extern char** environ;

namespace stube::test {

namespace {

// A temporary file, removed on destruction.
struct TempFile {
  std::string path;
  TempFile() {
    std::string pattern = (std::filesystem::temp_directory_path() / "stube-tool.XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("mkstemp: " + std::string(std::strerror(errno)));
    ::close(fd);
    path = pattern;
  }
  ~TempFile() { ::unlink(path.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  std::string read() const {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
};

// The master side of a fresh pseudo-terminal, closed on destruction.
struct Pty {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  std::string slave;
  Pty() {
    if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) {
      throw std::runtime_error("posix_openpt: " + std::string(std::strerror(errno)));
    }
    slave = ::ptsname(master);
  }
  ~Pty() { ::close(master); }
  Pty(const Pty&) = delete;
  Pty& operator=(const Pty&) = delete;

  // What the child wrote; after it exited, read() ends with EIO.
  std::string read() const {
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(master, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR);) {
      if (n > 0) text.append(buf, static_cast<std::size_t>(n));
    }
    return text;
  }
};

}  // namespace

ToolRun run_tool(const std::string& program, const std::vector<std::string>& args, Stderr stderr_to,
                 const std::string& stdout_to) {
  TempFile out, err;
  std::optional<Pty> pty;
  if (stderr_to == Stderr::terminal) pty.emplace();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(
      &actions, 1, stdout_to.empty() ? out.path.c_str() : stdout_to.c_str(), O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_addopen(&actions, 2, pty ? pty->slave.c_str() : err.path.c_str(),
                                   pty ? O_RDWR | O_NOCTTY : O_WRONLY | O_TRUNC, 0);
  std::vector<char*> argv{const_cast<char*>(program.c_str())};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + program + ": " + std::strerror(rc));
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid: " + std::string(std::strerror(errno)));
  }
  ToolRun run;
  run.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  run.out = out.read();
  run.err = pty ? pty->read() : err.read();
  return run;
}

ToolRun stube_store(const std::vector<std::string>& args, Stderr stderr_to,
                    const std::string& stdout_to) {
  return run_tool(STUBE_STORE_TOOL, args, stderr_to, stdout_to);
}

}  // namespace stube::test
