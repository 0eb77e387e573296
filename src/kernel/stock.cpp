// The stock dialogs: confirm, prompt, choose, info (SPEC §4).
#include <span>
#include <string>
#include <vector>

#include "stube/component.hpp"

namespace stube {

using namespace edn::literals;
namespace h = html;

const edn::Value& cancel_value() {
  static const edn::Value kCancel = edn::Value::keyword("stube/cancel");
  return kCancel;
}

Embed confirm(std::string_view question) {
  return embed("stube/confirm", edn::map({{"question"_kw, edn::Value(question)}}));
}

Embed prompt(std::string_view question, std::string_view default_value) {
  return embed("stube/prompt", edn::map({{"question"_kw, edn::Value(question)},
                                         {"answer"_kw, edn::Value(default_value)}}));
}

Embed choose(std::string_view question, std::vector<edn::Value> options) {
  return embed("stube/choose", edn::map({{"question"_kw, edn::Value(question)},
                                         {"options"_kw, edn::vec(options)}}));
}

Embed info(std::string_view message) {
  return embed("stube/info", edn::map({{"message"_kw, edn::Value(message)}}));
}

namespace {

edn::Value args_map(const edn::Value& args) {
  return args.is(edn::Kind::Map) ? args : edn::map({});
}

// A button that only posts its event: type="button", so that a dialog
// inside an application's own form does not submit that form.
template <class Label>
h::Html plain_button(h::Attrs attrs, const Label& label) {
  attrs.push_back(h::attr("type", "button"));
  return h::button(std::move(attrs), label);
}

void define_confirm(Registry& reg) {
  reg.define("stube/confirm")
      .init(args_map)
      .render([](const Self& s) {
        return h::div(
            h::cls("stube-dialog stube-confirm"), h::p(h::cls("stube-question"), s[":question"]),
            plain_button({h::cls("stube-yes"), s.on("click", "yes")}, "Yes"),
            // The answer that changes nothing has the focus.
            plain_button({h::cls("stube-no"), s.on("click", "no"), h::flag("autofocus")}, "No"));
      })
      .on("yes", [](Self& s) { s.answer(true); })
      .on("no", [](Self& s) { s.answer(false); });
}

void define_prompt(Registry& reg) {
  reg.define("stube/prompt")
      .init(args_map)
      .keep({"answer"})
      .render([](const Self& s) {
        const edn::Value& answer = s[":answer"];
        // A form, so that Enter in the field answers. The label holds the
        // field, which it names (and a click on it focuses); no id needed.
        return h::form(
            h::cls("stube-dialog stube-prompt"), s.on("submit", "ok"),
            h::label(
                h::span(h::cls("stube-question"), s[":question"]),
                h::input(h::attr("type", "text"), h::cls("stube-input"), h::attr("name", "answer"),
                         h::attr("value", answer.is(edn::Kind::String) ? answer.as_string() : ""),
                         s.bind("answer"), h::flag("autofocus"))),
            h::button(h::cls("stube-ok"), h::attr("type", "submit"), "OK"),
            plain_button({h::cls("stube-cancel"), s.on("click", "cancel")}, "Cancel"));
      })
      .on("ok",
          [](Self& s) {
            // The page's text field always sends a string: anything else
            // is forged (nil is a prompt embedded without a default).
            const edn::Value& a = s[":answer"];
            if (a.is_nil()) return s.answer(edn::Value(""));
            if (!a.is(edn::Kind::String))
              throw BadEvent("prompt: the answer must be text, not " + edn::write(a));
            s.answer(a);
          })
      .on("cancel", [](Self& s) { s.answer(cancel_value()); });
}

// choose's arguments with :options as a vector, which `pick` indexes: a
// list or a set (in its order, as rendered) becomes one; anything else,
// none included, is the caller's mistake, named when the dialog is called.
edn::Value choose_args(const edn::Value& args) {
  edn::Value a = args_map(args);
  const edn::Value& options = a.get("options"_kw);
  if (options.is_nil())
    throw std::invalid_argument(
        "stube/choose: no :options to choose from (its arguments are " + edn::write(args) +
        "); call it with a map such as {:question \"…\" :options [\"a\" \"b\"]}");
  if (options.is(edn::Kind::Vector)) return a;
  if (!options.is(edn::Kind::List) && !options.is(edn::Kind::Set))
    throw std::invalid_argument(
        "stube/choose: :options must be a vector (or a list or a set) of "
        "options, not " +
        edn::kind_phrase(options.kind()));
  std::vector<edn::Value> items(options.items().begin(), options.items().end());
  return a.assoc("options"_kw, edn::vec(items));
}

void define_choose(Registry& reg) {
  reg.define("stube/choose")
      .init(choose_args)
      .render([](const Self& s) {
        std::vector<h::Html> buttons;
        std::int64_t i = 0;
        for (const edn::Value& option : s[":options"].items()) {
          h::Attrs attrs{h::cls("stube-option"), s.on("click", "pick", i)};
          if (i++ == 0) attrs.push_back(h::flag("autofocus"));
          buttons.push_back(h::li(plain_button(std::move(attrs), option)));
        }
        return h::div(h::cls("stube-dialog stube-choose"),
                      h::p(h::cls("stube-question"), s[":question"]), h::ul(buttons),
                      plain_button({h::cls("stube-cancel"), s.on("click", "cancel")}, "Cancel"));
      })
      .on("pick",
          [](Self& s, const Event& e) {
            // In the order rendered: init makes :options a vector, but a
            // restored record may hold a list or a set.
            const std::span<const edn::Value> options = s[":options"].items();
            if (!e.payload.is(edn::Kind::Int))
              throw BadEvent("choose: the payload must be an option's index, not " +
                             edn::write(e.payload));
            const std::int64_t i = e.payload.as_int();
            if (i < 0 || static_cast<std::size_t>(i) >= options.size())
              throw BadEvent("choose: no option " + std::to_string(i) + " (there are " +
                             std::to_string(options.size()) + ")");
            s.answer(options[static_cast<std::size_t>(i)]);
          })
      .on("cancel", [](Self& s) { s.answer(cancel_value()); });
}

void define_info(Registry& reg) {
  reg.define("stube/info")
      .init(args_map)
      .render([](const Self& s) {
        return h::div(
            h::cls("stube-dialog stube-info"), h::p(h::cls("stube-message"), s[":message"]),
            plain_button({h::cls("stube-ok"), s.on("click", "ok"), h::flag("autofocus")}, "OK"));
      })
      .on("ok", [](Self& s) { s.answer("ok"_kw); });
}

}  // namespace

void register_stock_components(Registry& reg) {
  define_confirm(reg);
  define_prompt(reg);
  define_choose(reg);
  define_info(reg);
}

}  // namespace stube
