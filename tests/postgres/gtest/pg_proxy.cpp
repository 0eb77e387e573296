#include "pg_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string_view>

namespace stube::test {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

std::uint32_t be32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

CommitCutter::CommitCutter(int server_port) : server_port_(server_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listener_, 16) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) != 0 || ::pipe(stop_) != 0) {
    throw std::runtime_error("CommitCutter: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(a.sin_port);
  threads_.emplace_back([this] { accept_loop(); });
}

CommitCutter::~CommitCutter() {
  const ssize_t written = ::write(stop_[1], "x", 1);  // readable for good: every poll wakes
  (void)written;
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;  // no thread is added, and no server side held, after this
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  release_server();
  for (int fd : {listener_, stop_[0], stop_[1]}) ::close(fd);
}

void CommitCutter::release_server() {
  std::vector<int> held;
  {
    std::lock_guard lock(mu_);
    held.swap(held_);
  }
  for (int fd : held) ::close(fd);
}

void CommitCutter::arm_aborted(std::function<void(int backend_pid)> until_aborted) {
  {
    std::lock_guard lock(mu_);
    until_aborted_ = std::move(until_aborted);
  }
  armed_ = Mode::aborted;
}

void CommitCutter::cut(int backend_pid) noexcept {
  cut_backend_pid_ = backend_pid;
  ++cuts_;
}

void CommitCutter::accept_loop() {
  for (;;) {
    pollfd fds[] = {{listener_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 || fds[1].revents != 0) return;
    const int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) continue;
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in to = loopback(server_port_);
    if (server < 0 || ::connect(server, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
      ::close(client);
      if (server >= 0) ::close(server);
      continue;
    }
    std::lock_guard lock(mu_);
    if (stopping_) {  // the destructor is joining: stop here
      ::close(client);
      ::close(server);
      return;
    }
    threads_.emplace_back([this, client, server] { pump(client, server); });
  }
}

void CommitCutter::pump(int client, int server) {
  std::string from_client, from_server;  // messages not yet complete
  bool started = false;
  int backend_pid = 0;
  char buffer[16384];
  for (bool open = true; open;) {
    pollfd fds[] = {{client, POLLIN, 0}, {server, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0 || fds[2].revents != 0) break;
    if (fds[0].revents != 0) {
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      open = n > 0;
      if (open) from_client.append(buffer, static_cast<std::size_t>(n));
      const Mode swallowed =
          open ? forward_requests(from_client, started, server, open) : Mode::none;
      if (swallowed == Mode::in_progress) {
        cut(backend_pid);
        ::close(client);
        std::lock_guard lock(mu_);
        if (stopping_) {
          ::close(server);
        } else {
          held_.push_back(server);  // release_server() or the destructor closes it
        }
        return;
      }
      if (swallowed == Mode::aborted) {
        ::close(server);
        std::function<void(int)> until_aborted;
        {
          std::lock_guard lock(mu_);
          until_aborted.swap(until_aborted_);
        }
        if (until_aborted) until_aborted(backend_pid);
        cut(backend_pid);
        ::close(client);
        return;
      }
    }
    if (open && fds[1].revents != 0) {
      const ssize_t n = ::recv(server, buffer, sizeof buffer, 0);
      open = n > 0;
      if (open) from_server.append(buffer, static_cast<std::size_t>(n));
      open = open && forward_replies(from_server, client, backend_pid);
    }
  }
  ::close(client);
  ::close(server);
}

// After the untyped startup message (a 4-byte length that counts itself,
// then the protocol version and parameters), a client message is a type
// byte and such a length. COMMIT comes as a simple Query ('Q', the SQL) or,
// from PQexecParams, as a Parse ('P', a statement name, then the SQL)
// followed by Bind, Describe, Execute and Sync.
CommitCutter::Mode CommitCutter::forward_requests(std::string& pending, bool& started, int server,
                                                  bool& sent) {
  std::size_t at = 0;
  Mode swallowed = Mode::none;
  for (;;) {
    const std::size_t header = started ? 5 : 4;
    if (pending.size() - at < header) break;
    const std::size_t size = header - 4 + be32(pending.data() + at + header - 4);
    if (size < header || pending.size() - at < size) break;
    if (started) {
      const std::string_view body(pending.data() + at + 5, size - 5);
      std::string_view sql;
      if (pending[at] == 'Q') sql = body.substr(0, body.find('\0'));
      if (pending[at] == 'P' && body.find('\0') != std::string_view::npos) {
        sql = body.substr(body.find('\0') + 1);
        sql = sql.substr(0, sql.find('\0'));
      }
      Mode mode = armed_;
      if (sql == "COMMIT" && (mode == Mode::in_progress || mode == Mode::aborted) &&
          armed_.compare_exchange_strong(mode, Mode::none)) {
        swallowed = mode;
        break;
      }
    }
    started = true;
    at += size;
  }
  sent = write_all(server, pending.data(), at);
  pending.erase(0, swallowed == Mode::none ? at : pending.size());
  return swallowed;
}

// A server message is a type byte and a 4-byte length that counts itself;
// CommandComplete is 'C' with the command tag ("COMMIT"), BackendKeyData
// 'K' with the backend's pid and its cancel key.
bool CommitCutter::forward_replies(std::string& pending, int client, int& backend_pid) {
  std::size_t at = 0;
  while (pending.size() - at >= 5) {
    const std::size_t size = 1 + be32(pending.data() + at + 1);
    if (pending.size() - at < size) break;
    if (pending[at] == 'K' && size >= 9) {
      backend_pid = static_cast<int>(be32(pending.data() + at + 5));
    }
    const bool commit = pending[at] == 'C' && pending.compare(at + 5, 6, "COMMIT") == 0;
    Mode reply = Mode::reply;
    if (commit && armed_.compare_exchange_strong(reply, Mode::none)) {
      cut(backend_pid);
      write_all(client, pending.data(), at);  // what came before it
      return false;
    }
    at += size;
  }
  const bool sent = write_all(client, pending.data(), at);
  pending.erase(0, at);
  return sent;
}

}  // namespace stube::test
