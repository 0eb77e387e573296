// One browser's SSE stream: the runtime's Output for a conversation.
//
// send() may be called from any thread (with the conversation's lock held):
// it formats the fragments, appends them to a queue and returns; the writes
// happen on the connection's strand, one chunk at a time. Until start() hands
// over the connection everything is only queued, so the runtime can send the
// first view from attach() before the response header has been written.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "server/connection_limit.hpp"
#include "server/core.hpp"
#include "stube/runtime.hpp"

namespace stube::server {

class SseStream : public Output, public std::enable_shared_from_this<SseStream> {
 public:
  // `chunked`: the client speaks HTTP/1.1. An HTTP/1.0 client (a proxy left
  // at its default, e.g. nginx's proxy_http_version 1.0) knows no chunked
  // encoding: its body is the raw stream, ended by closing the connection.
  SseStream(Core& core, std::string cid, boost::asio::any_io_executor strand, bool chunked = true);
  ~SseStream() override;

  void send(const std::vector<Fragment>& fragments) override;
  // The kept signals the step changed, merged into the page's.
  void state_changed(const edn::Value& before, const edn::Value& after) override;
  void close() override;

  // Takes over the connection (already on `strand`) and its place under the
  // connection cap: writes the response header, then everything queued,
  // then keeps the stream open.
  void start(boost::beast::tcp_stream stream, ConnectionSlot slot);

 private:
  // enqueue + schedule_flush, unless closing. `queued_before`: what was
  // queued before the frame's step (see enqueue()).
  void queue(std::string_view text, std::size_t queued_before);  // mu_ held
  // Appends a frame, unless what was queued before its step (`queued_before`
  // bytes of pending_) and it exceed max_stream_backlog. mu_ held.
  void enqueue(std::string_view text, std::size_t queued_before);
  void overflow(const std::string& why);  // mu_ held
  void schedule_flush();                  // mu_ held
  void flush();
  void write_some();
  void on_write(boost::beast::error_code ec, std::size_t written);
  void watch_client();
  void arm_keep_alive();
  void drop();  // cut the connection and detach from the runtime
  void cut(boost::beast::tcp_stream& stream) const;  // close it as an error (see the .cpp)
  void uncount();                                    // leave Core::open_streams, once
  // Adds to (or takes from) what this stream holds, and Core's total.
  void hold(std::size_t bytes);
  void release(std::size_t bytes);

  Core& core_;
  const std::string cid_;
  const bool chunked_;
  boost::asio::any_io_executor strand_;
  boost::asio::steady_timer keep_alive_;

  std::mutex mu_;  // guards the fields below
  std::string pending_;
  // The start of pending_ that is not a frame (the stream's first lines),
  // until the first flush: a frame behind it is a frame behind nothing.
  std::size_t preamble_ = 0;
  // Where the last send()'s frame starts in pending_, for the
  // state_changed() that may follow it in the same step (npos once used;
  // see state_changed()).
  // A step's fragments and its signals count against the cap as one: the
  // first view of a page and its kept signals are behind nothing, whatever
  // their size.
  std::size_t step_start_ = std::string::npos;
  bool started_ = false;
  bool flush_posted_ = false;
  bool closing_ = false;  // finish the response after what is queued
  bool overflow_ = false;
  // Bytes of pending_ and of inflight_ not yet written (and of its framing),
  // counted in Core::streams_backlog until written or dropped. Atomic:
  // frames are queued under mu_ on any thread, written on the strand.
  std::atomic<std::size_t> held_{0};

  // Strand-only state.
  std::optional<boost::beast::tcp_stream> stream_;
  ConnectionSlot slot_;
  bool counted_ = false;  // in Core::open_streams
  std::string inflight_;
  std::size_t written_ = 0;  // of inflight_
  bool writing_ = false;
  bool header_sent_ = false;
  bool finished_ = false;
  bool dropped_ = false;
  std::array<char, 256> read_buf_{};
};

}  // namespace stube::server
