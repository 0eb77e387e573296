// A test component that exercises every hook and effect on request: each
// event name asks for one effect, each hook writes to a Journal.
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "kernel/support.hpp"
#include "stube/html.hpp"

namespace stube::test {

// Registers :t/probe (and its helpers :t/broken-start, :t/broken-stop) in
// `reg`; hooks write "<hook> <label>" to `journal`. Args: {:label "…"}.
inline void define_probe(Registry& reg, std::shared_ptr<Journal> journal) {
  using namespace std::chrono_literals;
  auto label = [](const Self& s) {
    return std::string(s[":label"].is_nil() ? "" : s[":label"].as_string());
  };
  auto bump = [](Self& s, std::int64_t by = 1) { s.set("n", s[":n"].as_int() + by); };
  reg.define("t/probe")
      .init([](const Value& args) {
        Value state = edn::map({{kw("n"), 0}, {kw("label"), "root"}});
        if (args.is(edn::Kind::Map))
          for (const edn::MapEntry& e : args.entries()) state = state.assoc(e.key, e.val);
        return state;
      })
      .render([](const Self& s) {
        using namespace html;
        if (s[":label"] == Value("fail-render")) throw std::runtime_error("render failed");
        return div(p(cls("n"), "n=", s[":n"]), p(cls("label"), s[":label"]),
                   button(s.on("click", "inc"), "+"));
      })
      .start([journal, label](Self& s) { journal->add("start " + label(s)); })
      .stop([journal, label](Self& s) { journal->add("stop " + label(s)); })
      .wakeup([journal, label](Self& s) {
        journal->add("wakeup " + label(s));
        s.set("woken", s[":woken"].is_nil() ? 1 : s[":woken"].as_int() + 1);
      })
      .on("inc", [bump](Self& s) { bump(s); })
      .on("noop", [](Self&) {})
      .on("patch",
          [bump](Self& s) {
            bump(s);
            s.patch(html::div(html::id("side"), "patched"));
          })
      .on("call",
          [](Self& s, const Event& e) {
            const Value child_label = e.payload.is_nil() ? Value("child") : e.payload;
            s.call(embed("t/probe", edn::map({{kw("label"), child_label}})), "on-child");
          })
      .on("answer", [](Self& s, const Event& e) { s.answer(e.payload); })
      .on("replace",
          [](Self& s) {
            s.replace(embed("t/probe", edn::map({{kw("label"), "replacement"}})));
          })
      .on("end-then-call",
          [](Self& s, const Event& e) {
            s.end(e.payload);
            s.call(embed("t/probe", edn::map({{kw("label"), "never"}})), "on-child");
          })
      .on("back", [](Self& s) { s.back(); })
      .on("after", [](Self& s, const Event& e) { s.after(25ms, "tick", e.payload); })
      .on("boom",
          [bump](Self& s) {
            bump(s, 1000);
            s.call(embed("t/probe", edn::map({{kw("label"), "half"}})), "on-child");
            throw std::runtime_error("boom <b>&</b>");
          })
      .on("boom-int",
          [bump](Self& s) {
            bump(s, 1000);
            throw 42;  // not a std::exception
          })
      .on("clobber",
          [](Self& s) {
            s.set("instance/type", kw("t/evil"));
            s.set("instance/id", "ix-evil");
            s.set("instance/parent", "ix-evil-parent");
            s.set("instance/resume", "evil");
            s.set("n", 7);
          })
      .on("replace-state",
          [](Self& s) {
            s.set_state(edn::map({{kw("n"), 42}, {kw("instance/type"), kw("t/x")}}));
          })
      .on("call-broken", [](Self& s) { s.call(embed("t/broken-start"), "on-child"); })
      .on("call-unknown", [](Self& s) { s.call(embed("t/nope"), "on-child"); })
      .on("call-no-resume", [](Self& s) { s.call(embed("t/probe"), "missing-key"); })
      .on("answer-twice",
          [](Self& s) {
            s.answer(1);
            s.answer(2);
          })
      .on("answer-then-call",
          [](Self& s) {
            s.answer(1);
            s.call(embed("t/probe", edn::map({{kw("label"), "orphan"}})), "on-child");
          })
      .on("render-fails", [](Self& s) { s.set("label", "fail-render"); })
      .on("echo",
          [](Self& s, const Event& e) {
            s.set("payload", e.payload);
            s.set("signals", e.signals);
          })
      .on("stop-break", [](Self& s) { s.call(embed("t/broken-stop"), "on-child"); })
      .resume("on-child", [journal, label](Self& s, const Value& answer) {
        journal->add("resume " + label(s) + " " + edn::write(answer));
        s.set("got", answer);
      });

  reg.define("t/broken-start").start([](Self&) { throw std::runtime_error("start failed"); });
  reg.define("t/broken-stop")
      .render([](const Self&) { return html::p("breaks on stop"); })
      .on("answer", [](Self& s) { s.answer(1); })
      .stop([journal](Self&) {
        journal->add("stop broken");
        throw std::runtime_error("stop failed");
      });
}

}  // namespace stube::test
