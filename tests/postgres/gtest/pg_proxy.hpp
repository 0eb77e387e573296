// A TCP proxy between the store and the test server that can lose the
// reply to one COMMIT: the server commits, then the proxy closes both
// sides before the CommandComplete reaches the client. libpq sees a lost
// connection in COMMIT, not knowing whether it committed, exactly as after
// a network cut or a crash at that moment.
//
// Connect through it with sslmode=disable (and gssencmode=disable): the
// proxy reads the server's messages from the very first byte.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stube::test {

class CommitCutter {
 public:
  // Forwards 127.0.0.1:port() to 127.0.0.1:server_port.
  explicit CommitCutter(int server_port);
  ~CommitCutter();
  CommitCutter(const CommitCutter&) = delete;
  CommitCutter& operator=(const CommitCutter&) = delete;

  int port() const noexcept { return port_; }
  // The next COMMIT's reply (on any connection) is never delivered.
  void arm() noexcept { armed_ = true; }
  // Replies cut so far.
  int cuts() const noexcept { return cuts_; }

 private:
  void accept_loop();
  void pump(int client, int server);
  // Forwards the complete messages of `pending` to `client`, false after
  // cutting an armed COMMIT's reply.
  bool forward_replies(std::string& pending, int client);

  const int server_port_;
  int listener_ = -1;
  int port_ = 0;
  int stop_[2] = {-1, -1};  // a pipe: written to stop every thread
  std::atomic<bool> armed_{false};
  std::atomic<int> cuts_{0};
  std::mutex mu_;
  bool stopping_ = false;  // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace stube::test
