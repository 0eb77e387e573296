// Reading every record of a store and checking each one: what verify
// reports, what ls and stats list, and what migrate copies.
#include <algorithm>
#include <vector>

#include "stube/conversation.hpp"
#include "stube_store/tool.hpp"

namespace stube::tool {

// The checks load_all makes (a map whose string :conv/id is the record's
// cid), then the shape stube/conversation.hpp reads.
std::string conversation_problem(std::string_view cid, const edn::Value& v) {
  if (std::string problem = conv::record_problem(v, cid, "the cid"); !problem.empty())
    return problem;
  try {
    conv::instances(v);
    conv::stack(v);
    conv::history(v);
    conv::created(v);
    conv::touched(v);
  } catch (const edn::TypeError& e) {
    return e.what();
  }
  return {};
}

std::string shown_cid(std::string_view cid) {
  return conv::valid_id(cid) ? std::string(cid) : conv::quote_id(cid);
}

Record check_record(std::string_view cid, std::string_view text) {
  Record r{shown_cid(cid), text.size(), std::nullopt, {}, {}};
  if (!conv::valid_id(cid)) {
    r.problem = "not a valid conversation id (1-" + std::to_string(conv::max_id_length) +
                " characters from [A-Za-z0-9_-])";
    return r;
  }
  try {
    edn::Value v = edn::read(text);
    r.problem = conversation_problem(cid, v);
    if (r.problem.empty()) r.conv = std::move(v);
  } catch (const edn::ParseError& e) {
    r.position = ":" + std::to_string(e.line()) + ":" + std::to_string(e.column());
    r.problem = "not valid EDN: " + e.reason();
  } catch (const edn::Error& e) {
    r.problem = e.what();
  }
  return r;
}

std::vector<Record> read_records(ConversationStore& store, const std::string& url) {
  std::vector<Record> records;
  try {
    store.scan_reporting(
        [&](std::string_view cid, std::string_view text) {
          records.push_back(check_record(cid, text));
        },
        [&](std::string_view cid, std::string_view why) {  // not read: size unknown, not 0
          records.push_back(Record{shown_cid(cid), std::nullopt, {}, {}, std::string(why)});
        });
  } catch (const StoreError& e) {
    throw Failure("cannot read " + redact_store_url(url) + ": " + e.what());
  }
  std::sort(records.begin(), records.end(),
            [](const Record& a, const Record& b) { return a.cid < b.cid; });
  return records;
}

std::string format_instant(edn::Instant t) {
  const std::string text = edn::write(edn::Value(t));  // #inst "…"
  const auto open = text.find('"');
  return text.substr(open + 1, text.size() - open - 2);
}

std::string top_component(const edn::Value& conv) {
  const edn::Value& iid = conv::top(conv);
  if (!iid.is(edn::Kind::String)) return "-";
  // The shape check covers the instances map, not each instance in it.
  const edn::Value& instance = conv::instance(conv, iid.as_string());
  if (!instance.is(edn::Kind::Map)) return "-";
  const edn::Value& type = instance.get(edn::kw("instance/type"));
  if (type.is_nil()) return "-";
  // What a damaged or crafted record holds there is shown escaped, as a cid
  // is, so that it cannot send escape sequences to the terminal; a plain
  // keyword, as it is.
  const std::string text =
      type.is(edn::Kind::String) ? std::string(type.as_string()) : edn::write(type);
  const std::string quoted = conv::quote_id(text);
  const bool plain = type.is(edn::Kind::Keyword) && quoted.size() == text.size() + 2;
  return plain ? text : quoted;
}

bool printable_conversation(const edn::Value& conv) {
  if (!conv.printable()) return false;
  std::vector<const edn::Value*> todo{&conv};
  while (!todo.empty()) {
    const edn::Value& v = *todo.back();
    todo.pop_back();
    switch (v.kind()) {
      case edn::Kind::Tagged:
        if (v.tag() == "object") return false;
        todo.push_back(&v.tagged_value());
        break;
      case edn::Kind::Map:
        for (const auto& e : v.entries()) {
          todo.push_back(&e.key);
          todo.push_back(&e.val);
        }
        break;
      case edn::Kind::List:
      case edn::Kind::Vector:
      case edn::Kind::Set:
        for (const auto& item : v.items()) todo.push_back(&item);
        break;
      default:
        break;
    }
  }
  return true;
}

}  // namespace stube::tool
