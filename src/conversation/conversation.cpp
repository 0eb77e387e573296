// Conversation helpers: building, reading and updating the conversation map.
#include "stube/conversation.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "edn/node.hpp"  // make_seq: build a vector by taking its items over
#include "edn/utf8.hpp"

namespace stube::conv {

namespace keys {
#define STUBE_CONV_KEY(fn, text)               \
  const edn::Value& fn() {                     \
    static const edn::Value k = edn::kw(text); \
    return k;                                  \
  }
STUBE_CONV_KEY(id, "conv/id")
STUBE_CONV_KEY(instances, "conv/instances")
STUBE_CONV_KEY(stack, "conv/stack")
STUBE_CONV_KEY(history, "conv/history")
STUBE_CONV_KEY(created, "conv/created")
STUBE_CONV_KEY(touched, "conv/touched")
#undef STUBE_CONV_KEY
}  // namespace keys

namespace {

constexpr bool id_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

void fill_random(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "mint_id: getrandom");
    }
    done += static_cast<std::size_t>(n);
  }
}

// base64url without padding: only [A-Za-z0-9_-].
void append_base64url(std::span<const std::uint8_t> bytes, std::string& out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::uint32_t acc = 0;
  int bits = 0;
  for (const std::uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3F]);
}

std::string describe(const edn::Value& conv) {
  if (auto cid = find_id(conv)) return "conversation \"" + std::string(*cid) + "\"";
  return "conversation";
}

[[noreturn]] void bad_part(const edn::Value& conv, const edn::Value& key, std::string_view wanted) {
  const edn::Value* v = conv.is(edn::Kind::Map) ? conv.find(key) : nullptr;
  std::string msg = describe(conv) + ": " + edn::write(key) + " is ";
  if (!conv.is(edn::Kind::Map)) {
    msg = "not a conversation: " + edn::kind_phrase(conv.kind()) + ", not a map";
  } else if (v == nullptr) {
    msg += "missing";
  } else {
    msg += edn::kind_phrase(v->kind()) + ", expected " + std::string(wanted);
  }
  throw edn::TypeError(msg);
}

const edn::Value& part(const edn::Value& conv, const edn::Value& key, edn::Kind kind,
                       std::string_view wanted) {
  const edn::Value* v = conv.is(edn::Kind::Map) ? conv.find(key) : nullptr;
  if (v == nullptr || !v->is(kind)) bad_part(conv, key, wanted);
  return *v;
}

edn::Value with_part(const edn::Value& conv, const edn::Value& key, edn::Value v, edn::Kind kind,
                     std::string_view wanted) {
  if (!conv.is(edn::Kind::Map)) bad_part(conv, key, wanted);
  if (!v.is(kind)) {
    throw edn::TypeError(describe(conv) + ": new " + edn::write(key) + " is " +
                         edn::kind_phrase(v.kind()) + ", expected " + std::string(wanted));
  }
  return conv.assoc(key, std::move(v));
}

}  // namespace

bool valid_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > max_id_length) return false;
  for (const char c : id) {
    if (!id_char(c)) return false;
  }
  return true;
}

std::string mint_id(std::string_view prefix) {
  constexpr std::size_t kRandomChars = 22;  // ceil(128 / 6)
  if (prefix.size() + kRandomChars > max_id_length || !(prefix.empty() || valid_id(prefix))) {
    throw std::invalid_argument("mint_id: prefix \"" + std::string(prefix) +
                                "\" must be at most 106 characters from [A-Za-z0-9_-]");
  }
  std::array<std::uint8_t, 16> bytes{};
  fill_random(bytes);
  std::string out;
  out.reserve(prefix.size() + kRandomChars);
  out.append(prefix);
  append_base64url(bytes, out);
  return out;
}

edn::Value make(std::string_view id, edn::Instant now) {
  if (!valid_id(id)) {
    throw std::invalid_argument("conv::make: invalid conversation id \"" + std::string(id) +
                                "\" (1-128 characters from [A-Za-z0-9_-])");
  }
  return edn::map({{keys::id(), edn::Value(id)},
                   {keys::instances(), edn::map({})},
                   {keys::stack(), edn::vec({})},
                   {keys::history(), edn::vec({})},
                   {keys::created(), edn::Value(now)},
                   {keys::touched(), edn::Value(now)}});
}

edn::Value new_conversation(edn::Instant now) {
  return make(mint_id(), now);
}

std::optional<std::string_view> find_id(const edn::Value& v) noexcept {
  if (!v.is(edn::Kind::Map)) return std::nullopt;
  const edn::Value* id = v.find(keys::id());
  if (id == nullptr || !id->is(edn::Kind::String)) return std::nullopt;
  return id->as_string();
}

std::string record_problem(const edn::Value& v, std::string_view cid, std::string_view source) {
  const auto id = find_id(v);
  if (!id) {
    return v.is(edn::Kind::Map) ? "the map has no string :conv/id"
                                : "not a map but " + edn::kind_phrase(v.kind());
  }
  if (*id != cid) return ":conv/id " + quote_id(*id) + " does not match " + std::string(source);
  return {};
}

namespace {

// An EDN string literal with every control character escaped: pr-str
// escapes only a few (\n, \t, …), and an ESC or a bare CR from a file name
// would reach a terminal or a log line as it is.
// Bytes that are not UTF-8 (an id from a raw request or file name) cannot
// be an EDN string: each is written \xNN, with one backslash, next to the
// EDN escaping, which writes every backslash of the text as \\. So the
// byte 0xFF shows as \xFF and the four characters "\xFF" as \\xFF.
std::string quoted_text(std::string_view text) {
  std::string written = "\"";
  while (!text.empty()) {
    const std::size_t bad = edn::detail::find_invalid_utf8(text.data(), text.data() + text.size());
    const std::string_view valid = text.substr(0, bad);
    if (!valid.empty()) {
      const std::string literal = edn::write(edn::Value(valid));
      written.append(literal, 1, literal.size() - 2);  // without its quotes
    }
    if (bad == std::string_view::npos) break;
    static constexpr char kHex[] = "0123456789ABCDEF";
    const auto byte = static_cast<unsigned char>(text[bad]);
    written += "\\x";
    written += kHex[byte >> 4];
    written += kHex[byte & 15];
    text.remove_prefix(bad + 1);
  }
  written += '"';
  // Control characters, C1 too (U+0080-U+009F, two bytes C2 80-9F: U+009B
  // is a terminal's CSI), as \uXXXX.
  std::string out;
  out.reserve(written.size());
  for (std::size_t i = 0; i < written.size(); ++i) {
    const auto b = static_cast<unsigned char>(written[i]);
    unsigned control = b < 0x20 || b == 0x7F ? b : 0x100;
    if (b == 0xC2 && i + 1 < written.size()) {
      const auto next = static_cast<unsigned char>(written[i + 1]);
      if (next >= 0x80 && next <= 0x9F) control = next, ++i;
    }
    if (control == 0x100) {
      out += written[i];
      continue;
    }
    char escape[8];
    std::snprintf(escape, sizeof escape, "\\u%04X", control);
    out += escape;
  }
  return out;
}

}  // namespace

std::string quote_id(std::string_view id) {
  constexpr std::size_t kShown = 140;
  if (id.size() <= kShown) return quoted_text(id);
  // Cut on a character boundary so the message stays valid UTF-8: at most 3
  // bytes back (a character is at most 4). Bytes that are no UTF-8 have
  // none: quoted_text shows them as \xNN.
  std::size_t cut = kShown;
  while (cut > kShown - 3 && (static_cast<unsigned char>(id[cut]) & 0xC0) == 0x80) --cut;
  if ((static_cast<unsigned char>(id[cut]) & 0xC0) == 0x80) cut = kShown;
  return quoted_text(id.substr(0, cut)) + "… (" + std::to_string(id.size()) + " bytes)";
}

std::string_view id(const edn::Value& conv) {
  return part(conv, keys::id(), edn::Kind::String, "a string").as_string();
}
const edn::Value& instances(const edn::Value& conv) {
  return part(conv, keys::instances(), edn::Kind::Map, "a map");
}
const edn::Value& stack(const edn::Value& conv) {
  return part(conv, keys::stack(), edn::Kind::Vector, "a vector");
}
// A record without a history, or with a nil one (written by hand, or by a
// program that does not keep one), has nothing to go back to; one that is
// not a vector is bad.
const edn::Value& history(const edn::Value& conv) {
  static const edn::Value kNone = edn::vec({});
  if (conv.is(edn::Kind::Map)) {
    const edn::Value* h = conv.find(keys::history());
    if (h == nullptr || h->is_nil()) return kNone;
  }
  return part(conv, keys::history(), edn::Kind::Vector, "a vector");
}
edn::Instant created(const edn::Value& conv) {
  return part(conv, keys::created(), edn::Kind::Inst, "an #inst").as_inst();
}
edn::Instant touched(const edn::Value& conv) {
  return part(conv, keys::touched(), edn::Kind::Inst, "an #inst").as_inst();
}

const edn::Value& instance(const edn::Value& conv, std::string_view iid) {
  return instances(conv).get(edn::Value(iid));
}

const edn::Value& top(const edn::Value& conv) {
  static const edn::Value nil;
  const edn::Value& s = stack(conv);
  return s.empty() ? nil : s.at(s.size() - 1);
}

edn::Value with_instances(const edn::Value& conv, edn::Value v) {
  return with_part(conv, keys::instances(), std::move(v), edn::Kind::Map, "a map");
}
edn::Value with_stack(const edn::Value& conv, edn::Value v) {
  return with_part(conv, keys::stack(), std::move(v), edn::Kind::Vector, "a vector");
}
edn::Value with_history(const edn::Value& conv, edn::Value v) {
  return with_part(conv, keys::history(), std::move(v), edn::Kind::Vector, "a vector");
}

edn::Value put_instance(const edn::Value& conv, std::string_view iid, edn::Value inst) {
  return with_instances(conv, instances(conv).assoc(edn::Value(iid), std::move(inst)));
}

edn::Value drop_instance(const edn::Value& conv, std::string_view iid) {
  return with_instances(conv, instances(conv).dissoc(edn::Value(iid)));
}

edn::Value touch(const edn::Value& conv, edn::Instant now) {
  return with_part(conv, keys::touched(), edn::Value(now), edn::Kind::Inst, "an #inst");
}

// Runs after every event: a full history is rebuilt with the kept
// snapshots copied once (not appended to, then trimmed), and the new vector
// takes the copies over instead of copying them again.
edn::Value push_history(const edn::Value& conv, std::size_t limit) {
  if (limit == 0) return with_history(conv, edn::vec({}));
  const edn::Value& h = history(conv);
  edn::Value snapshot = conv.dissoc(keys::history());
  if (h.size() < limit) return with_history(conv, h.conj(std::move(snapshot)));
  const std::span<const edn::Value> kept = h.items().last(limit - 1);
  std::vector<edn::Value> items(kept.begin(), kept.end());
  items.push_back(std::move(snapshot));
  return with_history(conv, edn::detail::make_seq(edn::Kind::Vector, items.data(), items.size()));
}

edn::Value cap_history(const edn::Value& conv, std::size_t limit) {
  const edn::Value& h = history(conv);
  if (h.size() <= limit) return conv;
  const std::span<const edn::Value> newest = h.items().last(limit);
  std::vector<edn::Value> kept(newest.begin(), newest.end());
  return with_history(conv, edn::detail::make_seq(edn::Kind::Vector, kept.data(), kept.size()));
}

}  // namespace stube::conv
