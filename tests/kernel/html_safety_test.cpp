// What the HTML builder guarantees about attributes: no user value given to
// attr() can become script, whichever attribute it lands in.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

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

}  // namespace
}  // namespace stube::test
