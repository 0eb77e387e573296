// libFuzzer target for what a client controls before the runtime sees it
// (built by scripts/fuzz.sh): the request target (absolute or origin form,
// path, base path, route, query string, the EDN payload), the head of a
// connection refused for being one too many, the Host, Cookie and
// If-None-Match headers, and the signals JSON of an event, which then goes
// through what the server does with it: an event to the demo's todo list
// with those signals, the namespaces to drop and the answer's signals.
//
// Rejecting input with BadRequest (a 400) is the server doing its job.
// Anything else is a finding: a crash or sanitizer report, any other
// exception, a route whose ids the id check refuses, an event the hostile
// signals made fail other than as bad signals, an answer that does not read
// back, or signals that do not survive the trip back to the browser
// (to_json's output must read back, and one more round trip must change
// nothing).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "demo/demo.hpp"
#include "kernel/wire.hpp"
#include "server/http_util.hpp"
#include "server/routes.hpp"
#include "server/signals.hpp"
#include "stube/component.hpp"
#include "stube/edn.hpp"
#include "stube/kernel.hpp"

namespace {

namespace srv = stube::server;

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "server_input_fuzz: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// Runs f; BadRequest is an answer, any other exception a finding.
template <class F>
void rejected_or_ok(const char* what, F&& f) {
  try {
    f();
  } catch (const srv::BadRequest&) {
  } catch (const std::exception& e) {
    fail(what, e.what());
  }
}

// The event payload (?p=), read as the server reads it: at most 64 deep.
void check_payload(const stube::QueryParams& query) {
  const auto p = query.find("p");
  if (p == query.end()) return;
  try {
    (void)stube::edn::read(p->second, stube::edn::ReadOptions{64});
  } catch (const stube::edn::Error&) {  // the server's 400
  }
}

// The host of a Host header or an absolute-form target's authority: a
// prefix of it, when it is one at all.
void check_authority(std::string_view authority) {
  const std::optional<std::string_view> host = srv::authority_host(authority);
  if (host && (host->data() != authority.data() || host->size() > authority.size()))
    fail("authority_host is no prefix of the authority", authority);
}

// What a request's target becomes before routing: the origin form of an
// absolute URL ("http://h/sse/x"), or the target itself.
void check_target(std::string_view raw) {
  std::optional<std::string> origin;
  rejected_or_ok("origin_form threw", [&] { origin = srv::origin_form(raw); });
  if (origin && origin->size() > raw.size()) fail("origin_form grew the target", raw);
  check_authority(srv::target_authority(raw));
  const std::string_view target = origin ? std::string_view(*origin) : raw;
  // Not a structured binding: clang 14 cannot capture those in a lambda.
  const std::pair<std::string_view, std::string_view> split = srv::split_target(target);
  const std::string_view path = split.first;
  const std::string_view query = split.second;
  if (path.size() + query.size() > target.size()) fail("split_target grew the target", target);
  for (std::string_view base : {std::string_view(), std::string_view("/app")}) {
    const auto relative = srv::strip_base(path, base);
    if (!relative) continue;
    rejected_or_ok("parse_route threw", [&] {
      const srv::Route r = srv::parse_route(*relative);
      using Kind = srv::Route::Kind;
      if (r.kind == Kind::Sse || r.kind == Kind::Event || r.kind == Kind::Back) {
        if (!srv::valid_id(r.cid)) fail("a route with an invalid cid", r.cid);
        if (r.kind == Kind::Event && (!srv::valid_id(r.iid) || !srv::valid_event_name(r.event)))
          fail("an event route with an invalid iid or event name", r.iid + " " + r.event);
      }
    });
  }
  rejected_or_ok("parse_query threw", [&] { check_payload(srv::parse_query(query)); });
  rejected_or_ok("percent_decode threw", [&] { srv::percent_decode(target, true); });
}

// Headers read before any route: the raw head of a connection refused for
// being over the limit (a stream's is answered differently), the Host name
// and If-None-Match.
void check_headers(std::string_view text) {
  (void)srv::requests_stream(text, "");
  (void)srv::requests_stream(text, "/app");
  (void)srv::host_name_alone(text);
  check_authority(text);
  (void)srv::none_match_names(text, "\"v1\"");
}

void check_cookie(std::string_view header) {
  for (const std::string_view v : srv::cookie_values(header, "stube-cv-a"))
    if (v.data() < header.data() || v.data() + v.size() > header.data() + header.size())
      fail("cookie_values points outside the header", header);
}

// The demo's todo list, as a page shows it: a typed component whose kept
// fields (text) the page's signals must fit.
struct Todo {
  std::shared_ptr<stube::Registry> reg = [] {
    auto r = std::make_shared<stube::Registry>();
    demo::define_todo(*r);
    return r;
  }();
  stube::edn::Value conv = stube::start_conversation(*reg, "demo/todo", {}, {}).conv;
  std::string iid{stube::top_instance(conv)};
};

// An event sent with the hostile signals: fitted to the component's state
// or refused as bad signals (a 400), never a handler error; then what the
// answer to it carries.
void check_event_with(const stube::edn::Value& all) {
  static const Todo todo;
  (void)srv::stale_namespaces(all, todo.conv);
  if (!all.is(stube::edn::Kind::Map)) return;
  // The instance's id is random: the first namespace of the input stands for
  // it (the fuzzer could never guess it).
  stube::edn::Value sent = all;
  stube::edn::Value mine;
  if (!all.empty()) {
    const stube::edn::MapEntry& first = all.entries().front();
    mine = first.val;
    sent = all.dissoc(first.key).assoc(
        stube::edn::Value::keyword(stube::signal_namespace(todo.iid)), mine);
  }
  if (!(srv::instance_signals(sent, todo.iid) ==
        (mine.is(stube::edn::Kind::Map) ? mine : stube::edn::Value())))
    fail("the page's signals for the instance are not found under its namespace", "");
  for (const char* event : {"add", "cancel-edit"}) {
    const stube::Step step =
        stube::dispatch(*todo.reg, todo.conv, todo.iid,
                        stube::Event{event, {}, srv::instance_signals(sent, todo.iid)}, {});
    using Status = stube::Step::Status;
    if (step.status == Status::BadSignals) continue;
    // "add" refuses blank or overlong text itself (BadEvent, a 400).
    if (step.status != Status::Ok && step.status != Status::BadEvent)
      fail("an event with hostile signals failed otherwise than as bad signals", step.error);
    const std::string answer = srv::answer_signals_json(*todo.reg, step.conv, todo.iid, sent);
    try {
      (void)srv::signals_from_json(answer);
    } catch (const std::exception& e) {
      fail("the answer's signals do not read back", answer + "\n" + e.what());
    }
  }
}

void check_signals(std::string_view json) {
  stube::edn::Value signals;
  try {
    signals = srv::signals_from_json(json);
  } catch (const srv::BadRequest&) {
    return;
  } catch (const std::exception& e) {
    fail("signals_from_json threw something other than BadRequest", e.what());
  }
  (void)srv::instance_signals(signals, "ix-a");
  check_event_with(signals);
  if (signals.is_nil()) return;
  std::string once;
  try {
    once = srv::to_json(signals);
  } catch (const stube::edn::Error&) {
    return;  // a value the page could not take back as it was (an integer past 2^53): refused
  }
  std::string twice;
  try {
    twice = srv::to_json(srv::signals_from_json(once));
  } catch (const std::exception& e) {
    fail("to_json's output does not read back", once + "\n" + e.what());
  }
  if (twice != once) fail("a second round trip changed the signals", once + "\n" + twice);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_target(input);
  check_headers(input);
  check_cookie(input);
  check_signals(input);
  return 0;
}
