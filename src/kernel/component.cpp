#include "stube/component.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>

#include "stube/state.hpp"

namespace stube {

namespace {

bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Datastar morphs each top-level element of a patch into the page's
// element `#<id>`, a CSS selector made from the raw id: an id such as
// "x,#stube-root" (user text in an id) would overwrite other elements, and
// one such as "1x" or "a.b" fails in the browser. So an id here must be a
// plain CSS identifier.
bool plain_id(std::string_view id) {
  if (id.empty() || !(is_letter(id.front()) || id.front() == '_')) return false;
  for (char c : id)
    if (!(is_letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

bool void_element(std::string_view tag) {
  static constexpr std::string_view kVoid[] = {"area",   "base",  "br",    "col",  "embed",
                                               "hr",     "img",   "input", "link", "meta",
                                               "source", "track", "wbr"};
  for (std::string_view v : kVoid)
    if (tag.size() == v.size() && std::equal(tag.begin(), tag.end(), v.begin(),
                                             [](char a, char b) { return (a | 0x20) == b; }))
      return true;
  return false;
}

// The id of a start tag's text ("<p a=\"1\" id=\"x\">"), or nullopt. Built
// markup writes every attribute as ` name="escaped value"`, so ` id="`
// cannot occur inside a value.
std::optional<std::string_view> id_of(std::string_view tag) {
  for (std::size_t at = tag.find('='); at != std::string_view::npos; at = tag.find('=', at + 1)) {
    if (at < 3 || at + 1 >= tag.size() || tag[at + 1] != '"' || tag[at - 3] != ' ') continue;
    if ((tag[at - 2] | 0x20) != 'i' || (tag[at - 1] | 0x20) != 'd') continue;
    const std::size_t from = at + 2, to = tag.find('"', from);
    if (to == std::string_view::npos) return std::nullopt;
    return tag.substr(from, to - from);
  }
  return std::nullopt;
}

// Every top-level element of a patch needs a plain id (see plain_id). The
// markup is the builder's: text is escaped, so each '<' opens a tag.
void check_patch_targets(std::string_view markup) {
  int depth = 0;
  for (std::size_t lt = markup.find('<'); lt != std::string_view::npos;
       lt = markup.find('<', lt + 1)) {
    if (markup.compare(lt, 4, "<!--") == 0) {
      lt = markup.find("-->", lt);
      if (lt == std::string_view::npos) return;
      continue;
    }
    const std::size_t gt = markup.find('>', lt);
    if (gt == std::string_view::npos) return;
    const std::string_view tag = markup.substr(lt, gt + 1 - lt);
    if (tag.size() > 1 && tag[1] == '/') {
      --depth;
      continue;
    }
    const std::size_t name_end = tag.find_first_of(" />", 1);
    if (depth == 0) {
      const std::optional<std::string_view> id = id_of(tag);
      if (!id)
        throw std::invalid_argument("patch(): the element " + std::string(tag.substr(0, name_end)) +
                                    "> has no id; a patch is morphed into the page's element "
                                    "with its id");
      if (!plain_id(*id))
        throw std::invalid_argument("patch(): the element id \"" + std::string(*id) +
                                    "\" cannot name a patch target (use letters, digits, '-' "
                                    "and '_', starting with a letter or '_')");
    }
    if (!void_element(tag.substr(1, name_end - 1)) && tag[tag.size() - 2] != '/') ++depth;
  }
}

}  // namespace

Embed embed(std::string_view component_id, edn::Value args) {
  return Embed{edn::Value::keyword(component_id), std::move(args)};
}

void Self::set(std::string_view key, edn::Value v) {
  state_ = state_.assoc(edn::Value::keyword(key), std::move(v));
}

void Self::call(Embed child, std::string_view resume_key) {
  Effect e{Effect::Kind::Call, std::move(child), std::string(resume_key), {}, {}, {}, {}};
  effects_.push_back(std::move(e));
}

void Self::answer(edn::Value v) {
  effects_.push_back(Effect{Effect::Kind::Answer, {}, {}, std::move(v), {}, {}, {}});
}

void Self::replace(Embed other) {
  effects_.push_back(Effect{Effect::Kind::Replace, std::move(other), {}, {}, {}, {}, {}});
}

void Self::end(edn::Value v) {
  effects_.push_back(Effect{Effect::Kind::End, {}, {}, std::move(v), {}, {}, {}});
}

void Self::back() {
  effects_.push_back(Effect{Effect::Kind::Back, {}, {}, {}, {}, {}, {}});
}

void Self::patch(html::Html h) {
  check_patch_targets(h.str());
  effects_.push_back(Effect{Effect::Kind::Patch, {}, {}, {}, std::move(h), {}, {}});
}

void Self::after(std::chrono::milliseconds delay, std::string_view event, edn::Value payload) {
  effects_.push_back(Effect{Effect::Kind::After,
                            {},
                            {},
                            {},
                            {},
                            delay,
                            Event{std::string(event), std::move(payload), {}}});
}

Registry::Registry() {
  register_stock_components(*this);
}

ComponentDef& Registry::add(std::string_view id) {
  edn::Value key = edn::Value::keyword(id);
  if (key.ns().empty())
    throw std::invalid_argument("component id '" + std::string(id) +
                                "' must be namespaced, e.g. \"app/" + std::string(key.name()) +
                                "\"");
  if (in_use_)
    throw std::logic_error("define(\"" + std::string(id) +
                           "\"): the registry is in use by a runtime; define every component "
                           "before the runtime or server starts");
  auto& slot = defs_[key];
  // Redefining replaces in place: a Definition still held for the id stays
  // valid (it now shapes the new definition).
  if (slot)
    *slot = ComponentDef{};
  else
    slot = std::make_unique<ComponentDef>();
  slot->id = key;
  return *slot;
}

Definition Registry::define(std::string_view id) {
  return Definition(add(id));
}

const ComponentDef* Registry::find(const edn::Value& id) const {
  auto it = defs_.find(id);
  return it == defs_.end() ? nullptr : it->second.get();
}

const ComponentDef* Registry::find(std::string_view id) const {
  return find(edn::Value::keyword(id));
}

namespace detail {
void state_field_error(const char* field, const edn::TypeError& e) {
  throw edn::TypeError(std::string("state field '") + field + "': " + e.what());
}
void integer_range_error(std::int64_t n, std::int64_t min, std::uint64_t max) {
  throw edn::TypeError("edn: integer " + std::to_string(n) + " out of range " +
                       std::to_string(min) + ".." + std::to_string(max));
}
std::uint64_t unsigned_from_big_int(const edn::Value& v, std::uint64_t max) {
  const std::string_view digits = v.number_text();
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n > max)
    throw edn::TypeError("edn: integer " + std::string(digits) + "N out of range 0.." +
                         std::to_string(max));
  return n;
}
}  // namespace detail

}  // namespace stube
