// A deliberately plain HTTP/1.1 client for the server tests: POSIX sockets
// with a receive timeout, so a test fails instead of hanging when the
// server does not answer.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace stube::test {

class Conn {
 public:
  // `receive_buffer` (bytes, 0: the system's) bounds what the kernel holds
  // for this client unread, so that a slow reader slows the server's writes.
  explicit Conn(std::uint16_t port, int timeout_ms = 5000, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    if (receive_buffer > 0)
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect to port " + std::to_string(port) + " failed");
    }
  }
  ~Conn() { ::close(fd_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  int fd() const { return fd_; }

  void send(std::string_view raw) {
    while (!raw.empty()) {
      const ssize_t n = ::send(fd_, raw.data(), raw.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      raw.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Reads until `needle` occurs after `from` in everything read so far;
  // returns the position just past it. Throws on timeout or close.
  std::size_t read_until(std::string_view needle, std::size_t from = 0) {
    for (;;) {
      if (const std::size_t p = data_.find(needle, from); p != std::string::npos)
        return p + needle.size();
      if (!read_some())
        throw std::runtime_error("closed before \"" + std::string(needle) + "\"; got:\n" + data_);
    }
  }

  // read_until() as a slow client does it: `pause` after every `chunk`
  // bytes. The pauses are the slowness under test, not synchronisation.
  std::size_t read_slowly_until(std::string_view needle, std::size_t chunk,
                                std::chrono::milliseconds pause) {
    std::size_t since_pause = 0, from = 0;
    for (;;) {
      if (const std::size_t p = data_.find(needle, from); p != std::string::npos)
        return p + needle.size();
      const std::size_t before = data_.size();
      from = before < needle.size() ? 0 : before - needle.size() + 1;
      if (!read_some())
        throw std::runtime_error("closed before \"" + std::string(needle) + "\" after " +
                                 std::to_string(data_.size()) + " bytes");
      since_pause += data_.size() - before;
      if (since_pause >= chunk) {
        std::this_thread::sleep_for(pause);
        since_pause = 0;
      }
    }
  }

  // Tells the peer this side sends no more (half-close).
  void shut_write() { ::shutdown(fd_, SHUT_WR); }

  // Reads until the peer closes the connection. Throws on timeout.
  const std::string& read_to_eof() {
    while (read_some()) {
    }
    return data_;
  }

  const std::string& data() const { return data_; }
  // The peer reset the connection (RST) rather than closing it (FIN).
  bool was_reset() const { return reset_; }

 private:
  bool read_some() {
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      data_.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) return false;
    if (errno == ECONNRESET) {
      reset_ = true;
      return false;
    }
    throw std::runtime_error("read timed out; got so far:\n" + data_);
  }

  int fd_;
  std::string data_;
  bool reset_ = false;
};

struct Response {
  unsigned status = 0;
  std::string head;  // status line + headers
  std::string body;
  // All values of a header (case-insensitive name).
  std::vector<std::string> headers(std::string_view name) const {
    std::vector<std::string> out;
    std::size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos + 2 < head.size()) {
      const std::size_t end = head.find("\r\n", pos + 2);
      const std::string line = head.substr(pos + 2, end - pos - 2);
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos && colon == name.size()) {
        bool same = true;
        for (std::size_t i = 0; i < colon; ++i)
          same = same && std::tolower(static_cast<unsigned char>(line[i])) ==
                             std::tolower(static_cast<unsigned char>(name[i]));
        if (same) out.push_back(line.substr(line.find_first_not_of(' ', colon + 1)));
      }
      pos = end;
    }
    return out;
  }
  std::string header(std::string_view name) const {
    const auto all = headers(name);
    return all.empty() ? std::string() : all.front();
  }
};

inline Response parse_response(const std::string& raw) {
  Response r;
  const std::size_t end = raw.find("\r\n\r\n");
  if (raw.compare(0, 9, "HTTP/1.1 ") != 0 || end == std::string::npos)
    throw std::runtime_error("not an HTTP response:\n" + raw);
  r.status = static_cast<unsigned>(std::stoul(raw.substr(9, 3)));
  r.head = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  return r;
}

// One request on a fresh connection (Connection: close), read to the end.
inline Response request(std::uint16_t port, std::string_view method, std::string_view target,
                        std::string_view body = {}, std::string_view extra_headers = {}) {
  Conn c(port);
  std::string req =
      std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  req += extra_headers;
  if (!body.empty() || method == "POST")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "Connection: close\r\n\r\n";
  req += body;
  c.send(req);
  return parse_response(c.read_to_eof());
}

}  // namespace stube::test
