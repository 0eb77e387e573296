// A TCP proxy between the store and the test server that loses one COMMIT
// on the way, in one of three ways (see Mode): libpq sees a lost connection
// in COMMIT, not knowing whether it committed, exactly as after a network
// cut or a crash at that moment, and the server's transaction is then
// committed, still in progress, or aborted.
//
// Connect through it with sslmode=disable (and gssencmode=disable): the
// proxy reads both sides' messages from the very first byte.
#pragma once

#include <atomic>
#include <functional>
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

  // What happens to the next COMMIT (on any connection); each arm_* call
  // arms one cut, replacing one not yet made.
  //
  // Committed: the server commits, then the proxy closes both sides before
  // the reply reaches the client.
  void arm() noexcept { armed_ = Mode::reply; }
  // In progress: the COMMIT never reaches the server. The proxy closes the
  // client's side and keeps the server's side open, so the server's
  // transaction stays open, with its locks, until release_server().
  void arm_in_progress() noexcept { armed_ = Mode::in_progress; }
  // Closes the server sides that arm_in_progress() kept open. The server
  // then ends those backends and rolls their transactions back, soon but
  // not at once: wait until cut_backend_pid() is gone.
  void release_server();
  // Aborted: the COMMIT never reaches the server. The proxy closes the
  // server's side first, then runs `until_aborted(backend pid)`, which
  // should return once the server has ended that backend (so that its
  // transaction is aborted; poll pg_stat_activity), and only then closes
  // the client's side. It runs on the proxy's thread while the client
  // waits for its reply.
  void arm_aborted(std::function<void(int backend_pid)> until_aborted);

  // Cuts made so far.
  int cuts() const noexcept { return cuts_; }
  // The server process (from its BackendKeyData) of the connection last
  // cut; 0 before any cut.
  int cut_backend_pid() const noexcept { return cut_backend_pid_; }

 private:
  enum class Mode { none, reply, in_progress, aborted };

  void accept_loop();
  void pump(int client, int server);
  // Forwards the complete messages of `pending` to `server`, up to a COMMIT
  // an arm_in_progress() or arm_aborted() is waiting for: returns that
  // mode (the COMMIT and all after it are dropped), or none, with `sent`
  // false when the server cannot be written to. `started`: the untyped
  // startup message has been forwarded.
  Mode forward_requests(std::string& pending, bool& started, int server, bool& sent);
  // Forwards the complete messages of `pending` to `client`, false after
  // cutting an armed COMMIT's reply. Notes the BackendKeyData's pid.
  bool forward_replies(std::string& pending, int client, int& backend_pid);
  void cut(int backend_pid) noexcept;

  const int server_port_;
  int listener_ = -1;
  int port_ = 0;
  int stop_[2] = {-1, -1};  // a pipe: written to stop every thread
  std::atomic<Mode> armed_{Mode::none};
  std::atomic<int> cuts_{0};
  std::atomic<int> cut_backend_pid_{0};
  std::mutex mu_;
  bool stopping_ = false;                   // guarded by mu_
  std::vector<std::thread> threads_;        // guarded by mu_
  std::vector<int> held_;                   // server sides kept open; guarded by mu_
  std::function<void(int)> until_aborted_;  // guarded by mu_
};

}  // namespace stube::test
