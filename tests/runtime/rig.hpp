// The components and runtime set-up the runtime tests share.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernel/doc_examples.hpp"
#include "kernel/probe.hpp"
#include "runtime/support.hpp"
#include "stube/flow.hpp"
#include "stube/runtime.hpp"

namespace stube::test {

// Watches the :rt/seq handler for overlapping runs.
struct SeqWatch {
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> calls{0};
};

// :rt/seq counts "hit" events with payload [thread i] and refuses (throws)
// one that arrives out of its thread's order. :rt/ticker's "arm" with payload
// [n delay-ms] asks for n "tick" timers; :rt/wakey counts its wakeups.
inline void define_runtime_components(Registry& reg, std::shared_ptr<Journal> journal,
                                      std::shared_ptr<SeqWatch> watch) {
  reg.define("rt/seq")
      .init([](const Value&) {
        return edn::map({{kw("count"), 0}, {kw("last"), edn::map({})}});
      })
      .render([](const Self& s) { return html::p("count ", s[":count"]); })
      .on("hit", [watch](Self& s, const Event& e) {
        struct Inside {
          SeqWatch& w;
          explicit Inside(SeqWatch& w) : w(w) {
            if (w.inside.fetch_add(1) != 0) w.overlaps.fetch_add(1);
            w.calls.fetch_add(1);
          }
          ~Inside() { w.inside.fetch_sub(1); }
        } guard(*watch);
        const Value& thread = e.payload[0];
        const std::int64_t i = e.payload[1].as_int();
        const Value& seen = s[":last"].get(thread);
        const std::int64_t previous = seen.is_nil() ? -1 : seen.as_int();
        if (previous != i - 1) throw std::logic_error("event out of its thread's order");
        s.set("count", s[":count"].as_int() + 1);
        s.set("last", s[":last"].assoc(thread, i));
      });
  reg.define("rt/ticker")
      .init([](const Value& args) {
        return edn::map({{kw("ticks"), 0}, {kw("incs"), 0}, {kw("label"), args[":label"]}});
      })
      .render([](const Self& s) { return html::p("ticks: ", s[":ticks"], " incs: ", s[":incs"]); })
      .on("arm",
          [](Self& s, const Event& e) {
            // [n delay-ms] or [n delay-ms payload-of-each-tick]
            for (std::int64_t k = 0; k < e.payload[0].as_int(); ++k)
              s.after(std::chrono::milliseconds(e.payload[1].as_int()), "tick",
                      e.payload.size() > 2 ? e.payload[2] : edn::Value());
          })
      .on("tick",
          [journal](Self& s) {
            journal->add("tick " + std::string(s[":label"].as_string()));
            s.set("ticks", s[":ticks"].as_int() + 1);
          })
      .on("inc", [](Self& s) { s.set("incs", s[":incs"].as_int() + 1); })
      .on("quit", [](Self& s) { s.end("bye"); });
  // A clock: "start" sets it going, and every tick asks for the next.
  reg.define("rt/clock")
      .init([](const Value&) {
        return edn::map({{kw("ticks"), 0}, {kw("incs"), 0}, {kw("running"), false}});
      })
      .render([](const Self& s) { return html::p("ticks: ", s[":ticks"], " incs: ", s[":incs"]); })
      .on("start",
          [](Self& s) {
            s.set("running", true);
            s.after(std::chrono::milliseconds(2), "tick");
          })
      .on("tick",
          [](Self& s) {
            s.set("ticks", s[":ticks"].as_int() + 1);
            s.after(std::chrono::milliseconds(2), "tick");
          })
      .on("inc", [](Self& s) { s.set("incs", s[":incs"].as_int() + 1); });
  reg.define("rt/wakey")
      .render([](const Self& s) { return html::p("wakeups: ", s[":wakeups"]); })
      .wakeup([journal](Self& s) {
        journal->add("wakeup");
        s.set("wakeups", s[":wakeups"].is_nil() ? 1 : s[":wakeups"].as_int() + 1);
      })
      .on("noop", [](Self&) {});
  // A clock its wakeup sets going, each wakeup a new one (its ticks carry
  // its number); "open" calls a dialog (a ticker) over it.
  auto clocks = std::make_shared<std::atomic<int>>(0);
  reg.define("rt/wake-clock")
      .init([](const Value&) {
        return edn::map({{kw("ticks"), 0}, {kw("incs"), 0}});
      })
      .render([](const Self& s) { return html::p("ticks: ", s[":ticks"]); })
      .wakeup([clocks](Self& s) { s.after(std::chrono::milliseconds(2), "tick", ++*clocks); })
      .on("tick",
          [journal](Self& s, const Event& e) {
            journal->add("clock " + edn::write(e.payload) + " ticked");
            s.set("ticks", s[":ticks"].as_int() + 1);
            s.after(std::chrono::milliseconds(2), "tick", e.payload);
          })
      .on("inc", [](Self& s) { s.set("incs", s[":incs"].as_int() + 1); })
      .on("open",
          [](Self& s) {
            s.call(embed("rt/ticker", edn::map({{kw("label"), "dialog"}})), "closed");
          })
      .on("open-expiring", [](Self& s) { s.call(embed("rt/expiring"), "closed"); })
      .resume("closed", [](Self&, const Value&) {});
  // A clock its start and its wakeup set going, as components.md advises
  // (its ticks carry the clock's number, journalled "start-clock N ticked").
  auto started = std::make_shared<std::atomic<int>>(0);
  const auto set_going = [started](Self& s) {
    s.after(std::chrono::milliseconds(2), "tick", ++*started);
  };
  reg.define("rt/start-clock")
      .init([](const Value&) {
        return edn::map({{kw("ticks"), 0}, {kw("incs"), 0}});
      })
      .render([](const Self& s) { return html::p("ticks: ", s[":ticks"]); })
      .start(set_going)
      .wakeup(set_going)
      .on("tick",
          [journal](Self& s, const Event& e) {
            journal->add("start-clock " + edn::write(e.payload) + " ticked");
            s.set("ticks", s[":ticks"].as_int() + 1);
            s.after(std::chrono::milliseconds(2), "tick", e.payload);
          })
      .on("inc", [](Self& s) { s.set("incs", s[":incs"].as_int() + 1); });
  // A dialog that answers itself when it wakes a second time (an offer that
  // expired while the page was away, say).
  reg.define("rt/expiring")
      .init([](const Value&) {
        return edn::map({{kw("incs"), 0}, {kw("woken"), false}});
      })
      .render([](const Self& s) { return html::p("offer, incs: ", s[":incs"]); })
      .wakeup([](Self& s) {
        if (s[":woken"].as_bool()) s.answer("expired");
        s.set("woken", true);
      })
      .on("inc", [](Self& s) { s.set("incs", s[":incs"].as_int() + 1); });
  reg.define("rt/sleepy")  // a wakeup that always fails
      .render([](const Self&) { return html::p("sleepy"); })
      .wakeup([journal](Self&) {
        journal->add("wakeup failed");
        throw std::runtime_error("the sleepy one will not wake");
      })
      .on("noop", [](Self&) {});
}

// After a back whose wakeup set clock `newest` going (its ticks journalled
// "<clock> <n> ticked"), journal entries from `at` on: waits until that
// clock ticked three times, and expects none of clocks 1 to newest - 1 to
// have ticked meanwhile (back cancelled them).
inline void expect_only_the_newest_clock(CountingStore& store, const Journal& journal,
                                         std::size_t at, const std::string& clock, int newest) {
  const auto ticks = [&](int n) {
    const std::vector<std::string> all = journal.entries();
    return std::count(all.begin() + static_cast<std::ptrdiff_t>(at), all.end(),
                      clock + " " + std::to_string(n) + " ticked");
  };
  ASSERT_TRUE(store.wait_until([&] { return ticks(newest) >= 3; }));
  for (int n = 1; n < newest; ++n) EXPECT_EQ(ticks(n), 0) << clock << " " << n << " still ticks";
}

// Everything the runtime tests use, in one registry.
struct Rig {
  std::shared_ptr<Journal> journal = std::make_shared<Journal>();
  std::shared_ptr<SeqWatch> watch = std::make_shared<SeqWatch>();
  std::shared_ptr<const Registry> registry = make();

 private:
  std::shared_ptr<const Registry> make() {
    auto reg = std::make_shared<Registry>(doc_registry());
    define_probe(*reg, journal);
    define_runtime_components(*reg, journal, watch);
    return reg;
  }
};

inline RuntimeOptions options_with(std::shared_ptr<ConversationStore> store) {
  RuntimeOptions o;
  o.store = std::move(store);
  return o;
}

// The entries of `all` that start with `prefix`, in order.
inline std::vector<std::string> starting_with(const std::vector<std::string>& all,
                                              std::string_view prefix) {
  std::vector<std::string> out;
  for (const std::string& e : all)
    if (e.rfind(prefix, 0) == 0) out.push_back(e);
  return out;
}

}  // namespace stube::test
