// One HTTP/1.1 connection: reads requests (with size limits and a deadline),
// answers them in order, and hands the connection over to an SseStream when
// a stream is opened.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <memory>
#include <optional>

#include "server/connection_limit.hpp"
#include "server/core.hpp"
#include "server/handlers.hpp"

namespace stube::server {

// Room in the read buffer beyond the header limit: a chunk-size line with an
// extension, or the trailers, may take this much (and a pipelined request's
// start may wait there).
inline constexpr std::size_t kFramingSlack = 16 * 1024;
// The most ServerOptions::max_header_bytes can be: Beast's parser counts
// header bytes in 32 bits, and the read buffer adds kFramingSlack.
inline constexpr std::size_t kMaxHeaderBytes = 0xffff'ffff - kFramingSlack;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  // `slot`: the connection's place under the server's cap.
  HttpSession(boost::asio::ip::tcp::socket&& socket, Core& core, ConnectionSlot slot);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;
  void run();
  // Closes the connection. Only while no thread runs the I/O context (the
  // server's stop, after joining its threads).
  void abort() noexcept;

 private:
  void read_header();
  void new_parser();
  void read_header_part();
  void read_more_header();
  bool skip_empty_lines();
  void on_header_part(boost::beast::error_code ec, std::size_t parsed);
  void on_header(boost::beast::error_code ec);
  void read_body();
  void on_body(boost::beast::error_code ec);
  void answer(Reply reply);
  void respond(Response response);
  void respond_cut_short(Response response);
  void stamp(Response& response) const;
  void write_some(bool close);
  void on_write(bool close, boost::beast::error_code ec);
  bool request_unread() const;
  void linger();
  void discard_input();
  void refuse(boost::beast::error_code ec);
  Response refusal(std::string_view message, bool header_read = false) const;
  void close();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::string_body>>
      serializer_;                 // of *response_, while written
  std::string raw_response_;       // respond_cut_short()'s bytes, while written
  bool head_ = false;              // the request being answered is a HEAD
  std::size_t header_bytes_ = 0;   // of the request being read, parsed so far
  std::size_t empty_lines_ = 0;    // skipped before its request line
  std::size_t header_fields_ = 0;  // fields of its header (Beast adds trailers to them)
  bool handed_off_ = false;        // stream_ went to an SseStream
  Core& core_;
  ConnectionSlot slot_;
};

}  // namespace stube::server
