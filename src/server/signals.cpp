#include "server/signals.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "kernel/wire.hpp"
#include "server/http_util.hpp"
#include "stube/conversation.hpp"
#include "stube/log.hpp"

namespace stube::server {

namespace {

using json = nlohmann::json;

// A JSON key becomes a keyword when it can be one. One that starts with ':'
// stays a string: Value::keyword would drop the colon, and "a" and ":a" would
// fold into one key, one value silently lost.
edn::Value key_value(std::string_view text) {
  if (text.starts_with(':')) return edn::Value(text);
  try {
    return edn::Value::keyword(text);
  } catch (const edn::Error&) {
    return edn::Value(text);
  }
}

// Builds EDN straight from the parser's events: no intermediate JSON tree,
// and the depth is checked before anything deep is built.
class EdnBuilder : public nlohmann::json_sax<json> {
 public:
  explicit EdnBuilder(std::size_t max_depth) : max_depth_(max_depth) {}

  bool null() override { return add(edn::Value()); }
  bool boolean(bool b) override { return add(edn::Value(b)); }
  bool number_integer(number_integer_t n) override {
    return add(edn::Value(static_cast<long long>(n)));
  }
  bool number_unsigned(number_unsigned_t n) override {
    if (n <= static_cast<number_unsigned_t>(INT64_MAX))
      return add(edn::Value(static_cast<long long>(n)));
    return add(edn::Value::big_int(std::to_string(n)));
  }
  bool number_float(number_float_t d, const string_t& text) override {
    // nlohmann reports an integer beyond 64 bits as a float: keep it exact.
    if (text.find_first_of(".eE") == string_t::npos) return add(edn::Value::big_int(text));
    return add(edn::Value(d));
  }
  // No form field can hold a NUL, and the page would show it as U+FFFD:
  // kept, it would differ from what the user sees (and saves back).
  bool string(string_t& s) override {
    if (s.find('\0') != string_t::npos) return fail("a string holds a NUL character (\\u0000)");
    return add(edn::Value(std::string_view(s)));
  }
  bool binary(binary_t&) override { return fail("binary values are not JSON"); }
  bool start_object(std::size_t) override { return open(true); }
  bool key(string_t& k) override {
    if (k.find('\0') != string_t::npos) return fail("a key holds a NUL character (\\u0000)");
    frames_.back().key = key_value(k);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(false); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    // nlohmann's message already names the position: "[json.exception.parse_error.101]
    // parse error at line 1, column 5: ...". Keep the part after the tag.
    std::string what = e.what();
    if (const std::size_t p = what.find("] "); p != std::string::npos) what.erase(0, p + 2);
    return fail(printable(what));
  }

  edn::Value result() const { return result_; }
  const std::string& error() const { return error_; }

 private:
  struct Frame {
    bool object;
    std::vector<edn::Value> items;
    std::vector<edn::MapEntry> entries;
    edn::Value key;
  };

  bool fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }
  bool open(bool object) {
    if (frames_.size() >= max_depth_)
      return fail("nesting deeper than " + std::to_string(max_depth_));
    if (frames_.empty() && !object) return fail("the signals must be a JSON object, not an array");
    frames_.push_back(Frame{object, {}, {}, {}});
    return true;
  }
  bool close() {
    Frame f = std::move(frames_.back());
    frames_.pop_back();
    return add(f.object ? edn::map(f.entries) : edn::vec(f.items));
  }
  bool add(edn::Value v) {
    if (frames_.empty()) {
      if (!v.is(edn::Kind::Map)) return fail("the signals must be a JSON object");
      result_ = std::move(v);
      return true;
    }
    Frame& f = frames_.back();
    if (f.object)
      f.entries.push_back({std::move(f.key), std::move(v)});
    else
      f.items.push_back(std::move(v));
    return true;
  }

  std::size_t max_depth_;
  std::vector<Frame> frames_;
  edn::Value result_;
  std::string error_;
};

bool blank(std::string_view s) {
  for (char c : s)
    if (!(c == ' ' || c == '\t' || c == '\r' || c == '\n')) return false;
  return true;
}

json to_json_value(const edn::Value& v, bool merged = false);

// Whether the browser, which holds every number as a double, sends `n`
// back as it was. Up to 2^53 in size it always does. Past it, a double
// rounds most integers (INT64_MAX to 2^63), and JavaScript writes a double
// with its shortest digits padded with zeros: 2^60, 1152921504606846976,
// comes back 1152921504606847000 (past a field's range: every later event
// a 400; or silently changed), while 10^17 or 2^54 come back as they went.
constexpr std::int64_t kExactInBrowser = std::int64_t{1} << 53;
template <class Int>
bool held_exactly(Int n) {
  if constexpr (std::is_signed_v<Int>) {
    if (n >= -kExactInBrowser && n <= kExactInBrowser) return true;
  } else if (n <= static_cast<Int>(kExactInBrowser)) {
    return true;
  }
  // The shortest digits that round-trip ("1.152921504606847e+18"), padded
  // with zeros as JavaScript writes them, against n's own.
  char text[40];
  const auto [end, error] = std::to_chars(text, text + sizeof text, static_cast<double>(n),
                                          std::chars_format::scientific);
  if (error != std::errc()) return false;
  const std::string_view shortest(text, static_cast<std::size_t>(end - text));
  const std::size_t e = shortest.find('e');
  std::string digits;
  for (const char c : shortest.substr(0, e))
    if (c >= '0' && c <= '9') digits += c;
  const std::size_t length =
      static_cast<std::size_t>(std::stoi(std::string(shortest.substr(e + 1)))) + 1;
  if (length < digits.size()) return false;
  digits.append(length - digits.size(), '0');
  std::string own = std::to_string(n);
  if (own.front() == '-') own.erase(0, 1);
  return digits == own;
}

[[noreturn]] void not_held_exactly(std::string_view number) {
  throw edn::Error("the number " + std::string(number) +
                   " cannot reach the page: the browser holds numbers as doubles and would "
                   "send another one back; keep it as text");
}

json integer_json(std::int64_t n) {
  if (!held_exactly(n)) not_held_exactly(std::to_string(n));
  return n;
}

// A big integer (what Clojure writes as 5N, an unsigned value past the
// signed range) as a JSON number: only one within 64 bits that the browser
// writes back in the same digits (held_exactly), as for any integer.
json big_int_json(std::string_view digits) {
  const auto parsed = [&](auto& n) {
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    return error == std::errc() && end == digits.data() + digits.size();
  };
  if (std::uint64_t u = 0; parsed(u)) {
    if (!held_exactly(u)) not_held_exactly(digits);
    return u;
  }
  if (std::int64_t i = 0; parsed(i)) return integer_json(i);
  not_held_exactly(digits);
}

std::string key_text(const edn::Value& k) {
  switch (k.kind()) {
    case edn::Kind::Keyword:
      return std::string(k.as_keyword());
    case edn::Kind::String:
      return std::string(k.as_string());
    default:
      return edn::write(k);
  }
}

// The page sends its signals back with every event, and signals_from_json
// refuses a NUL (see EdnBuilder::string): sent, it would turn every later
// event of the page into a 400.
std::string text_for_page(std::string_view text, const char* what) {
  if (text.find('\0') != std::string_view::npos)
    throw edn::Error(std::string(what) +
                     " holds a NUL character (\\u0000), which the page could not send back");
  return std::string(text);
}

// Why a key of a kept map cannot reach the page, or nullptr. Datastar
// (1.0.0-beta.11) merges a kept map key by key, each key then a step of a
// signal's path: it refuses "__" (its modifier separator) and ends the whole
// merge, and it builds one regular expression of every path, unescaped,
// whenever it sets up an attribute: a key such as "c++" makes every
// data-on-* attribute of the page throw. ('.', '@', a leading '_' in a
// nested key are taken literally, and sent back.)
const char* unfit_signal_key(std::string_view key) {
  if (key.find("__") != std::string_view::npos)
    return "holds \"__\", which Datastar refuses in a signal name";
  if (key.find_first_of("\\^$|?*+()[]{}") != std::string_view::npos)
    return "holds one of \\ ^ $ | ? * + ( ) [ ] { }, which Datastar puts unescaped in a regular "
           "expression of the signal names (every event attribute of the page would fail)";
  return nullptr;
}

// Why a key whose value is a map cannot reach the page, or nullptr. Datastar
// merges a map into the page's signals through `target[key] || {}`, which
// finds what every object inherits: "constructor" leads to Object, and from
// there to Object.prototype, which the merge would then change for every
// script of the page (and "toString" and the rest to the functions).
const char* unfit_map_key(std::string_view key) {
  static constexpr std::string_view kInherited[] = {
      "constructor",    "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable",
      "toLocaleString", "toString",       "valueOf"};
  for (std::string_view name : kInherited)
    if (key == name)
      return "holds a map, and every object of the page inherits that name: Datastar's merge "
             "would follow it into JavaScript's built-in objects";
  return nullptr;
}

// `merged`: whether Datastar merges `v` key by key into the page's signals
// (a kept signal's map, and the maps reached through its maps), rather than
// storing it whole (a map in an array): its keys must then be signal names.
json to_json_value(const edn::Value& v, bool merged) {
  // The conversion (and printing the JSON) recurses per level: the same
  // bound as for printing EDN keeps deep component state from the stack's
  // limit. Only the outermost call can trip it.
  if (v.depth() > edn::max_write_depth)
    throw edn::Error("a signal value nests " + std::to_string(v.depth()) +
                     " levels deep, deeper than edn::max_write_depth (" +
                     std::to_string(edn::max_write_depth) + ")");
  switch (v.kind()) {
    case edn::Kind::Nil:
      return nullptr;
    case edn::Kind::Bool:
      return v.as_bool();
    case edn::Kind::Int:
      return integer_json(v.as_int());
    case edn::Kind::Float: {
      const double d = v.as_double();
      if (!std::isfinite(d))
        throw edn::Error("the number " + edn::write(v) +
                         " cannot reach the page: JSON has no NaN or infinity");
      return d;
    }
    case edn::Kind::String:
      return text_for_page(v.as_string(), "a string");
    case edn::Kind::Keyword:
      return std::string(v.as_keyword());
    case edn::Kind::Symbol:
      return std::string(v.as_symbol());
    case edn::Kind::List:
    case edn::Kind::Vector:
    case edn::Kind::Set: {
      json a = json::array();
      for (const edn::Value& x : v.items()) a.push_back(to_json_value(x, false));
      return a;
    }
    case edn::Kind::Map: {
      json o = json::object();
      for (const edn::MapEntry& e : v.entries()) {
        std::string key = text_for_page(key_text(e.key), "a map key");
        if (merged) {
          const char* why = unfit_signal_key(key);
          if (!why && e.val.is(edn::Kind::Map)) why = unfit_map_key(key);
          if (why) throw edn::Error("a signal map key \"" + key + "\" " + why);
        } else if (key == "__proto__") {
          // Datastar reads signals as a JavaScript object literal, where this
          // key sets the object's prototype: the entry would vanish.
          throw edn::Error(
              "a signal map key \"__proto__\" cannot reach the page: Datastar reads signals as "
              "JavaScript, where that key sets an object's prototype and the entry is lost");
        }
        // JSON has only string keys: :a, "a" and the symbol a are all "a",
        // and one would overwrite another (which one, the hash order says).
        if (o.contains(key))
          throw edn::Error("a signal map has two keys that are both \"" + key +
                           "\" in JSON (one is " + edn::write(e.key) +
                           "); JSON keys are text, so give them different names");
        o[std::move(key)] = to_json_value(e.val, merged);
      }
      return o;
    }
    case edn::Kind::BigInt:
      return big_int_json(v.number_text());
    case edn::Kind::Opaque:
      return nullptr;
    default:
      return edn::write(v);
  }
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

edn::Value signals_from_json(std::string_view text, std::size_t max_depth) {
  if (blank(text)) return {};
  EdnBuilder builder(max_depth);
  const bool ok = json::sax_parse(text, &builder);
  if (!ok || !builder.error().empty())
    throw BadRequest("invalid JSON signals: " +
                     (builder.error().empty() ? std::string("parse error") : builder.error()));
  return builder.result();
}

edn::Value instance_signals(const edn::Value& all, std::string_view iid) {
  if (!all.is(edn::Kind::Map)) return {};
  const std::string ns = signal_namespace(iid);
  if (const edn::Value* v = all.find(key_value(ns)))
    return v->is(edn::Kind::Map) ? *v : edn::Value();
  return {};
}

std::string to_json(const edn::Value& v) {
  return dump(to_json_value(v));
}

namespace {

// The entry of map `held` that JSON key `key` came from: the key the page's
// signals read as (key_value), else, in a state, the string of that text
// (a symbol key is rare enough to go unmatched).
const edn::Value* held_entry(const edn::Value& held, const std::string& key) {
  const edn::Value k = key_value(key);
  if (const edn::Value* v = held.find(k)) return v;
  return k.is(edn::Kind::Keyword) ? held.find(edn::Value(key)) : nullptr;
}

// Adds `path` (or paths below it) where `out` merges a map over what the
// page holds there (`held`, nullptr: nothing) as a plain value. Only maps
// are looked into: the usual map over a map costs a lookup per map key.
void add_reshaped(const json& out, const edn::Value* held, const std::string& path,
                  std::vector<std::string>& paths) {
  if (!out.is_object() || held == nullptr) return;
  if (!held->is(edn::Kind::Map)) {
    paths.push_back(path);
    return;
  }
  // Datastar splits a path at its dots (and a remove that misses one skips
  // the paths after it): for a key with a dot, the map holding it goes
  // instead, as a whole.
  const auto dotted = [](const std::string& key) { return key.find('.') != std::string::npos; };
  for (const auto& [key, value] : out.items()) {
    const edn::Value* h = value.is_object() && dotted(key) ? held_entry(*held, key) : nullptr;
    if (h && !h->is(edn::Kind::Map)) {
      paths.push_back(path);
      return;
    }
  }
  for (const auto& [key, value] : out.items())
    if (value.is_object() && !dotted(key))
      add_reshaped(value, held_entry(*held, key), path + "." + key, paths);
}

// {"<ns>": {"<signal>": value}} of every kept signal of `conv`; with
// `before`, only those whose value differs from theirs in `before` (and
// `reshaped` as changed_signals_json has it).
json kept_signals(const Registry& registry, const edn::Value& conv,
                  const edn::Value* before = nullptr,
                  std::vector<std::string>* reshaped = nullptr) {
  static const edn::Value kType = edn::Value::keyword("instance/type");
  json out = json::object();
  const edn::Value& instances = conv.get(conv::keys::instances());
  if (!instances.is(edn::Kind::Map)) return out;
  static const edn::Value kNothing;
  const edn::Value& instances_before =
      (before != nullptr ? *before : kNothing).get(conv::keys::instances());
  for (const edn::MapEntry& e : instances.entries()) {
    // A restored record may hold junk besides its instances (an id no
    // kernel mints, one the page could not send back): not ours to send.
    if (!e.key.is(edn::Kind::String) || !conv::valid_id(e.key.as_string()) ||
        !e.val.is(edn::Kind::Map))
      continue;
    const ComponentDef* def = registry.find(e.val.get(kType));
    if (!def || def->kept_signals.empty()) continue;
    json mine = json::object();
    const std::string ns = signal_namespace(e.key.as_string());
    const edn::Value* was =
        instances_before.is(edn::Kind::Map) ? instances_before.find(e.key) : nullptr;
    for (const std::string& name : def->kept_signals) {
      const edn::Value key = edn::Value::keyword(name);
      const edn::Value* v = e.val.find(key);
      if (!v) continue;
      const edn::Value* old = was != nullptr && was->is(edn::Kind::Map) ? was->find(key) : nullptr;
      if (old != nullptr && *old == *v) continue;  // unchanged: the page holds it
      // A value JSON cannot carry (too deep, two keys of one text) is the
      // component's mistake, found after its event was applied and saved:
      // the page keeps its old value of that one signal, the log says why.
      try {
        if (const char* why = v->is(edn::Kind::Map) ? unfit_map_key(name) : nullptr)
          throw edn::Error(std::string("the signal name ") + why);
        mine[name] = to_json_value(*v, true);
        if (reshaped && mine[name].is_object())
          add_reshaped(mine[name], old, ns + "." + name, *reshaped);
      } catch (const edn::Error& error) {
        log::error("conversation " + std::string(conv::id(conv)) + ", instance " +
                   std::string(e.key.as_string()) + " (" + edn::write(def->id) +
                   "): kept signal '" + name + "' not sent to the browser: " + error.what());
      }
    }
    if (!mine.empty()) out[ns] = std::move(mine);
  }
  return out;
}

// Drops from `kept` the signals of `iid` that the page sent (`sent`, all its
// signals) with the value they have in `kept`.
void drop_held(json& kept, std::string_view iid, const edn::Value& sent) {
  const auto ns = kept.find(signal_namespace(iid));
  const edn::Value mine = instance_signals(sent, iid);
  if (ns == kept.end() || !mine.is(edn::Kind::Map)) return;
  for (const edn::MapEntry& e : mine.entries()) {
    if (!e.key.is(edn::Kind::Keyword)) continue;
    const auto field = ns->find(e.key.as_keyword());
    try {
      if (field != ns->end() && to_json_value(e.val) == *field) ns->erase(field);
    } catch (const edn::Error&) {  // not a value the page can hold: send ours
    }
  }
  if (ns->empty()) kept.erase(ns);
}

}  // namespace

std::string kept_signals_json(const Registry& registry, const edn::Value& conv) {
  return answer_signals_json(registry, conv, {}, {});
}

std::string answer_signals_json(const Registry& registry, const edn::Value& conv,
                                std::string_view iid, const edn::Value& sent,
                                std::vector<std::string>* reshaped) {
  json out = kept_signals(registry, conv);
  if (!iid.empty()) drop_held(out, iid, sent);
  if (reshaped && sent.is(edn::Kind::Map))
    for (const auto& [ns, mine] : out.items()) {
      const edn::Value* held = held_entry(sent, ns);
      if (held && held->is(edn::Kind::Map))
        for (const auto& [name, value] : mine.items())
          if (value.is_object())
            add_reshaped(value, held_entry(*held, name), ns + "." + name, *reshaped);
    }
  return out.empty() ? std::string() : dump(out);
}

std::string changed_signals_json(const Registry& registry, const edn::Value& before,
                                 const edn::Value& after, std::vector<std::string>* reshaped) {
  const json out = kept_signals(registry, after, &before, reshaped);
  return out.empty() ? std::string() : dump(out);
}

std::vector<std::string> stale_namespaces(const edn::Value& sent, const edn::Value& conv) {
  std::vector<std::string> stale;
  if (!sent.is(edn::Kind::Map) || sent.size() == 0) return stale;
  const edn::Value& instances = conv.get(conv::keys::instances());
  std::unordered_set<std::string> live;
  if (instances.is(edn::Kind::Map))
    for (const edn::MapEntry& e : instances.entries())
      if (e.key.is(edn::Kind::String)) live.insert(signal_namespace(e.key.as_string()));
  for (const edn::MapEntry& e : sent.entries()) {
    const std::string_view ns = e.key.is(edn::Kind::Keyword)  ? e.key.as_keyword()
                                : e.key.is(edn::Kind::String) ? e.key.as_string()
                                                              : std::string_view();
    // An instance's namespace: its minted id ("ix-…", kernel.cpp) with '_'
    // written "_0" (wire.cpp). Other names are the page's own signals (made
    // by raw HTML), which stay.
    if (ns.starts_with("ix-") && conv::valid_id(ns) && !live.contains(std::string(ns)))
      stale.emplace_back(ns);
  }
  return stale;
}

}  // namespace stube::server
