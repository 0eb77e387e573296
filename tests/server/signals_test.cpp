// The browser's signals: JSON -> EDN (and back), the per-instance signal
// namespace the wire renders, the signals sent back after a change.
#include "server/signals.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>

#include "common/log_capture.hpp"
#include "kernel/wire.hpp"
#include "server/http_util.hpp"
#include "stube/kernel.hpp"
#include "stube/state.hpp"

namespace stube::server {
namespace {

using namespace edn::literals;

TEST(Signals, JsonObjectsBecomeMapsWithKeywordKeys) {
  const edn::Value v = signals_from_json(
      R"({"ix-1": {"answer": "Ann", "n": 3, "x": 1.5, "ok": true, "none": null, "list": [1, "a", {"k": -2}]}})");
  const edn::Value& s = v.get("ix-1"_kw);
  EXPECT_EQ(s.get("answer"_kw), edn::Value("Ann"));
  EXPECT_EQ(s.get("n"_kw), edn::Value(3));
  EXPECT_EQ(s.get("x"_kw), edn::Value(1.5));
  EXPECT_EQ(s.get("ok"_kw), edn::Value(true));
  EXPECT_TRUE(s.contains("none"_kw));
  EXPECT_TRUE(s.get("none"_kw).is_nil());
  EXPECT_EQ(s.get("list"_kw), edn::read("[1 \"a\" {:k -2}]"));
}

TEST(Signals, NumbersKeepTheirKind) {
  const edn::Value v = signals_from_json(
      R"({"a": 9223372036854775807, "b": 18446744073709551615, "c": 1e3, "d": -0})");
  EXPECT_EQ(v.get("a"_kw), edn::Value(9223372036854775807LL));
  EXPECT_EQ(v.get("b"_kw), edn::Value::big_int("18446744073709551615"));
  EXPECT_EQ(v.get("c"_kw), edn::Value(1000.0));
  EXPECT_EQ(v.get("d"_kw), edn::Value(0));
}

// Past 64 bits (which nlohmann reports as a float) integers stay exact.
TEST(Signals, IntegersBeyond64BitsBecomeBigIntegers) {
  const edn::Value v = signals_from_json(
      R"({"a": 18446744073709551616, "b": -9223372036854775809, "c": 123456789012345678901234567890,)"
      R"( "d": 1.5e30, "e": 18446744073709551616.0})");
  EXPECT_EQ(v.get("a"_kw), edn::Value::big_int("18446744073709551616"));
  EXPECT_EQ(v.get("b"_kw), edn::Value::big_int("-9223372036854775809"));
  EXPECT_EQ(v.get("c"_kw), edn::Value::big_int("123456789012345678901234567890"));
  EXPECT_EQ(v.get("d"_kw), edn::Value(1.5e30));
  EXPECT_EQ(v.get("e"_kw), edn::Value(18446744073709551616.0));
}

TEST(Signals, KeysThatAreNoKeywordsStayStrings) {
  const edn::Value v = signals_from_json(R"({"two words": 1, "": 2})");
  EXPECT_EQ(v.get(edn::Value("two words")), edn::Value(1));
  EXPECT_EQ(v.get(edn::Value("")), edn::Value(2));
}

// "a" and ":a" used to fold into the one keyword :a, one value lost.
TEST(Signals, AKeyStartingWithAColonStaysAStringBesideTheKeyword) {
  const edn::Value v =
      signals_from_json(R"({"a": 1, ":a": 2, "ix-1": {"name": "x", ":name": "y"}})");
  EXPECT_EQ(v.size(), 3u) << edn::write(v);
  EXPECT_EQ(v.get("a"_kw), edn::Value(1));
  EXPECT_EQ(v.get(edn::Value(":a")), edn::Value(2));
  EXPECT_EQ(v.get("ix-1"_kw).size(), 2u) << edn::write(v);
  EXPECT_EQ(to_json(v.dissoc("ix-1"_kw)), R"({":a":2,"a":1})");
}

TEST(Signals, EmptyBodyIsNoSignals) {
  EXPECT_TRUE(signals_from_json("").is_nil());
  EXPECT_TRUE(signals_from_json(" \r\n").is_nil());
  EXPECT_EQ(signals_from_json("{}"), edn::map({}));
}

// What signals_from_json refuses `json` with, or "no error".
std::string refusal_of(std::string_view json) {
  try {
    signals_from_json(json);
  } catch (const BadRequest& e) {
    return e.what();
  }
  return "no error";
}

TEST(Signals, MalformedJsonIsABadRequestNamingTheProblem) {
  EXPECT_NE(refusal_of("{\"a\": }").find("invalid JSON signals: parse error at line 1, column 7"),
            std::string::npos)
      << refusal_of("{\"a\": }");
  EXPECT_NE(refusal_of("[1]").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(refusal_of("42").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(refusal_of("{} {}").find("invalid JSON"), std::string::npos);
  EXPECT_NE(refusal_of("{\"a\": \"\xff\"}").find("invalid JSON"), std::string::npos);
  EXPECT_NE(refusal_of(std::string(100, '[') + std::string(100, ']')).find("must be a JSON object"),
            std::string::npos);
  std::string deep = "{\"a\":";
  for (int i = 0; i < 100; ++i) deep += "{\"a\":";
  deep += "1" + std::string(101, '}');
  EXPECT_NE(refusal_of(deep).find("nesting deeper than 64"), std::string::npos) << refusal_of(deep);
}

// The parse error quotes what it last read; a byte that is not printable
// ASCII is written \xNN, so that the message (sent in a UTF-8 response) is
// valid UTF-8 without control characters.
TEST(Signals, AParseErrorQuotesNoRawBytes) {
  for (const std::string& json : {std::string("{\"a\": \"\xff\"}"), std::string("{\"a\": \xc3}")}) {
    const std::string message = refusal_of(json);
    ASSERT_NE(message.find("invalid JSON"), std::string::npos) << message;
    for (const char c : message)
      EXPECT_TRUE(c >= 0x20 && c < 0x7f)
          << "byte " << int(static_cast<unsigned char>(c)) << " in: " << message;
    EXPECT_NE(message.find("\\x"), std::string::npos) << message;
  }
}

// No form field holds a NUL, and the page would show one as U+FFFD: kept,
// the state would differ from what the user sees and saves back.
TEST(Signals, ANulCharacterIsRefused) {
  for (const std::string json : {"{\"a\": \"x\\u0000y\"}", "{\"a\\u0000\": 1}"}) {
    const std::string message = refusal_of(json);
    EXPECT_NE(message.find("NUL character"), std::string::npos) << json << ": " << message;
  }
  EXPECT_EQ(signals_from_json("{\"a\": \"x\\u0001y\"}").get("a"_kw), edn::Value("x\x01y"));
}

TEST(Signals, HostileDepthDoesNotOverflowTheStack) {
  const std::string deep = "{\"a\":" + std::string(1000000, '[') + std::string(1000000, ']') + "}";
  EXPECT_THROW(signals_from_json(deep), BadRequest);
}

TEST(Signals, InstanceSignalsAreTheObjectUnderItsNamespace) {
  const std::string iid = "ix-a__b_c";
  const std::string ns = signal_namespace(iid);
  const edn::Value all =
      signals_from_json("{\"" + ns + "\": {\"answer\": \"x\"}, \"ix-other\": {\"answer\": \"y\"}}");
  EXPECT_EQ(instance_signals(all, iid), edn::map({{"answer"_kw, "x"}}));
  EXPECT_TRUE(instance_signals(all, "ix-missing").is_nil());
  EXPECT_TRUE(instance_signals(edn::Value(), iid).is_nil());
}

TEST(SignalNamespace, AvoidsDatastarsReservedShapes) {
  EXPECT_EQ(signal_namespace("ix-abc"), "ix-abc");
  EXPECT_EQ(signal_namespace("ix-a__b"), "ix-a_0_0b");
  EXPECT_EQ(signal_namespace("ix_0"), "ix_00");
}

RC_GTEST_PROP(SignalNamespace, NeverHasDoubleUnderscoresAndIsInjective, ()) {
  const auto id_char = rc::gen::element('a', 'Z', '0', '_', '-', '_');
  const auto ids = *rc::gen::container<std::set<std::string>>(
      rc::gen::nonEmpty(rc::gen::container<std::string>(id_char)));
  std::set<std::string> namespaces;
  for (const std::string& id : ids) {
    const std::string ns = signal_namespace(id);
    RC_ASSERT(ns.find("__") == std::string::npos);
    namespaces.insert(ns);
  }
  RC_ASSERT(namespaces.size() == ids.size());
}

TEST(Wire, BindUsesTheInstanceNamespaceAndOnPostsOnce) {
  const Wire wire{"/app", "cv-1"};
  const Self self("ix-a__b", edn::map({}), &wire);
  const html::Attr bind = self.bind("new_text");
  EXPECT_EQ(bind.name(), "data-bind");
  EXPECT_EQ(bind.value(), "ix-a_0_0b.new_text");
  EXPECT_THROW(self.bind("_local"), std::invalid_argument);
  EXPECT_THROW(self.bind("a__b"), std::invalid_argument);
  const html::Attr on = self.on("click", "pick", edn::read("{:i 1, :s \"it's\"}"));
  EXPECT_EQ(on.name(), "data-on-click");
  EXPECT_EQ(on.value().find("@post('/app/event/cv-1/ix-a__b/pick?p="), 0u) << on.value();
  EXPECT_EQ(on.value().find('\'', 8),
            on.value().find("', {retryMaxCount: 0, openWhenHidden: true})"))
      << "payload must not close the string";
  EXPECT_EQ(self.on("submit__prevent", "add").name(), "data-on-submit__prevent");
  EXPECT_THROW(self.on("click'", "x"), std::invalid_argument);
  EXPECT_THROW(self.on("click", "x/y"), std::invalid_argument);
}

TEST(Signals, ToJson) {
  EXPECT_EQ(to_json(edn::read("{:a [1 2.5 \"s\" nil true] :ns/k :ns/kw}")),
            R"({"a":[1,2.5,"s",null,true],"ns/k":"ns/kw"})");
  // Only a kept signal is merged key by key, where Datastar refuses "__":
  // what the page sent (here a namespace) converts as it is.
  EXPECT_EQ(to_json(edn::read("{:ix______-b {}}")), R"({"ix______-b":{}})");
  EXPECT_EQ(to_json(edn::read("#{1}")), "[1]");
  EXPECT_EQ(to_json(edn::read("#inst \"2024-01-02T03:04:05Z\"")).front(), '"');
  EXPECT_EQ(to_json(edn::Value("</script>\n\"")), R"("</script>\n\"")");
  // Big integers are numbers, as they came in, when the browser writes them
  // back in the same digits (below): up to 2^53, and past it those whose
  // shortest double digits are theirs (10^17, 2^54, 10^19).
  EXPECT_EQ(to_json(edn::read("[5N -7N 9007199254740992N -9007199254740992 100000000000000000 "
                              "18014398509481984 10000000000000000000N]")),
            "[5,-7,9007199254740992,-9007199254740992,100000000000000000,18014398509481984,"
            "10000000000000000000]");
  EXPECT_EQ(to_json(signals_from_json("{\"n\": 9007199254740992}")), R"({"n":9007199254740992})");
}

// The browser holds every number as a double: NaN and the infinities have no
// JSON (sent as null, they came back as nil, and every later event of a
// typed double field was a 400), and an integer a double rounds came back
// as another number (INT64_MAX as 2^63, past the field's range: a 400 on
// every event), as did one it holds exactly, in other digits (2^60,
// 1152921504606846976, comes back 1152921504606847000; INT64_MIN past the
// range). Such a number is not sent, naming it.
TEST(Signals, ANumberThePageWouldNotSendBackAsItWasIsAnError) {
  for (const char* text :
       {"##Inf", "##-Inf", "##NaN", "9007199254740993", "-9007199254740993", "9223372036854775807",
        "-9223372036854775808", "1152921504606846976", "9223372036854775808N",
        "18446744073709551615N", "123456789012345678901234N", "[1 {:a ##NaN}]"}) {
    try {
      const std::string json = to_json(edn::read(text));
      ADD_FAILURE() << text << " became " << json;
    } catch (const edn::Error& e) {
      EXPECT_NE(std::string_view(e.what()).find("cannot reach the page"), std::string_view::npos)
          << e.what();
    }
  }
}

// JSON keys are text: :a, "a" and the symbol a would all be "a", and one
// would silently overwrite another.
TEST(Signals, KeysThatAreTheSameTextInJsonAreAnErrorNamingThem) {
  for (const char* text : {"{a 3, :a 1}", "{:a 1, \"a\" 2}", "{1 \"int\", \"1\" \"str\"}"}) {
    try {
      to_json(edn::read(text));
      ADD_FAILURE() << text << " became JSON";
    } catch (const edn::Error& e) {
      EXPECT_NE(std::string_view(e.what()).find("two keys that are both"), std::string_view::npos)
          << e.what();
    }
  }
}

struct Prefs {
  std::map<std::string, bool> checked;
  std::string name;
};
STUBE_STATE(Prefs, checked, name)

// A kept map field goes to the browser as a JSON object and comes back
// with keyword keys (strings where a key is no keyword): it still fits.
TEST(Signals, AKeptMapFieldComesBackAsItWent) {
  const Prefs prefs{{{"a", true}, {"ns/b", false}, {"not a keyword", true}}, "x"};
  const edn::Value back = signals_from_json(to_json(to_edn(prefs)));
  EXPECT_TRUE(back.get("checked"_kw).find("a"_kw)) << edn::write(back);
  EXPECT_EQ(from_edn<Prefs>(back).checked, prefs.checked);
}

TEST(Signals, KeptSignalsOfEveryLiveInstance) {
  Registry reg;
  reg.define("test/form")
      .init([](const edn::Value&) {
        return edn::map({{"name"_kw, "Ann"}, {"other"_kw, 1}});
      })
      .keep({"name", "missing"})
      .start([](Self& s) { s.call(prompt("Q?", "dflt"), "r"); })
      .resume("r", [](Self&, const edn::Value&) {});
  reg.define("test/plain").init([](const edn::Value&) { return edn::map({{"x"_kw, 1}}); });
  const Step step = start_conversation(reg, "test/form", {}, {});
  const edn::Value& stack = step.conv.get("conv/stack"_kw);
  ASSERT_EQ(stack.size(), 2u);
  const std::string form(stack.at(0).as_string());
  const std::string dialog(stack.at(1).as_string());
  const std::string json = kept_signals_json(reg, step.conv);
  const edn::Value back = signals_from_json(json);
  EXPECT_EQ(back.size(), 2u) << json;
  EXPECT_EQ(instance_signals(back, form), edn::map({{"name"_kw, "Ann"}})) << json;
  EXPECT_EQ(instance_signals(back, dialog), edn::map({{"answer"_kw, "dflt"}})) << json;
  EXPECT_EQ(kept_signals_json(reg, start_conversation(reg, "test/plain", {}, {}).conv), "");
}

// `conv` with field `key` of instance `iid` set to `value`, as a handler would.
edn::Value with_field(const edn::Value& conv, std::string_view iid, const edn::Value& key,
                      const edn::Value& value) {
  const edn::Value instances = conv.get("conv/instances"_kw);
  const edn::Value id{std::string(iid)};
  return conv.assoc("conv/instances"_kw, instances.assoc(id, instances.get(id).assoc(key, value)));
}

// "test/form" keeps :name ("Ann") and starts with a prompt (which keeps
// :answer, "dflt") on top of it: the conversation and the two iids.
struct FormUnderDialog {
  Step step;
  std::string form, dialog;
};
FormUnderDialog form_under_dialog(Registry& reg) {
  reg.define("test/form")
      .init([](const edn::Value&) {
        return edn::map({{"name"_kw, "Ann"}});
      })
      .keep({"name"})
      .start([](Self& s) { s.call(prompt("Q?", "dflt"), "r"); })
      .resume("r", [](Self&, const edn::Value&) {});
  Step step = start_conversation(reg, "test/form", {}, {});
  const edn::Value& stack = step.conv.get("conv/stack"_kw);
  std::string form(stack.at(0).as_string());
  std::string dialog(stack.at(1).as_string());
  return {std::move(step), std::move(form), std::move(dialog)};
}

// The answer to an event leaves out the addressed instance's fields that the
// page sent and the event left alone: text typed into them while the event
// was under way stays. Everything else goes, as kept_signals_json has it: a
// field the page never held, one a handler changed, other instances' (a
// timer may have changed them since the page last heard).
TEST(Signals, AnAnswerLeavesOutTheAddressedFieldsThePageHolds) {
  Registry reg;
  const auto [step, form, dialog] = form_under_dialog(reg);
  const auto json = [](std::string_view text) { return signals_from_json(text); };
  const std::string form_ns = signal_namespace(form);
  const std::string dialog_ns = signal_namespace(dialog);
  const edn::Value sent = json(R"({")" + form_ns + R"(": {"name": "Annie"}, ")" + dialog_ns +
                               R"(": {"answer": "typed"}})");
  // The event went to the dialog, whose state took what was sent.
  const edn::Value applied = with_field(step.conv, dialog, "answer"_kw, "typed");
  EXPECT_EQ(json(answer_signals_json(reg, applied, dialog, sent)),
            json(R"({")" + form_ns + R"(": {"name": "Ann"}})"));
  // The handler cleared the dialog's field: that goes too.
  const edn::Value cleared = with_field(step.conv, dialog, "answer"_kw, "");
  EXPECT_EQ(
      json(answer_signals_json(reg, cleared, dialog, sent)),
      json(R"({")" + form_ns + R"(": {"name": "Ann"}, ")" + dialog_ns + R"(": {"answer": ""}})"));
  // A field the page did not send (one it never held) goes.
  EXPECT_EQ(
      json(answer_signals_json(reg, applied, dialog, json(R"({")" + dialog_ns + R"(": {}})"))),
      json(kept_signals_json(reg, applied)));
  // The event went to the form: the dialog's field goes, the form's not.
  const edn::Value renamed = with_field(applied, form, "name"_kw, "Annie");
  EXPECT_EQ(json(answer_signals_json(reg, renamed, form, sent)),
            json(R"({")" + dialog_ns + R"(": {"answer": "typed"}})"));
  EXPECT_EQ(answer_signals_json(reg, renamed, dialog,
                                json(R"({")" + form_ns + R"(": {"name": "Annie"}, ")" + dialog_ns +
                                     R"(": {"answer": "typed"}})")),
            R"({")" + form_ns + R"(":{"name":"Annie"}})");
  // A back (no instance addressed): all of them.
  EXPECT_EQ(answer_signals_json(reg, renamed, {}, sent), kept_signals_json(reg, renamed));
}

// Datastar merges a map into whatever the page holds at its path: over a
// plain value (a kept optional that was empty: null) the map's keys went
// onto that value's signal and the value stayed null, so the next event
// sent null back and undid the handler's write. Such paths are named for
// the page to remove first; a map over a map merges as usual, key by key.
TEST(Signals, AMapOverAPlainValueIsNamedForRemovalFirst) {
  Registry reg;
  reg.define("test/pick").keep({"pick", "tags", "name"});
  const Step step = start_conversation(reg, "test/pick", {}, {});
  const std::string iid(top_instance(step.conv));
  const std::string ns = signal_namespace(iid);
  const edn::Value now = with_field(
      with_field(with_field(step.conv, iid, "pick"_kw, edn::read(R"({:label "chosen"})")), iid,
                 "tags"_kw, edn::read(R"({"a" {:on true} "b" {:on false} "New York" {:on 1}})")),
      iid, "name"_kw, edn::read("{:first \"Ann\"}"));
  // The page sent: pick null, tags a map whose "a" and "New York" (a key no
  // keyword can be) are text, name a map.
  const edn::Value sent =
      signals_from_json(R"({")" + ns +
                        R"(": {"pick": null, "tags": {"a": "x", "b": {}, "New York": "x"},
                               "name": {"first": "A"}}})");
  const std::vector<std::string> expected{ns + ".pick", ns + ".tags.New York", ns + ".tags.a"};
  std::vector<std::string> reshaped;
  answer_signals_json(reg, now, "", sent, &reshaped);
  EXPECT_EQ(reshaped, expected);
  // A step elsewhere compares with the state before it.
  const edn::Value before = with_field(with_field(step.conv, iid, "pick"_kw, {}), iid, "tags"_kw,
                                       edn::read(R"({"a" [1] "New York" "x"})"));
  reshaped.clear();
  changed_signals_json(reg, before, now, &reshaped);
  EXPECT_EQ(reshaped, expected);
  reshaped.clear();
  changed_signals_json(reg, now, now, &reshaped);
  EXPECT_TRUE(reshaped.empty());
  // Datastar splits a path at its dots: under a key with one ("report.pdf"),
  // the map holding it goes as a whole.
  const edn::Value dotted =
      with_field(now, iid, "tags"_kw, edn::read(R"({"a" {:on true} "report.pdf" {:on 1}})"));
  reshaped.clear();
  answer_signals_json(reg, dotted, "", sent, &reshaped);
  EXPECT_EQ(reshaped, (std::vector<std::string>{ns + ".pick", ns + ".tags.a"}));
  const edn::Value sent_dotted =
      signals_from_json(R"({")" + ns + R"(": {"tags": {"report.pdf": null}}})");
  reshaped.clear();
  answer_signals_json(reg, dotted, "", sent_dotted, &reshaped);
  EXPECT_EQ(reshaped, (std::vector<std::string>{ns + ".tags"}));
}

// What a step the page did not ask for (a timer's) sends: the kept signals
// it changed, and only those (text typed into the others stays).
TEST(Signals, AStepElsewhereSendsTheKeptSignalsItChanged) {
  Registry reg;
  const auto [step, form, dialog] = form_under_dialog(reg);
  const edn::Value& before = step.conv;
  EXPECT_EQ(changed_signals_json(reg, before, before), "");
  EXPECT_EQ(changed_signals_json(reg, before, with_field(before, form, "ticks"_kw, 1)), "")
      << "a field that is not kept";
  // The form's name changed, the dialog's answer did not: only the name.
  const edn::Value renamed = with_field(before, form, "name"_kw, "Bo");
  EXPECT_EQ(changed_signals_json(reg, before, renamed),
            R"({")" + signal_namespace(form) + R"(":{"name":"Bo"}})");
  // An instance new since (the dialog, to a conversation without it): all its kept signals.
  const edn::Value without_dialog =
      before.assoc("conv/instances"_kw, before.get("conv/instances"_kw).dissoc(edn::Value(dialog)));
  EXPECT_EQ(changed_signals_json(reg, without_dialog, before),
            R"({")" + signal_namespace(dialog) + R"(":{"answer":"dflt"}})");
}

// A restored record may hold junk next to its instances (here a vector under
// an instance id): it used to throw out of every event's answer (a 500 after
// the event was applied and saved). The real instances' signals still go.
TEST(Signals, JunkAmongTheInstancesIsPassedOver) {
  Registry reg;
  reg.define("test/kept")
      .init([](const edn::Value&) {
        return edn::map({{"name"_kw, "Ann"}});
      })
      .keep({"name"});
  const Step step = start_conversation(reg, "test/kept", {}, {});
  const edn::Value instances = step.conv.get("conv/instances"_kw);
  const edn::Value kept = edn::map({{"instance/type"_kw, "test/kept"_kw}, {"name"_kw, "Bo"}});
  const edn::Value junk = step.conv.assoc(
      "conv/instances"_kw, instances.assoc(edn::Value("ix-junk"), edn::read("[1 2 3]"))
                               .assoc(edn::read(":not-an-id"), kept)
                               .assoc(edn::Value(std::string("ix-\0", 4)), kept)
                               .assoc(edn::Value("ix with spaces"), kept));
  const std::string json = kept_signals_json(reg, junk);
  const edn::Value back = signals_from_json(json);
  EXPECT_EQ(back.size(), 1u) << json;
  EXPECT_EQ(instance_signals(back, std::string(top_instance(step.conv))),
            edn::map({{"name"_kw, "Ann"}}))
      << json;
}

// A kept value JSON cannot carry is found only after the event was applied
// and saved: it used to throw out of the event's answer (a 500 for every
// event after). The other signals still go; the log names the one left out.
TEST(Signals, AKeptSignalJsonCannotCarryIsLeftOutAndLogged) {
  Registry reg;
  reg.define("test/clash")
      .init([](const edn::Value&) {
        return edn::map({{"name"_kw, "Ann"}, {"f"_kw, edn::read(R"({:a 1, "a" 2})")}});
      })
      .keep({"name", "f"});
  const Step step = start_conversation(reg, "test/clash", {}, {});
  test::LogCapture logs;
  const std::string json = kept_signals_json(reg, step.conv);
  const edn::Value back = signals_from_json(json);
  const std::string iid(top_instance(step.conv));
  EXPECT_EQ(instance_signals(back, iid), edn::map({{"name"_kw, "Ann"}})) << json;
  ASSERT_EQ(logs.at(log::Level::error).size(), 1u);
  const std::string message = logs.at(log::Level::error).front();
  EXPECT_NE(message.find("kept signal 'f' not sent"), std::string::npos) << message;
  EXPECT_NE(message.find(iid), std::string::npos) << message;
}

// A NUL in a kept string (a hand-edited or damaged record, or a component's
// own doing) was sent as \u0000, which signals_from_json refuses: every
// later event of the page was a 400. It is left out and logged instead.
TEST(Signals, AKeptSignalWithANulIsLeftOutAndLogged) {
  Registry reg;
  const std::string nul("a\0b", 3);
  reg.define("test/nul")
      .init([&](const edn::Value&) {
        return edn::map(
            {{"name"_kw, "Ann"}, {"text"_kw, nul}, {"tags"_kw, edn::map({{edn::Value(nul), 1}})}});
      })
      .keep({"name", "text", "tags"});
  const Step step = start_conversation(reg, "test/nul", {}, {});
  test::LogCapture logs;
  const std::string json = kept_signals_json(reg, step.conv);
  const edn::Value back = signals_from_json(json);  // throws if a NUL went out
  const std::string iid(top_instance(step.conv));
  EXPECT_EQ(instance_signals(back, iid), edn::map({{"name"_kw, "Ann"}})) << json;
  const std::vector<std::string> errors = logs.at(log::Level::error);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("kept signal 'text' not sent"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("a string holds a NUL"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("kept signal 'tags' not sent"), std::string::npos) << errors[1];
  EXPECT_NE(errors[1].find("a map key holds a NUL"), std::string::npos) << errors[1];
}

// Datastar merges a kept map key by key and throws on a key with "__" (its
// modifier separator): the rest of the merge was lost, and the page never
// held that key. Such a map is left out and logged; the others go.
TEST(Signals, AKeptMapWithADoubleUnderscoreKeyIsLeftOutAndLogged) {
  Registry reg;
  reg.define("test/map")
      .init([](const edn::Value&) {
        // In an array a map is stored whole, its keys unchecked: it goes.
        const edn::Value row = edn::map({{edn::Value("a__b"), 3}});
        return edn::map({{"ok"_kw, edn::map({{edn::Value("a_b"), 1}})},
                         {"bad"_kw, edn::map({{edn::Value("x__y"), 2}})},
                         {"rows"_kw, edn::vec({row})}});
      })
      .keep({"ok", "bad", "rows"});
  const Step step = start_conversation(reg, "test/map", {}, {});
  test::LogCapture logs;
  const edn::Value back = signals_from_json(kept_signals_json(reg, step.conv));
  const std::string iid(top_instance(step.conv));
  EXPECT_EQ(instance_signals(back, iid),
            edn::map({{"ok"_kw, edn::map({{"a_b"_kw, 1}})},
                      {"rows"_kw, edn::vec({edn::map({{"a__b"_kw, 3}})})}}));
  const std::vector<std::string> errors = logs.at(log::Level::error);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("kept signal 'bad' not sent"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("\"x__y\" holds \"__\""), std::string::npos) << errors[0];
  // A step elsewhere that left it alone does not convert it again (a ticking
  // clock would log it every tick).
  EXPECT_EQ(changed_signals_json(reg, step.conv, step.conv), "");
  EXPECT_EQ(logs.at(log::Level::error).size(), 1u);
}

// Datastar builds a regular expression of every signal path, unescaped: a
// kept map key "c++" would break every event attribute of the page. Such a
// map is not sent; in a vector it is. Keys such as an e-mail address, a file
// name or "_id" are fine.
TEST(Signals, AKeptMapWithAKeyThatIsNoSignalNameIsLeftOutAndLogged) {
  Registry reg;
  reg.define("test/tags")
      .init([](const edn::Value&) {
        const edn::Value row = edn::map({{edn::Value("c++"), true}});
        return edn::map({{"plain"_kw, edn::map({{edn::Value("bob@example.com"), true},
                                                {edn::Value("report.pdf"), true},
                                                {edn::Value("_id"), true}})},
                         {"regex"_kw, edn::map({{edn::Value("c++"), true}})},
                         {"group"_kw, edn::map({{edn::Value("(a)"), 1}})},
                         {"rows"_kw, edn::vec({row})}});
      })
      .keep({"plain", "regex", "group", "rows"});
  const Step step = start_conversation(reg, "test/tags", {}, {});
  test::LogCapture logs;
  const edn::Value back = signals_from_json(kept_signals_json(reg, step.conv));
  EXPECT_EQ(instance_signals(back, std::string(top_instance(step.conv))),
            edn::map({{"plain"_kw, edn::map({{edn::Value("bob@example.com"), true},
                                             {"report.pdf"_kw, true},
                                             {"_id"_kw, true}})},
                      {"rows"_kw, edn::vec({edn::map({{"c++"_kw, true}})})}}));
  const std::vector<std::string> errors = logs.at(log::Level::error);
  ASSERT_EQ(errors.size(), 2u);
  const auto logged = [&](std::string_view text) {
    return std::any_of(errors.begin(), errors.end(),
                       [&](const std::string& e) { return e.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(logged("kept signal 'regex' not sent")) << errors[0];
  EXPECT_TRUE(logged("\"c++\" holds one of")) << errors[0];
  EXPECT_TRUE(logged("\"(a)\" holds one of")) << errors[0];
}

// Datastar merges a map through `target[key] || {}`: under a key such as
// "constructor" that is what every object inherits, and the merge reached
// Object.prototype on the page (a map {"constructor" {"assign" 1}} broke
// every later click). Such a map is not sent; the same key with a plain
// value is, as is such a map in a vector (stored whole, not merged).
TEST(Signals, AKeptMapUnderAnInheritedNameIsLeftOutAndLogged) {
  Registry reg;
  reg.define("test/proto")
      .init([](const edn::Value&) {
        const edn::Value inner =
            edn::map({{edn::Value("prototype"), edn::map({{"polluted"_kw, 1}})}});
        return edn::map({{"tags"_kw, edn::map({{edn::Value("constructor"), inner}})},
                         {"labels"_kw, edn::map({{edn::Value("toString"), edn::map({})}})},
                         {"constructor"_kw, edn::map({{"assign"_kw, 1}})},
                         {"plain"_kw, edn::map({{edn::Value("constructor"), 1}})},
                         {"rows"_kw, edn::vec({edn::map({{edn::Value("constructor"), inner}})})}});
      })
      .keep({"tags", "labels", "constructor", "plain", "rows"});
  const Step step = start_conversation(reg, "test/proto", {}, {});
  test::LogCapture logs;
  const edn::Value back = signals_from_json(kept_signals_json(reg, step.conv));
  EXPECT_EQ(instance_signals(back, std::string(top_instance(step.conv))),
            edn::map({{"plain"_kw, edn::map({{"constructor"_kw, 1}})},
                      {"rows"_kw,
                       edn::vec({edn::map(
                           {{"constructor"_kw,
                             edn::map({{"prototype"_kw, edn::map({{"polluted"_kw, 1}})}})}})})}}));
  const std::vector<std::string> errors = logs.at(log::Level::error);
  ASSERT_EQ(errors.size(), 3u);
  for (const std::string& e : errors)
    EXPECT_NE(e.find("every object of the page inherits that name"), std::string::npos) << e;
}

// Datastar parses a merge-signals event as a JavaScript object literal, in
// which a "__proto__" key sets the object's prototype: in a map inside an
// array (stored whole, its keys otherwise unchecked) the entry vanished on
// the page, and the next event sent the map back without it. Such a signal
// is not sent and is logged; a merged map refuses the key for its "__".
TEST(Signals, AProtoKeyAnywhereInAKeptSignalIsLeftOutAndLogged) {
  Registry reg;
  reg.define("test/rows")
      .init([](const edn::Value&) {
        const edn::Value row = edn::map({{edn::Value("__proto__"), "x"}, {"v"_kw, "2"}});
        return edn::map({{"rows"_kw, edn::vec({row})},
                         {"nested"_kw, edn::vec({edn::vec({row})})},
                         {"fine"_kw, edn::vec({edn::map({{"v"_kw, "1"}})})}});
      })
      .keep({"rows", "nested", "fine"});
  const Step step = start_conversation(reg, "test/rows", {}, {});
  test::LogCapture logs;
  const edn::Value back = signals_from_json(kept_signals_json(reg, step.conv));
  EXPECT_EQ(instance_signals(back, std::string(top_instance(step.conv))),
            edn::map({{"fine"_kw, edn::vec({edn::map({{"v"_kw, "1"}})})}}));
  const std::vector<std::string> errors = logs.at(log::Level::error);
  ASSERT_EQ(errors.size(), 2u);
  for (const std::string& e : errors)
    EXPECT_NE(e.find("\"__proto__\" cannot reach the page"), std::string::npos) << e;
}

}  // namespace
}  // namespace stube::server
