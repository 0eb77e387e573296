// The browser's signals (Datastar's JSON) as EDN, and back.
//
// The wire namespaces every bound signal by its instance (see
// src/kernel/wire.hpp): the body of an event is {"<ns>": {"name": …}, …}
// and the event's signals are the object under the addressed instance's
// namespace, as an EDN map with keyword keys.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "stube/component.hpp"
#include "stube/edn.hpp"

namespace stube::server {

// JSON text -> EDN: objects become maps with keyword keys (a key that is not
// a valid keyword stays a string), arrays vectors, integral numbers Int
// (BigInt past 64 bits), other numbers Float, null nil. Empty or all-blank
// text is nil. Throws BadRequest naming the problem for invalid JSON, a top
// level that is not an object, or nesting deeper than `max_depth`.
edn::Value signals_from_json(std::string_view json, std::size_t max_depth = 64);

// The signals of instance `iid` within all the page's signals (nil if none).
edn::Value instance_signals(const edn::Value& all, std::string_view iid);

// EDN -> JSON text for the browser: maps become objects (keyword keys by
// their text without ':'), sequences and sets arrays, strings and numbers as
// themselves, other scalars as their EDN text. edn::Error for a number the
// browser would not send back as it was (NaN, an infinity, an integer it
// would write in other digits), as for a string holding a NUL.
std::string to_json(const edn::Value& v);

// {"<ns>": {"<signal>": value, …}, …} for every live instance of `conv`
// whose component keeps signals: the values the browser should now hold.
// Empty when no instance keeps any.
std::string kept_signals_json(const Registry& registry, const edn::Value& conv);

// What the answer to an event carries: the kept signals of `conv` (as
// kept_signals_json) less those of the addressed instance `iid` that the
// page sent with the event (`sent`, all its signals) and that the event left
// as they were. The page holds those already, and text typed into them
// while the event was under way must stay. With no `iid` (a back), all.
// `reshaped`, if given, gets the paths ("<ns>.<signal>[.<key>…]") at which
// the answer merges a map over a plain value the page sent (nil, text, a
// vector): Datastar would merge the map's keys into that value's signal and
// keep the value, so the page must remove those paths first.
std::string answer_signals_json(const Registry& registry, const edn::Value& conv,
                                std::string_view iid, const edn::Value& sent,
                                std::vector<std::string>* reshaped = nullptr);

// The kept signals of `after` (as kept_signals_json) whose values differ
// from `before`'s: what a step the page did not ask for (a timer's event, a
// wakeup) changed. Only those: text typed meanwhile into the fields it left
// alone must stay. Empty when it changed none. `reshaped` as for
// answer_signals_json, against the values of `before`.
std::string changed_signals_json(const Registry& registry, const edn::Value& before,
                                 const edn::Value& after,
                                 std::vector<std::string>* reshaped = nullptr);

// The top-level namespaces of the page's signals `sent` that belong to no
// live instance of `conv` (a dialog that answered, a step that back
// undid), for the page to drop: otherwise every later event would carry
// them, and the bodies would grow with every dialog until refused. Only
// names that can be an instance's namespace ("ix-…") are considered: the
// page's own signals (made by raw HTML) stay.
std::vector<std::string> stale_namespaces(const edn::Value& sent, const edn::Value& conv);

}  // namespace stube::server
