// What the HTML builder guarantees about attributes: no user value given to
// attr() can become script, whichever attribute it lands in.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "kernel/patch_targets.hpp"
#include "kernel/support.hpp"
#include "stube/html.hpp"

namespace stube::test {
namespace {

// The message of the invalid_argument that `f` throws ("" if none).
template <class F>
std::string refusal(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// The value an <a> renders for `name`, as it appears between the quotes.
std::string rendered(std::string_view name, std::string_view value) {
  const std::string h = html::a(html::attr(name, value)).str();
  const std::size_t open = h.find("=\"") + 2;
  return h.substr(open, h.find('"', open) - open);
}

const std::string kNeutral = "about:invalid#stube-unsafe-url";

TEST(HtmlSafety, DatastarAttributesAreRefusedByName) {
  // Datastar 1.0.0-beta.11 runs these values as JavaScript expressions (or
  // writes signals named by them); 1.0's ':' syntax and new names too.
  for (const char* name :
       {"data-text", "data-on-click", "data-on-click__debounce.300ms", "data-on_click",
        "data-on:click", "data-ON-Click", "data-on-load", "data-on-interval", "data-on-raf",
        "data-on-signal-change", "data-on-intersect", "data-attr", "data-attr-href",
        "data-attr:href", "data-effect", "data-show", "data-computed", "data-computed-total",
        "data-signals", "data-signals-foo", "data-signals:foo", "data-bind", "data-bind-name",
        "data-class", "data-class-active", "data-ref", "data-indicator", "data-persist",
        "data-replace-url", "data-custom-validity", "data-scroll-into-view", "data-view-transition",
        "data-star", "data-star-ignore", "data-init", "data-style-color", "data-json-signals",
        "data-text__case.kebab",
        // The dataset key of "data--text" is "Text", which
        // Datastar's kebab/camel turns into "text".
        "data--text", "data--on-click", "data--on-load", "data--show", "data--signals",
        "data--attr-href", "data--custom-validity", "data--Scroll-Into-View", "data-on-Click"}) {
    const std::string why = refusal([&] { (void)html::attr(name, "alert(1)"); });
    EXPECT_TRUE(contains(why, std::string("'") + name + "'")) << name << ": " << why;
    EXPECT_TRUE(contains(why, "Datastar")) << why;
    EXPECT_THROW((void)html::flag(name), std::invalid_argument) << name;
  }
}

TEST(HtmlSafety, OtherDataAttributesAreAccepted) {
  for (const char* name : {"data-id", "data-count", "data-classes", "data-texture", "data-one",
                           "data-shows", "data-reference", "data-", "data-x-text", "data-x--text",
                           "data-te-xt", "data-_text", "data-tex-t"})
    EXPECT_NO_THROW((void)html::attr(name, "alert(1)")) << name;
  EXPECT_EQ(html::span(html::attr("data-id", "7")).str(), "<span data-id=\"7\"></span>");
}

TEST(HtmlSafety, SrcdocIsRefused) {
  using namespace html;
  const std::string why =
      refusal([] { (void)element("iframe", attr("srcdoc", "<script>alert(1)</script>")); });
  EXPECT_TRUE(contains(why, "'srcdoc'")) << why;
  EXPECT_THROW((void)attr("SrcDoc", "x"), std::invalid_argument);
  EXPECT_THROW((void)flag("srcdoc"), std::invalid_argument);
}

TEST(HtmlSafety, ScriptElementsAreRefused) {
  using namespace html;
  const std::string why = refusal([] { (void)element("script", "alert(1)"); });
  EXPECT_TRUE(contains(why, "'script'")) << why;
  EXPECT_THROW((void)element("SCRIPT", "alert(1)"), std::invalid_argument);
  EXPECT_EQ(element("noscript", "x").str(), "<noscript>x</noscript>");
}

// An SVG <set>/<animate> writes its `to`/`values` into the attribute it
// names: aimed at href it would set a javascript: URL attr() never saw.
TEST(HtmlSafety, AnimatingAnHrefOrAHandlerIsRefused) {
  using namespace html;
  for (const char* target : {"href", "xlink:href", " HREF ", "onclick", "onbegin"}) {
    const std::string why = refusal([&] { (void)attr("attributeName", target); });
    EXPECT_TRUE(contains(why, "attributeName")) << target << ": " << why;
  }
  EXPECT_THROW((void)attr("attributename", "href"), std::invalid_argument);
  EXPECT_EQ(element("set", attr("attributeName", "fill"), attr("to", "red")).str(),
            "<set attributeName=\"fill\" to=\"red\"></set>");
}

TEST(HtmlSafety, TagsTheParserWouldNotReadAsWrittenAreRefused) {
  using namespace html;
  // Not an element at all: a browser reads "<9x" as text.
  EXPECT_TRUE(contains(refusal([] { (void)element("9x", id("a"), "x"); }), "'9x'"));
  // Raw text: the escapes would show; <plaintext> never ends.
  for (const char* tag : {"style", "STYLE", "xmp", "plaintext", "noembed", "noframes"})
    EXPECT_TRUE(contains(refusal([&] { (void)element(tag, "a > b"); }), "is not HTML")) << tag;
  // A void element has no end tag: <br></br> is two line breaks; a <div>
  // built without one takes what follows as its content.
  EXPECT_TRUE(contains(refusal([] { (void)element("br"); }), "void_element()"));
  EXPECT_TRUE(contains(refusal([] { (void)void_element("div", id("a")); }), "element()"));
  EXPECT_EQ(void_element("wbr").str(), "<wbr>");
  EXPECT_EQ(element("iframe", attr("src", "/map")).str(), "<iframe src=\"/map\"></iframe>");
}

// The parser drops one newline right after <pre> or <textarea>: text that
// starts with one keeps it.
TEST(HtmlSafety, ALeadingNewlineOfPreformattedTextIsKept) {
  using namespace html;
  EXPECT_EQ(pre("\nsecond line").str(), "<pre>\n\nsecond line</pre>");
  EXPECT_EQ(textarea(attr("name", "t"), "\nx").str(), "<textarea name=\"t\">\n\nx</textarea>");
  EXPECT_EQ(pre("\r\nx").str(), "<pre>\n\r\nx</pre>");  // CRLF and CR count as one
  EXPECT_EQ(pre("x\n").str(), "<pre>x\n</pre>");
  EXPECT_EQ(pre(code("\nx")).str(), "<pre><code>\nx</code></pre>");
  EXPECT_EQ(div("\nx").str(), "<div>\nx</div>");
}

TEST(HtmlSafety, UrlsWithAScriptSchemeAreNeutralised) {
  const std::vector<std::string> unsafe = {
      "javascript:fetch('/steal?c='+document.cookie)",
      "JaVaScRiPt:alert(1)",
      " javascript:alert(1)",
      "\t\n javascript:alert(1)",
      "\x01\x1Fjavascript:alert(1)",
      std::string("\0javascript:alert(1)", 20),
      "java\tscript:alert(1)",
      "java\nscript:alert(1)",
      "jav\rascript:alert(1)",
      "javascript\t:alert(1)",
      "javascript:alert(1)   ",
      "data:text/html,<script>alert(1)</script>",
      "DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
      "vbscript:msgbox(1)",
      "blob:https://example.com/0b6f",
      "file:///etc/passwd",
      "x-custom+scheme.v1:thing"};
  for (const char* name : {"href", "src", "action", "formaction", "xlink:href", "poster", "cite",
                           "data", "background", "ping", "HREF", "XLink:Href", "FormAction"})
    for (const std::string& url : unsafe)
      EXPECT_EQ(rendered(name, url), kNeutral) << name << " = " << url;
}

TEST(HtmlSafety, WebAndRelativeUrlsAreKept) {
  for (const char* url :
       {"https://example.com/a?b=c#d", "http://example.com", "HTTPS://EXAMPLE.COM",
        " https://example.com ", "mailto:ada@example.com", "tel:+44-20-1234", "/path/to", "./",
        "../up", "#top", "?q=1", "", "//cdn.example.com/x.js", "path/with:colon",
        "1javascript:alert(1)", ":alert(1)",
        "\xC2\xA0javascript:alert(1)"})  // U+00A0 is not stripped: relative
    EXPECT_EQ(rendered("href", url), html::escape(url)) << url;
  // An entity is not decoded: '&' is escaped, so the browser sees no ':'.
  EXPECT_EQ(rendered("href", "javascript&colon;alert(1)"), "javascript&amp;colon;alert(1)");
}

TEST(HtmlSafety, OnlyUrlAttributesAreChecked) {
  EXPECT_EQ(rendered("title", "javascript:alert(1)"), "javascript:alert(1)");
  EXPECT_EQ(rendered("data-url", "javascript:alert(1)"), "javascript:alert(1)");
}

TEST(HtmlSafety, AnAttributeCanOnlyComeFromTheCheckedBuilders) {
  // Were Attr an aggregate, Attr{"data-text", user} would skip every check.
  EXPECT_FALSE(std::is_aggregate_v<html::Attr>);
  EXPECT_FALSE((std::is_constructible_v<html::Attr, std::string, std::string, bool>));
  EXPECT_FALSE((std::is_constructible_v<html::Attr, std::string, std::string>));
  const html::Attr a = html::attr("href", "javascript:alert(1)");
  EXPECT_EQ(a.name(), "href");
  EXPECT_EQ(a.value(), kNeutral);
  EXPECT_FALSE(a.boolean());
  EXPECT_TRUE(html::flag("disabled").boolean());
}

TEST(HtmlSafety, TheFrameworksOwnDatastarAttributesStillRender) {
  const Wire wire{"", "cv-1"};
  const Self self("ix-1", edn::map({}), &wire);
  using namespace html;
  const std::string h = div(input(self.bind("name")), button(self.on("click", "go"), "Go")).str();
  EXPECT_TRUE(contains(h, "<input data-bind=\"ix-1.name\">")) << h;
  EXPECT_TRUE(contains(h, "<button data-on-click=\"@post(&#39;/event/cv-1/ix-1/go&#39;")) << h;
}

// The base path goes into the JavaScript string of every event attribute:
// the kernel checks it itself (the server and the runtime do too), since it
// can be driven directly. A quote in it used to run as script on the page.
TEST(HtmlSafety, ABasePathThatIsNotAPlainUrlPathIsRefused) {
  for (const char* base :
       {"/x');alert(1);('", "/a b", "app", "/app/", "/a//b", "/.hidden", "/a\\b"}) {
    const Wire wire{base, "cv-1"};
    const Self self("ix-1", edn::map({}), &wire);
    EXPECT_NE(refusal([&] { self.on("click", "go"); }).find("base_path"), std::string::npos)
        << base;
  }
  const Wire app{"/app/v1.2~x", "cv-1"};
  const Self self("ix-1", edn::map({}), &app);
  EXPECT_EQ(self.on("click", "go").value(),
            "@post('/app/v1.2~x/event/cv-1/ix-1/go', {retryMaxCount: 0, openWhenHidden: true})");
}

// The browser resolves "." and ".." in the event's URL: a handler by such a
// name could never be reached.
TEST(HtmlSafety, EventNamesOfOnlyDotsAreRefused) {
  const Wire wire{"", "cv-1"};
  const Self self("ix-1", edn::map({}), &wire);
  for (const char* event : {".", "..", "..."})
    EXPECT_NE(refusal([&] { self.on("click", event); }).find("invalid event name"),
              std::string::npos)
        << event;
  EXPECT_EQ(refusal([&] { self.on("click", "a.b"); }), "");
  EXPECT_EQ(refusal([&] { self.on("click", ".x"); }), "");
}

// Datastar morphs each top-level element of a patch into the page's element
// "#<id>", a selector built from the raw id: user text in an id could pick
// other elements to overwrite ("x,#stube-root"), or break the patch.
TEST(HtmlSafety, APatchTargetsOnlyByAPlainId) {
  using namespace html;
  const auto check = [](const Html& h) { return refusal([&] { check_patch_targets(h.str()); }); };
  for (const char* bad : {"x,#stube-root,#other", "1x", "a.b", "a b", "a:b", "", "-x", "a#b"})
    EXPECT_NE(check(p(id(bad), "text")).find("cannot name a patch target"), std::string::npos)
        << bad;
  EXPECT_NE(check(p("no id")).find("<p> has no id"), std::string::npos);
  EXPECT_NE(check(p(id("ok"), "a") + p(id("x,y"), "b")), "") << "each top-level element";
  EXPECT_EQ(check(div(id("list-2_b"), br(), input(attr("value", "a>b")), span("<>")) +
                  Html::unsafe_raw("<!-- note --><hr id=\"rule\"/>") + p(id("_x"), "c")),
            "");
  // The browser's parser hoists some nested elements to the top (a <div>
  // in a <p>, anything but cells out of a <table>, an <li> in an <li>):
  // every id counts, wherever it is.
  EXPECT_NE(check(p(id("ok"), div(id("x,#stube-root")))), "");
  EXPECT_NE(check(table(id("t"), div(id("x,#stube-root")))), "");
  EXPECT_NE(check(li(id("a"), li(id("x,#stube-root")))), "");
  // The first id attribute is the one a browser keeps; other attributes'
  // values do not count, whatever they hold.
  EXPECT_EQ(check(p(attr("title", "say id="), id("ok"), "x")), "");
  EXPECT_NE(check(p(flag("id"), id("ok"))), "") << "a bare id is an empty one";
  EXPECT_NE(check(Html::unsafe_raw("<p data-id=\"x\">a</p>")), "") << "data-id is not the id";
  EXPECT_EQ(check(Html::unsafe_raw("<P ID='Up'>a</P>")), "");
  // A stray closing tag does not hide what follows.
  EXPECT_NE(check(Html::unsafe_raw("<p id=\"a\"></p></input><div id=\"x,y\"></div>")), "");
}

// The browser's parser closes elements the markup leaves open: a block in a
// <p> closes the <p>, and the </p> after it becomes a new, empty <p>
// without an id at the top of the patch, which failed in the browser
// (NoTargetsFound) and dropped the rest of the patch.
TEST(HtmlSafety, APatchTheParserWouldReshapeAtTheTopIsRefused) {
  using namespace html;
  const auto check = [](const Html& h) { return refusal([&] { check_patch_targets(h.str()); }); };
  EXPECT_NE(check(p(id("pa"), div(id("pb"), "new")) + span(id("pc"), "new"))
                .find("a </p> that closes no <p> is read as a new, empty <p> without an id (the "
                      "browser closed the <p> before the <div> in it"),
            std::string::npos);
  EXPECT_NE(check(p(id("pa"), ul(li("x")))).find("<ul> has no id and comes out"),
            std::string::npos);
  EXPECT_NE(check(p(id("pa"), div("no id"))).find("<div> has no id and comes out to the top"),
            std::string::npos);
  EXPECT_NE(check(li(id("a"), li("b"))).find("<li> has no id and comes out to the top"),
            std::string::npos);
  EXPECT_NE(check(table(id("t"), div(id("d"), "x"))).find("out of the table"), std::string::npos);
  EXPECT_NE(check(Html::unsafe_raw("<p id=\"a\"></p></p>")).find("</p>"), std::string::npos);
  EXPECT_NE(check(Html::unsafe_raw("<br id=\"a\"></br>")).find("</br>"), std::string::npos);
  // Deeper down the same reshaping moves nothing to the top: fine.
  EXPECT_EQ(check(div(id("d"), p(div("x")))), "");
  EXPECT_EQ(check(div(id("d"), Html::unsafe_raw("<p>a</p></p><br></br>"))), "");
  EXPECT_EQ(check(table(id("t"), tr(td(div("x"), p("y"))))), "");
  EXPECT_EQ(check(Html::unsafe_raw("<ul id=\"u\"><li>a<li>b</ul><p id=\"q\">c")), "");
  EXPECT_EQ(check(p(id("a"), span("x"), em("y")) + div(id("b"), p("z"))), "");
  // An <li> in a <menu> in an <li> stays there; a hidden input or a form in a
  // table row stays in place.
  EXPECT_EQ(check(Html::unsafe_raw("<li id=\"a\">x<menu><li>y</li></menu></li>")), "");
  EXPECT_EQ(
      check(Html::unsafe_raw("<menu id=\"m\"><li>a<menu><li>b</li></menu>c<p>x</p></li></menu>")),
      "");
  EXPECT_EQ(check(table(id("t"), tr(input(attr("type", "hidden"), attr("name", "k")), td("x")))),
            "");
  EXPECT_EQ(check(Html::unsafe_raw("<table id=\"t\"><form><tr><td>x</td></tr></form></table>")),
            "");
  EXPECT_NE(check(table(id("t"), tr(input(attr("type", "text")), td("x")))), "");
}

// More of the parser's implied closes: a link in a link, a button in a
// button, a heading right in a heading, a <dt> in a <dd>, an option in an
// option, and HTML in SVG each put the inner element at the top.
TEST(HtmlSafety, NestingsTheParserUndoesAreRefusedAtTheTop) {
  using namespace html;
  const auto check = [](const Html& h) { return refusal([&] { check_patch_targets(h.str()); }); };
  const auto comes_out = [](const std::string& why, std::string_view tag) {
    return contains(why, "<" + std::string(tag) + "> has no id and comes out to the top");
  };
  EXPECT_TRUE(comes_out(check(a(id("card"), "Card ", a(attr("href", "/author"), "author"))), "a"));
  EXPECT_TRUE(comes_out(check(button(id("b1"), "x", button("inner"))), "button"));
  EXPECT_TRUE(comes_out(check(h1(id("h"), "x", h2("sub"))), "h2"));
  EXPECT_TRUE(comes_out(check(element("dd", id("d1"), "x", element("dt", "y"))), "dt"));
  EXPECT_TRUE(comes_out(check(option(id("o1"), "x", option("y"))), "option"));
  EXPECT_TRUE(comes_out(check(element("svg", id("icon"), span("label"))), "span"));
  EXPECT_TRUE(
      comes_out(check(element("math", id("m"), element("mrow", element("mi", "x"), p("y")))), "p"));
  // Where the parser keeps them in place: fine.
  EXPECT_EQ(check(div(id("d"), a("x", a("y")))), "");  // reshaped below the top
  EXPECT_EQ(check(h1(id("h"), span(h2("x")))), "");    // a heading not right in one
  EXPECT_EQ(check(button(id("b"), table(tr(td(button("x")))))), "");
  EXPECT_EQ(check(element("svg", id("i"), element("foreignObject", div("x"), p("y")))), "");
  EXPECT_EQ(check(element("svg", id("i"), element("a", element("a", element("text", "x"))))), "");
  EXPECT_EQ(check(element("dl", id("l"), element("dt", "a"), element("dd", "b"))), "");
  EXPECT_EQ(check(select(id("s"), option("a"), option("b"))), "");
  EXPECT_EQ(check(element("svg", id("i")) + div(id("after"), "x")), "");
  // HTML in a foreignObject is a scope of its own: its <p> leaves the
  // outer one open.
  EXPECT_EQ(check(Html::unsafe_raw(
                "<p id=\"a\"><svg><foreignObject><p id=\"b\">x</p></foreignObject></svg></p>")),
            "");
  // "/>" closes an SVG or MathML element only: a <div/> stays open, so what
  // follows is in it and needs no id; after a <circle/> it does.
  EXPECT_EQ(check(Html::unsafe_raw("<div id=\"d\"/><span>in the div</span></div>")), "");
  EXPECT_TRUE(
      contains(check(Html::unsafe_raw("<svg id=\"i\"/><circle/></svg>")), "<circle> has no id"));
  EXPECT_EQ(check(Html::unsafe_raw("<svg id=\"i\"><circle/><rect/></svg>")), "");
  // Every void element is read as one (<param>, <keygen> too).
  EXPECT_TRUE(
      contains(check(Html::unsafe_raw("<param id=\"a\"><span>x</span>")), "<span> has no id"));
}

// The kernel checks the patches a handler asks for, also those added with
// Self::add: a bad one fails the event, the conversation as it was.
TEST(HtmlSafety, ABadPatchFailsTheEventAndChangesNothing) {
  Registry reg;
  reg.define("t/patcher")
      .render([](const Self&) { return html::p("view"); })
      .on("good", [](Self& s) { s.patch(html::p(html::id("status"), "ok")); })
      .on("bad",
          [](Self& s) {
            s.set("touched", true);
            s.patch(html::p(html::id("item-x,#stube-root"), "gotcha"));
          })
      .on("raw", [](Self& s) {
        s.add(Effect{Effect::Kind::Patch, {}, {}, {}, html::p("no id"), {}, {}});
      });
  const KernelOptions opts;
  const Value conv = start_conversation(reg, "t/patcher", Value(), opts).conv;
  const std::string iid(top_instance(conv));
  EXPECT_EQ(dispatch(reg, conv, iid, Event{"good"}, opts).status, Step::Status::Ok);
  for (const char* event : {"bad", "raw"}) {
    const Step s = dispatch(reg, conv, iid, Event{event}, opts);
    EXPECT_EQ(s.status, Step::Status::HandlerError) << event;
    EXPECT_NE(s.error.find("patch()"), std::string::npos) << s.error;
    EXPECT_EQ(s.conv, conv) << event;
  }
}

// A browser drops NUL from text and reads it as U+FFFD in an attribute:
// written as U+FFFD, the page shows the same in either place.
TEST(HtmlSafety, NulIsWrittenAsTheReplacementCharacter) {
  using namespace std::string_literals;
  EXPECT_EQ(html::escape("a\0b"s), "a&#xFFFD;b");
  EXPECT_EQ(html::p(html::attr("title", "x\0"s), "\0"s).str(),
            "<p title=\"x&#xFFFD;\">&#xFFFD;</p>");
}

}  // namespace
}  // namespace stube::test
