#include "kernel/patch_targets.hpp"

#include <optional>
#include <stdexcept>
#include <string>

namespace stube {

namespace {

bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool plain_id(std::string_view id) {
  if (id.empty() || !(is_letter(id.front()) || id.front() == '_')) return false;
  for (char c : id)
    if (!(is_letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

bool void_element(std::string_view tag) {
  static constexpr std::string_view kVoid[] = {"area",   "base",  "br",    "col",  "embed",
                                               "hr",     "img",   "input", "link", "meta",
                                               "source", "track", "wbr"};
  for (std::string_view v : kVoid)
    if (iequals(tag, v)) return true;
  return false;
}

bool space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// One start tag, "<name attr="v" flag ...>", read attribute by attribute as
// a browser does: the first `id` decides (a bare `id` is an empty one).
struct StartTag {
  std::string_view name;
  std::optional<std::string_view> id;
  bool self_closing = false;
};

StartTag read_start_tag(std::string_view tag) {  // from '<' to '>' inclusive
  StartTag out;
  std::size_t i = 1;
  while (i < tag.size() && !space(tag[i]) && tag[i] != '/' && tag[i] != '>') ++i;
  out.name = tag.substr(1, i - 1);
  while (i < tag.size()) {
    while (i < tag.size() && (space(tag[i]) || tag[i] == '/')) ++i;
    if (i >= tag.size() || tag[i] == '>') break;
    const std::size_t name_from = i;
    while (i < tag.size() && !space(tag[i]) && tag[i] != '=' && tag[i] != '>' && tag[i] != '/') ++i;
    const std::string_view name = tag.substr(name_from, i - name_from);
    std::string_view value;
    if (i < tag.size() && tag[i] == '=') {
      ++i;
      const char quote = i < tag.size() && (tag[i] == '"' || tag[i] == '\'') ? tag[i] : '\0';
      if (quote) ++i;
      const std::size_t value_from = i;
      while (i < tag.size() && (quote ? tag[i] != quote : !space(tag[i]) && tag[i] != '>')) ++i;
      value = tag.substr(value_from, i - value_from);
      if (quote && i < tag.size()) ++i;
    }
    if (!out.id && iequals(name, "id")) out.id = value;
  }
  out.self_closing = tag.size() >= 2 && tag[tag.size() - 2] == '/';
  return out;
}

}  // namespace

// The markup is the builder's (text escaped, so each '<' opens a tag or a
// comment) or the caller's own (Html::unsafe_raw), read the same way.
void check_patch_targets(std::string_view markup) {
  int depth = 0;
  for (std::size_t lt = markup.find('<'); lt != std::string_view::npos;
       lt = markup.find('<', lt + 1)) {
    if (markup.compare(lt, 4, "<!--") == 0) {
      lt = markup.find("-->", lt);
      if (lt == std::string_view::npos) return;
      continue;
    }
    const std::size_t gt = markup.find('>', lt);
    if (gt == std::string_view::npos) return;
    const std::string_view tag = markup.substr(lt, gt + 1 - lt);
    lt = gt;
    if (tag.size() < 3 || tag[1] == '!' || tag[1] == '?') continue;  // doctype, processing
    if (tag[1] == '/') {
      depth = depth > 0 ? depth - 1 : 0;
      continue;
    }
    const StartTag start = read_start_tag(tag);
    if (start.id && !plain_id(*start.id))
      throw std::invalid_argument(
          "patch(): the element id \"" + std::string(*start.id) +
          "\" cannot name a patch target (use letters, digits, '-' and '_', starting with a "
          "letter or '_')");
    if (depth == 0 && !start.id)
      throw std::invalid_argument("patch(): the element <" + std::string(start.name) +
                                  "> has no id; a patch is morphed into the page's element with "
                                  "its id");
    if (!start.self_closing && !void_element(start.name)) ++depth;
  }
}

}  // namespace stube
