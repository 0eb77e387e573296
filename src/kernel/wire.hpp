// The wire between rendered HTML and the server, shared by the kernel (which
// renders the attributes, wire.cpp) and the server (which reads what they
// send, src/server/).
#pragma once

#include <string>
#include <string_view>

namespace stube {

// The Datastar signal namespace of an instance: every signal bound by
// instance `iid` lives under "<ns>.<name>", so that two instances (two
// prompts, say) never share a browser signal. It is the iid with each '_'
// written as "_0": Datastar refuses signal keys containing "__" and keeps
// keys starting with '_' local (iids start with "ix-").
std::string signal_namespace(std::string_view iid);

// A URL prefix as KernelOptions::base_path takes it: "" or "/seg/seg" with
// [A-Za-z0-9_.~-] segments (none empty, none starting with '.'). It goes
// into a JavaScript string in every event attribute, so nothing else may.
bool valid_base_path(std::string_view path) noexcept;

}  // namespace stube
