// libFuzzer target for a stored record read back (built by scripts/fuzz.sh).
// The input is the text of one file store record, `cv-fuzz.edn`, as a user
// may have edited it by hand, an old version written it or a bad disk left
// it.
//
// The rule for such a record: a bad one is skipped with a warning naming the
// file and what is wrong with it, and left as it is; a good one is restored
// and served like any other. So each input is written to a scratch
// directory, checked with store_checks::read_record and opened as a file
// store. A record it loads becomes the only conversation of a Runtime with
// the demo's components (and the stock dialogs), which then wakes it (a
// recording stream attached), dispatches every handler of its top frame
// (with the payloads and signals such a handler takes, and a few more),
// goes back, attaches again, computes the kept signals the server would
// send, and ends it: Runtime::end, or a shutdown's stop hooks and final save.
// None of the demo's components asks for timers, so nothing waits.
//
// Anything else is a finding: a crash or sanitizer report, a leak (coroutine
// frames of the flow component included), an exception out of the store or
// the runtime, a record refused without a reason or without a warning
// naming the file, a refused record changed, the file store and read_record
// disagreeing, an answer the runtime must not give (Forbidden to the owner,
// Unavailable from a local store, NoConversation for a live one, anything
// but Forbidden to a stranger), a stream attached that gets no view, kept
// signals that do not read back, or a conversation a shutdown leaves behind
// that cannot be loaded again (an ended one must be gone).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/log_capture.hpp"
#include "demo/demo.hpp"
#include "server/http_util.hpp"
#include "server/signals.hpp"
#include "store/checks.hpp"
#include "stube/component.hpp"
#include "stube/conversation.hpp"
#include "stube/edn.hpp"
#include "stube/flow.hpp"
#include "stube/log.hpp"
#include "stube/runtime.hpp"
#include "stube/store.hpp"

namespace {

namespace edn = stube::edn;
namespace fs = std::filesystem;
using Result = stube::Runtime::Result;

constexpr std::string_view kCid = "cv-fuzz";
constexpr std::string_view kFile = "cv-fuzz.edn";
// Bounds the work of one input: dispatches, and the values looked at for
// payloads.
constexpr std::size_t kMaxDispatches = 64;
constexpr std::size_t kMaxNodes = 64;

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "record_restore_fuzz: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// The store's directory, made once per process and removed at its exit.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/stube-record-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) fail("cannot make a scratch directory", pattern);
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path file() const { return path_ / kFile; }
  // Empty again: what the last input's runtime left is gone.
  void clear() const {
    for (const fs::directory_entry& e : fs::directory_iterator(path_)) fs::remove_all(e.path());
  }

 private:
  fs::path path_;
};

struct World {
  // What the library logged for the current input (the default sink would
  // print it all).
  stube::test::LogCapture logs;
  ScratchDir dir;
  std::shared_ptr<const stube::Registry> registry = [] {
    auto reg = std::make_shared<stube::Registry>();
    demo::define_counter(*reg);
    demo::define_board(*reg);
    demo::define_wizard(*reg);
    demo::define_todo(*reg);
    // examples/demo/wizard_flow.cpp is not built here: clang 14 cannot
    // compile its coroutine with -fsanitize=fuzzer and UBSan's `function`
    // check ("Cannot represent a difference across sections"). A record
    // never holds a live coroutine, and no component here calls the flow,
    // so its body never runs: the flow machinery (src/kernel/flow.cpp) is
    // registered under the demo's name with a body that says so.
    stube::define_flow(*reg, "demo/wizard-flow", [](const edn::Value&) -> stube::Flow {
      throw std::logic_error("record_restore_fuzz: demo/wizard-flow started");
    });
    return reg;
  }();
};

World& world() {
  static World w;
  return w;
}

void spit(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out.flush()) fail("cannot write the record", path.string());
}

std::optional<std::string> slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// --- reading a record without throwing --------------------------------------

const edn::Value* lookup(const edn::Value& map, const edn::Value& key) {
  return map.is(edn::Kind::Map) ? map.find(key) : nullptr;
}

std::string string_at(const edn::Value* v) {
  return v != nullptr && v->is(edn::Kind::String) ? std::string(v->as_string()) : std::string();
}

// The iid at the top (or bottom) of the stack, "" when there is none.
std::string stack_end(const edn::Value& conv, bool top) {
  const edn::Value* stack = lookup(conv, stube::conv::keys::stack());
  if (stack == nullptr || !stack->is(edn::Kind::Vector) || stack->empty()) return {};
  return string_at(&stack->at(top ? stack->size() - 1 : 0));
}

const edn::Value* instance_of(const edn::Value& conv, const std::string& iid) {
  const edn::Value* instances = lookup(conv, stube::conv::keys::instances());
  return instances != nullptr ? lookup(*instances, edn::Value(iid)) : nullptr;
}

const stube::ComponentDef* def_of(const stube::Registry& reg, const edn::Value* instance) {
  static const edn::Value kType = edn::Value::keyword("instance/type");
  const edn::Value* type = instance != nullptr ? lookup(*instance, kType) : nullptr;
  return type != nullptr ? reg.find(*type) : nullptr;
}

// Up to three integers in `v`, breadth first: item ids, option indices.
std::vector<edn::Value> integers_in(const edn::Value& v) {
  std::vector<edn::Value> found;
  std::vector<const edn::Value*> queue{&v};
  for (std::size_t i = 0; i < queue.size() && i < kMaxNodes && found.size() < 3; ++i) {
    const edn::Value& x = *queue[i];
    if (x.is(edn::Kind::Int)) {
      found.push_back(x);
    } else if (x.is(edn::Kind::Map)) {
      for (const edn::MapEntry& e : x.entries()) queue.push_back(&e.val);
    } else if (x.is(edn::Kind::Vector) || x.is(edn::Kind::List)) {
      for (const edn::Value& item : x.items()) queue.push_back(&item);
    }
  }
  if (found.empty()) found.emplace_back(0);
  return found;
}

// --- the runtime ------------------------------------------------------------

class RecordingOutput final : public stube::Output {
 public:
  void send(const std::vector<stube::Fragment>& fragments) override {
    for (const stube::Fragment& f : fragments)
      if (f.target.empty()) fail("a fragment without a target", f.html);
    ++sends_;
  }
  void close() override { closed_ = true; }
  bool closed() const { return closed_; }
  std::size_t sends() const { return sends_; }

 private:
  std::size_t sends_ = 0;
  bool closed_ = false;
};

class Session {
 public:
  Session(stube::Runtime& rt, const stube::Registry& reg) : rt_(rt), reg_(reg) {
    if (const auto conv = rt_.conversation(kCid))
      owner_ = string_at(lookup(*conv, edn::Value::keyword("stube/owner")));
  }

  bool live() const { return rt_.conversation(kCid).has_value(); }

  // A result the runtime must not give for this conversation.
  void check(Result r, const char* call) const {
    if (r == Result::Forbidden) fail(call, "Forbidden with the record's own owner token");
    if (r == Result::Unavailable) fail(call, "Unavailable from a local store");
    if (r == Result::NoConversation && live()) fail(call, "NoConversation for a live one");
  }

  // Whether the runtime kept `out` (it does on Ok and HandlerError).
  bool attach(const std::shared_ptr<RecordingOutput>& out) {
    if (!owner_.empty() && live() && rt_.attach(kCid, owner_ + "x", out) != Result::Forbidden)
      fail("attach", "a stranger's owner token was not refused");
    const Result r = rt_.attach(kCid, owner_, out);
    check(r, "attach");
    awake_ = awake_ || r == Result::Ok;
    return r == Result::Ok || r == Result::HandlerError;
  }

  void dispatch(const std::string& iid, stube::Event event) {
    if (dispatches_ == kMaxDispatches) return;
    ++dispatches_;
    const std::string name = event.name;
    std::string why;
    const std::optional<edn::Value> before = rt_.conversation(kCid);
    const Result r = rt_.dispatch(kCid, iid, std::move(event), owner_, &why);
    check(r, "dispatch");
    const bool refused =
        r == Result::UnknownEvent || r == Result::BadSignals || r == Result::BadEvent;
    if (refused && why.empty()) fail("a refused event without a reason", name);
    // Refused or failed, it changes nothing (once awake: a first event
    // wakes a restored conversation, which its wakeup hooks may change).
    if (awake_ && (refused || r == Result::NoInstance || r == Result::HandlerError) &&
        rt_.conversation(kCid) != before)
      fail("a refused or failed event changed the conversation", name);
  }

  // Every event the top frame's component takes (as of now), each with no
  // payload, with the integers its state holds and its own signals, and with
  // signals of the wrong type; one it does not take; one for the frame
  // below it.
  void round() {
    const auto conv = rt_.conversation(kCid);
    if (!conv) return;
    const std::string top = stack_end(*conv, true);
    const std::string bottom = stack_end(*conv, false);
    if (!top.empty() && !bottom.empty() && bottom != top &&
        rt_.dispatch(kCid, bottom, stube::Event{"inc"}, owner_) != Result::NoInstance)
      fail("dispatch", "an event for a frame below the top was not refused");
    if (!owner_.empty() &&
        rt_.dispatch(kCid, top, stube::Event{"inc"}, owner_ + "x") != Result::Forbidden)
      fail("dispatch", "a stranger's owner token was not refused");
    const edn::Value* instance = instance_of(*conv, top);
    const stube::ComponentDef* def = def_of(reg_, instance);
    std::vector<std::string> names{"no-such-event"};
    edn::Value own, wrong;
    if (def != nullptr) {
      for (const auto& [name, handler] : def->handlers) names.push_back(name);
      for (const std::string& signal : def->kept_signals) {
        const edn::Value key = edn::Value::keyword(signal);
        if (const edn::Value* v = lookup(*instance, key)) own = own.assoc(key, *v);
        wrong = wrong.assoc(key, edn::vec({edn::Value(1)}));
      }
    }
    const std::vector<edn::Value> payloads =
        instance != nullptr ? integers_in(*instance) : std::vector<edn::Value>{edn::Value(0)};
    for (const std::string& name : names) {
      dispatch(top, stube::Event{name});
      for (const edn::Value& p : payloads) dispatch(top, stube::Event{name, p, own});
      if (!wrong.is_nil()) dispatch(top, stube::Event{name, {}, wrong});
    }
  }

  void back() { check(rt_.back(kCid, owner_), "back"); }

  // What the server sends the browser with a view: the kept signals must
  // read back, and none of their namespaces counts as stale.
  void kept_signals() const {
    const auto conv = rt_.conversation(kCid);
    if (!conv) return;
    const std::string json = stube::server::kept_signals_json(reg_, *conv);
    if (json.empty()) return;
    edn::Value signals;
    try {
      signals = stube::server::signals_from_json(json, edn::max_write_depth + 3);
    } catch (const stube::server::BadRequest& e) {
      fail("kept_signals_json's output does not read back", json + "\n" + e.what());
    }
    if (!stube::server::stale_namespaces(signals, *conv).empty())
      fail("a kept signal's namespace counts as stale", json);
    // An event's answer: a back sends them all; an event whose page sent
    // them as they are leaves out the addressed instance's, and only those.
    if (stube::server::answer_signals_json(reg_, *conv, {}, signals) != json)
      fail("a back's answer is not all the kept signals", json);
    const std::string top = stack_end(*conv, true);
    if (top.empty()) return;  // a record may have lost its stack (served as a blank page)
    const std::string answer = stube::server::answer_signals_json(reg_, *conv, top, signals);
    const edn::Value left =
        answer.empty() ? edn::Value()
                       : stube::server::signals_from_json(answer, edn::max_write_depth + 3);
    const bool top_kept = !stube::server::instance_signals(signals, top).is_nil();
    if (!stube::server::instance_signals(left, top).is_nil() ||
        (answer.empty() ? 0 : left.size()) + (top_kept ? 1 : 0) != signals.size())
      fail("an event's answer leaves out more or less than the addressed instance's", answer);
  }

 private:
  stube::Runtime& rt_;
  const stube::Registry& reg_;
  std::string owner_;
  bool awake_ = false;  // an attach answered Ok: the wakeup hooks have run
  std::size_t dispatches_ = 0;
};

// A record that loaded: served, then ended or shut down.
void serve(World& w, bool end_it) {
  stube::RuntimeOptions options;
  stube::FileStoreOptions file_options;
  file_options.load_threads = 1;
  file_options.create = false;
  options.store = stube::file_store(w.dir.path(), file_options);
  stube::Runtime rt(w.registry, options);
  if (rt.restored_count() != 1)
    fail("the file store did not load a record read_record accepts", w.dir.file().string());

  Session s(rt, *w.registry);
  auto out = std::make_shared<RecordingOutput>();
  const bool kept = s.attach(out);
  if (kept && s.live() && out->sends() == 0) fail("attach", "no view (or error) was sent");
  s.round();
  s.back();
  auto again = std::make_shared<RecordingOutput>();  // a reconnect: the first stream closes
  s.attach(again);
  if (kept && s.live() && !out->closed()) fail("attach", "a reconnect left the old stream open");
  s.round();
  s.kept_signals();
  rt.detach(kCid, again.get());

  const bool ended = !s.live();
  if (ended || end_it) {
    rt.end(kCid);
    rt.shutdown();
    if (fs::exists(w.dir.file())) fail("an ended conversation's record is still stored", "");
    return;
  }
  rt.shutdown();
  // Loses nothing: the record a shutdown leaves loads again (its last
  // printable value, or the one it was restored from).
  const std::optional<std::string> stored = slurp(w.dir.file());
  if (!stored) fail("a shutdown lost the conversation's record", "");
  std::string problem;
  if (!stube::store_checks::read_record(kCid, *stored, "the file name", problem))
    fail("a shutdown left a record that does not load", problem + "\n" + *stored);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  World& w = world();
  w.dir.clear();
  w.logs.clear();
  const std::size_t frames = stube::live_flow_frames();
  spit(w.dir.file(), text);

  std::string problem;
  const bool loads =
      stube::store_checks::read_record(kCid, text, "the file name", problem).has_value();
  if (loads) {
    serve(w, size % 2 == 1);
  } else {
    if (problem.empty()) fail("read_record refused a record without saying why", text);
    stube::FileStoreOptions file_options;
    file_options.load_threads = 1;
    file_options.create = false;
    if (!stube::file_store(w.dir.path(), file_options)->load_all().empty())
      fail("the file store loaded a record read_record refuses", problem);
    if (!w.logs.has(stube::log::Level::warn, {w.dir.file().string(), problem}))
      fail("no warning names the skipped file and its problem", problem);
    if (slurp(w.dir.file()) != std::optional<std::string>(text))
      fail("a refused record was changed", problem);
  }
  if (stube::live_flow_frames() != frames) fail("coroutine frames leaked", "");
  return 0;
}
