// Datastar's SSE event format (1.0.0-beta.11), see
// node_modules/@starfederation/datastar/dist/plugins/official/backend/:
//
//   event: datastar-merge-fragments
//   data: selector #stube-error       (Inner only)
//   data: mergeMode inner             (Inner only; morph by id otherwise)
//   data: fragments <div id="…">…     (one line per line of HTML)
//   <blank line>
//
//   event: datastar-merge-signals
//   data: signals {"ns": {"name": "value"}}
//   <blank line>
//
//   event: datastar-remove-signals
//   data: paths ns                    (one line per path)
//   <blank line>
//
// The root's contents (Inner, #stube-root) go as a morph of
// <div id="stube-root">…</div> instead (see append_fragment).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "stube/kernel.hpp"

namespace stube::server {

// Appends one merge-fragments event per fragment.
void append_fragments(const std::vector<Fragment>& fragments, std::string& out);
void append_fragment(const Fragment& fragment, std::string& out);

// One merge-signals event; `json` is an object.
void append_merge_signals(std::string_view json, std::string& out);

// One remove-signals event for `paths` (signal paths such as a namespace);
// nothing when there are none.
void append_remove_signals(const std::vector<std::string>& paths, std::string& out);

// "retry: <ms>": the browser's reconnect delay after this stream breaks.
void append_retry(std::chrono::milliseconds delay, std::string& out);

// An SSE comment that keeps proxies from closing an idle stream, in an event
// of its own that Datastar passes on to the page (as a `datastar-sse` event,
// for any event name it starts with "datastar"; comments it drops): stube.js
// takes a stream that brought nothing for a while as dead and reopens it.
inline constexpr std::string_view kKeepAlive = ": keep-alive\nevent: datastar-stube-keep-alive\n\n";

// The "this page is stale" message, shown in the error element.
Fragment stale_page_fragment();

// The message of a rejected request, shown in the error element.
Fragment error_fragment(std::string_view message);

// The error element emptied (and not stale): sent first on every stream, so
// that a "try again" message goes away once the page is connected again.
Fragment cleared_error_fragment();

}  // namespace stube::server
