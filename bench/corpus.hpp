// bench/corpus.hpp — a deterministic corpus of conversation-shaped EDN.
//
// Benchmarks of the EDN reader/printer and of the store need data that looks
// like what stube really keeps: conversations (SPEC §2) with a handful of
// component instances, a call stack and a short history of earlier snapshots,
// full of namespaced keywords, short strings (some with escapes and non-ASCII
// text), ids, numbers and a few #inst. Each document prints to about 7 KB.
//
//   auto docs = stube::bench::conversation_corpus(500);  // same 500 every run
//
// The generator has its own PRNG (SplitMix64) and its own range reduction, so
// the corpus is identical across compilers and standard libraries.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stube/edn.hpp"

namespace stube::bench {

inline constexpr std::uint64_t kCorpusSeed = 0x57'0BE'C0DE'2024ULL;

class CorpusRng {
 public:
  explicit CorpusRng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, n) for n far below 2^32; n > 0.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>((next() >> 32) % n); }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {  // inclusive
    return lo + static_cast<std::int64_t>(below(static_cast<std::size_t>(hi - lo + 1)));
  }
  bool percent(unsigned p) { return below(100) < p; }
  template <class T, std::size_t N>
  const T& pick(const T (&options)[N]) {
    return options[below(N)];
  }

 private:
  std::uint64_t state_;
};

namespace corpus_detail {

using edn::Value;

inline const char* const kWords[] = {
    "buy",   "milk",    "call",     "the",      "plumber", "review",   "pull",    "request",
    "fix",   "flaky",   "test",     "book",     "flights", "to",       "Zürich",  "café",
    "naïve", "résumé",  "deadline", "tomorrow", "budget",  "Q3",       "invoice", "#4711",
    "東京",  "meeting", "notes",    "draft",    "€12.50",  "ship",     "v2.1",    "release",
    "🙂",  "and",     "or",       "with",     "for",     "Ångström", "user",    "feedback"};

inline const char* const kTags[] = {"home", "work", "errand", "urgent", "later", "someday"};
inline const char* const kFilters[] = {"all", "active", "done"};
inline const char* const kCurrencies[] = {"EUR", "USD", "CHF", "GBP"};
inline const char* const kNames[] = {"Zoë Šimić", "Ana",    "Jürgen",       "Björk",
                                     "O'Neil",    "李小龙", "Ada Lovelace", "Ω"};

inline std::string sentence(CorpusRng& rng, std::size_t min_words, std::size_t max_words) {
  std::size_t n = min_words + rng.below(max_words - min_words + 1);
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) out += ' ';
    out += rng.pick(kWords);
  }
  // Now and then the escapes a printer must get right.
  if (rng.percent(8)) out += " \"quoted\"";
  if (rng.percent(5)) out += "\nsecond line";
  if (rng.percent(3)) out += "\tC:\\path";
  return out;
}

inline std::string token(CorpusRng& rng, std::string_view prefix, std::size_t length) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";
  std::string out(prefix);
  for (std::size_t i = 0; i < length; ++i) out += kAlphabet[rng.below(sizeof kAlphabet - 1)];
  return out;
}

inline edn::Instant instant(CorpusRng& rng, std::int64_t base_seconds, std::int64_t spread) {
  return {base_seconds + rng.between(0, spread),
          static_cast<std::uint32_t>(rng.below(1000000)) * 1000u};
}

inline edn::Uuid uuid(CorpusRng& rng) {
  edn::Uuid u;
  for (auto& b : u.bytes) b = static_cast<std::uint8_t>(rng.next());
  return u;
}

inline Value tag_set(CorpusRng& rng) {
  std::vector<Value> tags;
  for (std::size_t i = rng.below(3); i > 0; --i) tags.push_back(Value::keyword(rng.pick(kTags)));
  return edn::set(tags);
}

inline Value todo_item(CorpusRng& rng, std::int64_t id, std::int64_t now) {
  std::vector<edn::MapEntry> e = {
      {edn::kw("todo/id"), id},
      {edn::kw("todo/title"), sentence(rng, 2, 6)},
      {edn::kw("todo/done?"), rng.percent(30)},
      {edn::kw("todo/tags"), tag_set(rng)},
      {edn::kw("todo/priority"), rng.between(1, 5)},
  };
  if (rng.percent(40)) e.push_back({edn::kw("todo/due"), instant(rng, now, 30 * 86400)});
  if (rng.percent(25)) e.push_back({edn::kw("todo/notes"), sentence(rng, 5, 14)});
  return edn::map(e);
}

inline Value todo_state(CorpusRng& rng, std::int64_t now) {
  std::vector<Value> items;
  std::int64_t id = rng.between(1, 900);
  for (std::size_t i = 5 + rng.below(8); i > 0; --i) items.push_back(todo_item(rng, id++, now));
  return edn::map(
      {{edn::kw("todo/items"), edn::vec(items)},
       {edn::kw("todo/filter"), Value::keyword(rng.pick(kFilters))},
       {edn::kw("todo/next-id"), id},
       {edn::kw("ui/draft"), rng.percent(50) ? Value(sentence(rng, 1, 3)) : Value("")}});
}

inline Value form_state(CorpusRng& rng) {
  Value errors = rng.percent(40) ? edn::map({{edn::kw("title"), edn::vec({"must not be blank"})}})
                                 : edn::map({});
  return edn::map({{edn::kw("form/fields"), edn::map({{edn::kw("title"), sentence(rng, 1, 5)},
                                                      {edn::kw("notes"), sentence(rng, 4, 12)},
                                                      {edn::kw("estimate"), rng.between(0, 40)}})},
                   {edn::kw("form/errors"), errors},
                   {edn::kw("form/dirty?"), rng.percent(60)},
                   {edn::kw("form/step"), rng.between(1, 4)}});
}

inline Value confirm_state(CorpusRng& rng, std::int64_t now) {
  return edn::map({{edn::kw("dialog/message"), sentence(rng, 3, 8) + "?"},
                   {edn::kw("dialog/options"), edn::vec({edn::kw("yes"), edn::kw("no")})},
                   {edn::kw("dialog/default"), edn::kw("no")},
                   {edn::kw("dialog/subject"), todo_item(rng, rng.between(1, 900), now)}});
}

inline Value cart_state(CorpusRng& rng) {
  std::vector<Value> lines;
  std::int64_t cents = 0;
  for (std::size_t i = 2 + rng.below(5); i > 0; --i) {
    std::int64_t price = rng.between(99, 9999), qty = rng.between(1, 3);
    cents += price * qty;
    lines.push_back(edn::map({{edn::kw("sku"), token(rng, "SKU-", 6)},
                              {edn::kw("qty"), qty},
                              {edn::kw("price"), static_cast<double>(price) / 100.0},
                              {edn::kw("currency"), Value::keyword(rng.pick(kCurrencies))}}));
  }
  return edn::map(
      {{edn::kw("cart/lines"), edn::vec(lines)},
       {edn::kw("cart/total"), static_cast<double>(cents) / 100.0},
       {edn::kw("cart/coupon"), rng.percent(20) ? Value("SPRING24") : Value()},
       {edn::kw("cart/customer"), edn::map({{edn::kw("name"), rng.pick(kNames)},
                                            {edn::kw("email"), token(rng, "", 8) + "@example.org"},
                                            {edn::kw("id"), uuid(rng)}})}});
}

// One component instance: framework keys under :instance/*, the component's
// own state at the top level (SPEC §2).
inline Value instance(CorpusRng& rng, const std::string& id, const Value& parent,
                      std::int64_t now) {
  static const char* const kTypes[] = {"app.todo/list", "app.form/editor", "app.dialog/confirm",
                                       "app.cart/checkout"};
  std::size_t type = rng.below(4);
  Value state = type == 0   ? todo_state(rng, now)
                : type == 1 ? form_state(rng)
                : type == 2 ? confirm_state(rng, now)
                            : cart_state(rng);
  state = state.assoc(edn::kw("instance/id"), id)
              .assoc(edn::kw("instance/type"), edn::kw(kTypes[type]))
              .assoc(edn::kw("instance/parent"), parent)
              .assoc(edn::kw("instance/rendered?"), rng.percent(80));
  if (!parent.is_nil()) {
    state =
        state.assoc(edn::kw("instance/resume"), edn::kw(rng.percent(50) ? "edited" : "confirmed"));
  }
  return state;
}

// What a conversation's snapshots have in common.
struct ConversationBase {
  std::string cid;
  std::string owner;
  edn::Instant created;
};

// A conversation without history whose call stack holds `instances`
// (parent first).
inline Value conversation_body(CorpusRng& rng, const ConversationBase& base,
                               const std::vector<edn::MapEntry>& instances, std::int64_t seq) {
  std::vector<Value> stack;
  for (const auto& e : instances) stack.push_back(e.key);
  std::string url = "/app/" + token(rng, "", 6);  // two statements: + leaves order open
  url += std::string("?tab=") + rng.pick(kFilters);
  edn::Instant touched = instant(rng, base.created.seconds + seq * 7, 5);
  return edn::map({{edn::kw("conv/id"), base.cid},
                   {edn::kw("conv/instances"), edn::map(instances)},
                   {edn::kw("conv/stack"), edn::vec(stack)},
                   {edn::kw("conv/created"), base.created},
                   {edn::kw("conv/touched"), touched},
                   {edn::kw("conv/owner"), base.owner},
                   {edn::kw("conv/url"), url},
                   {edn::kw("conv/mount"), edn::kw("app/root")},
                   {edn::kw("conv/seq"), seq}});
}

}  // namespace corpus_detail

// The next document: a conversation whose stack of 3-4 instances grew one
// call at a time, with a snapshot (without :conv/history, as in stube) of
// each earlier state, most recent last.
inline edn::Value conversation(CorpusRng& rng) {
  using namespace corpus_detail;
  ConversationBase base;
  base.cid = token(rng, "cv-", 20);
  base.owner = token(rng, "tok-", 22);
  base.created = instant(rng, 1'700'000'000 + rng.between(0, 30'000'000), 0);
  std::size_t depth = 3 + rng.below(2);
  std::vector<edn::MapEntry> instances;
  std::vector<Value> history;
  Value parent;
  std::int64_t seq = 0;
  for (std::size_t i = 0; i < depth; ++i) {
    if (!instances.empty()) history.push_back(conversation_body(rng, base, instances, seq));
    seq += rng.between(1, 40);
    std::string id = token(rng, "ix-", 12);
    instances.push_back({id, instance(rng, id, parent, base.created.seconds)});
    parent = Value(id);
  }
  return conversation_body(rng, base, instances, seq)
      .assoc(edn::kw("conv/history"), edn::vec(history));
}

inline std::vector<edn::Value> conversation_corpus(std::size_t count,
                                                   std::uint64_t seed = kCorpusSeed) {
  CorpusRng rng(seed);
  std::vector<edn::Value> docs;
  docs.reserve(count);
  for (std::size_t i = 0; i < count; ++i) docs.push_back(conversation(rng));
  return docs;
}

}  // namespace stube::bench
