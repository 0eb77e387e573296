// Runs a built command-line tool as a child process and captures what it
// printed and how it exited, for tests of the tools themselves.
#pragma once

#include <string>
#include <vector>

namespace stube::test {

struct ToolRun {
  int status = -1;  // exit status, or 128 + signal number
  std::string out;  // standard output
  std::string err;  // standard error
};

enum class Stderr { file, terminal };

// Runs `program` with `args` (stdin from /dev/null, stdout to a temporary
// file or to `stdout_to` when given, such as /dev/full, stderr to a file or
// to a pseudo-terminal, where "\n" reads back as "\r\n") and waits for it.
// Throws std::runtime_error when it cannot be started.
ToolRun run_tool(const std::string& program, const std::vector<std::string>& args,
                 Stderr stderr_to = Stderr::file, const std::string& stdout_to = {});

// The stube-store binary of this build (its path comes from CMake).
ToolRun stube_store(const std::vector<std::string>& args, Stderr stderr_to = Stderr::file,
                    const std::string& stdout_to = {});

}  // namespace stube::test
