// ScratchDir: a fresh, empty directory under the build tree
// (<build>/test-scratch/<label>-<pid>-<n>), removed on destruction.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace stube::test {

class ScratchDir {
 public:
  explicit ScratchDir(std::string_view label = "scratch")
      : path_(std::filesystem::path(STUBE_BINARY_DIR) / "test-scratch" /
              (std::string(label) + "-" + std::to_string(::getpid()) + "-" +
               std::to_string(counter().fetch_add(1)))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  // A store file <cid>.edn exists in the directory.
  bool has_file(std::string_view cid) const {
    return std::filesystem::exists(path_ / (std::string(cid) + ".edn"));
  }

 private:
  static std::atomic<unsigned>& counter() {
    static std::atomic<unsigned> n{0};
    return n;
  }
  std::filesystem::path path_;
};

}  // namespace stube::test
