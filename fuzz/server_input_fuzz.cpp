// libFuzzer target for what a client controls before the runtime sees it
// (built by scripts/fuzz.sh): the request target (path, base path, route,
// query string), the Cookie header and the signals JSON of an event.
//
// Rejecting input with BadRequest (a 400) is the server doing its job.
// Anything else is a finding: a crash or sanitizer report, any other
// exception, a route whose ids the id check refuses, or signals that do not
// survive the trip back to the browser (to_json's output must read back,
// and one more round trip must change nothing).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include "server/http_util.hpp"
#include "server/routes.hpp"
#include "server/signals.hpp"

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

void check_target(std::string_view target) {
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
  rejected_or_ok("parse_query threw", [&] { srv::parse_query(query); });
  rejected_or_ok("percent_decode threw", [&] { srv::percent_decode(target, true); });
}

void check_cookie(std::string_view header) {
  for (const std::string_view v : srv::cookie_values(header, "stube-cv-a"))
    if (v.data() < header.data() || v.data() + v.size() > header.data() + header.size())
      fail("cookie_values points outside the header", header);
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
  if (signals.is_nil()) return;
  const std::string once = srv::to_json(signals);
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
  check_cookie(input);
  check_signals(input);
  return 0;
}
