// The shell page served for a mount path: loads the Datastar client and the
// stock stylesheet, holds the root component's first view, and opens the
// conversation's SSE stream (reconnecting by itself when it breaks).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace stube::server {

struct ShellPage {
  std::string_view base_path;  // "" or "/app"
  std::string_view cid;
  std::string_view title;
  std::string_view root_html;  // trusted: rendered by the kernel
  // ServerOptions::keep_alive: stube.js takes a stream that brought nothing
  // for 2.5 of these (not even a keep-alive) as dead, and opens it again.
  std::chrono::milliseconds keep_alive{std::chrono::seconds(15)};
  // The conversation's kept signals as JSON ("" for none): the view's bound
  // fields and expressions need them from the start (stube.js merges them
  // into Datastar's signals), and the page's first stream does not send
  // them again (see Runtime::attach).
  std::string_view signals_json{};
};

std::string render_shell(const ShellPage& page);

// The Datastar options of the stream's @get: reconnect quickly and without
// giving up, also while the tab is hidden. contentType 'form': the query
// is the fields of the (empty) form the @get sits on. With the default
// 'json' every signal of the page would go into the stream's URL, and a
// page whose fields start with a few KB of text would have its stream
// refused for a header over max_header_bytes, for good. `abort`: the
// signal stube.js cuts a silent stream with (window.stubeStream, set by the
// shell's inline script; absent if a Content-Security-Policy blocks that
// script, and then the stream simply has no such signal).
inline constexpr std::string_view kStreamOptions =
    "{contentType: 'form', openWhenHidden: true, retryInterval: 500, retryScaler: 1.5, "
    "retryMaxWaitMs: 4000, retryMaxCount: 1000000, abort: window.stubeStream?.abort.signal}";

}  // namespace stube::server
