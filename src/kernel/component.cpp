#include "stube/component.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "stube/state.hpp"

namespace stube {

Embed embed(std::string_view component_id, edn::Value args) {
  return Embed{edn::Value::keyword(component_id), std::move(args)};
}

const edn::Value& detail::state_key(const edn::Value& state, std::string_view key) {
  if (!key.empty() && key.front() == ':') return state[key];
  std::string keyword;
  keyword.reserve(key.size() + 1);
  keyword.append(1, ':').append(key);
  return state[std::string_view(keyword)];
}

const edn::Value& Self::operator[](std::string_view key) const {
  return detail::state_key(state_, key);
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

void Registry::mark_in_use() const noexcept {
  in_use_ = true;
  for (const auto& [id, def] : defs_) def->sealed = true;
}

void detail::refuse_sealed(const ComponentDef& def) {
  throw std::logic_error("component " + edn::write(def.id) +
                         ": the registry is in use by a runtime; its definition cannot change "
                         "any more (define every component before the runtime or server starts)");
}

void detail::keep_signals(ComponentDef& def, const std::vector<std::string>& signals) {
  for (const std::string& name : signals)
    if (std::find(def.kept_signals.begin(), def.kept_signals.end(), name) == def.kept_signals.end())
      def.kept_signals.push_back(name);
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
void duplicate_key_error(const std::string& key) {
  throw edn::TypeError("edn: two keys of the map are both \"" + key +
                       "\" as text (a keyword and a string?); one would be lost");
}
// A big integer in min..max (Clojure writes 5N for a BigInt even when it
// is small), parsed as an N; TypeError naming the range otherwise.
template <class N>
N big_int_in_range(const edn::Value& v, N min, N max) {
  const std::string_view digits = v.number_text();
  N n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n < min || n > max)
    throw edn::TypeError("edn: integer " + std::string(digits) + "N out of range " +
                         std::to_string(min) + ".." + std::to_string(max));
  return n;
}
std::uint64_t unsigned_from_big_int(const edn::Value& v, std::uint64_t max) {
  return big_int_in_range<std::uint64_t>(v, 0, max);
}
std::int64_t signed_from_big_int(const edn::Value& v, std::int64_t min, std::int64_t max) {
  return big_int_in_range(v, min, max);
}
double double_from_edn(const edn::Value& v) {
  if (v.is(edn::Kind::Int)) return static_cast<double>(v.as_int());
  if (!v.is(edn::Kind::BigInt)) return v.as_double();
  const std::string_view digits = v.number_text();
  double d = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
  if (end != digits.data() + digits.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range))
    throw edn::TypeError("edn: integer " + std::string(digits) + "N is not a number");
  if (ec == std::errc::result_out_of_range)
    throw edn::TypeError("edn: integer " + std::string(digits) + "N out of range for a double");
  return d;
}

namespace {

constexpr double kFloatMax = std::numeric_limits<float>::max();
// Up to half a float's last step past its largest value, a number rounds to
// that value (the largest float's shortest text, 3.4028235E38, is a little
// above it); from there on it would be an infinity.
constexpr double kRoundsToInfinity = kFloatMax + 0x1p103;

// The float nearest a finite `d` below kRoundsToInfinity in size.
float nearest_float(double d) {
  if (std::abs(d) > kFloatMax)
    return d > 0 ? std::numeric_limits<float>::max() : std::numeric_limits<float>::lowest();
  return static_cast<float>(d);
}

}  // namespace

float float_from_edn(const edn::Value& v) {
  const double d = double_from_edn(v);
  if (!std::isfinite(d)) return static_cast<float>(d);
  if (std::abs(d) >= kRoundsToInfinity)
    throw edn::TypeError("edn: " + edn::write(v) + " out of range for a float");
  return nearest_float(d);
}

double float_as_double(float f) noexcept {
  if (!std::isfinite(f)) return static_cast<double>(f);
  char text[32];
  const auto printed = std::to_chars(text, text + sizeof text, f);  // shortest round trip
  double d = 0;
  std::from_chars(text, printed.ptr, d);
  // Text -> double -> float rounds twice, which for a few floats lands a
  // step away: those keep their exact value.
  return nearest_float(d) == f ? d : static_cast<double>(f);
}
}  // namespace detail

}  // namespace stube
