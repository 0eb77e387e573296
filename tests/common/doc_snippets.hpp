// The docs show only code that compiles and runs. A ```cpp block of a checked
// markdown file must follow a marker line, indented like its fence:
//
//   <!-- snippet: NAME -->            the block equals the code between the lines
//                                     "// snippet: NAME" and "// end snippet"
//                                     of a test source (see snippet_source_dirs)
//   <!-- snippet: none (REASON) -->   an explicit exemption, with its reason
//
// A block without a marker is an error, so that no new example slips by
// unchecked. A fence indented by N spaces (inside a list item) has N spaces
// stripped from each of its lines before the comparison.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace stube::test::docs {

inline std::string slurp(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// NAME -> code, from the marker lines of one source file: a line that is
// exactly "// snippet: NAME" opens one, a line "// end snippet" closes it.
inline void source_snippets(const std::string& text, std::map<std::string, std::string>& out,
                            const std::string& file = "source") {
  std::istringstream in(text);
  std::string line, name, code;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line.rfind("// snippet: ", 0) == 0) {
      name = line.substr(12);
      code.clear();
      inside = true;
    } else if (inside && line == "// end snippet") {
      if (!out.emplace(name, code).second)
        throw std::runtime_error(file + ": snippet " + name + " defined twice");
      inside = false;
    } else if (inside) {
      code += line + "\n";
    }
  }
  if (inside) throw std::runtime_error(file + ": unclosed snippet " + name);
}

// The test directories that hold the docs' examples (relative to the source
// tree): each example is compiled and run by its area's tests there, and
// tests/fixtures/consumer/ is built against an installed stube by
// tests/install_consumer.sh.
inline const std::vector<std::string>& snippet_source_dirs() {
  static const std::vector<std::string> dirs{"tests/kernel", "tests/fixtures/consumer",
                                             "tests/edn",    "tests/store",
                                             "tests/server", "tests/postgres/gtest"};
  return dirs;
}

// Every snippet of the .cpp files in `dirs` (relative to `root`).
inline std::map<std::string, std::string> all_source_snippets(
    const std::filesystem::path& root,
    const std::vector<std::string>& dirs = snippet_source_dirs()) {
  std::map<std::string, std::string> out;
  for (const std::string& dir : dirs)
    for (const auto& entry : std::filesystem::directory_iterator(root / dir))
      if (entry.path().extension() == ".cpp")
        source_snippets(slurp(entry.path()), out, entry.path().string());
  return out;
}

// One ```cpp block of a markdown file.
struct DocBlock {
  std::size_t line = 0;  // of the fence, 1-based
  std::string name;      // NAME of the marker; "" when unmarked
  std::string reason;    // for "none (REASON)"
  std::string code;      // without the fence's indentation
  std::string problem;   // why the block is malformed, if it is
  bool exempt() const { return name == "none"; }
};

// Every ```cpp block of a markdown text, marked or not.
inline std::vector<DocBlock> doc_blocks(const std::string& text) {
  std::vector<std::string> lines;
  {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  std::vector<DocBlock> out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& fence = lines[i];
    const std::size_t indent = fence.find_first_not_of(' ');
    if (indent == std::string::npos || fence.compare(indent, std::string::npos, "```cpp") != 0)
      continue;
    const std::string pad(indent, ' ');
    DocBlock block;
    block.line = i + 1;
    const std::string open = pad + "<!-- snippet: ", close = " -->";
    const std::string marker = i > 0 ? lines[i - 1] : "";
    if (marker.rfind(open, 0) == 0 && marker.size() > open.size() + close.size() &&
        marker.compare(marker.size() - close.size(), close.size(), close) == 0) {
      block.name = marker.substr(open.size(), marker.size() - open.size() - close.size());
      if (block.name.rfind("none", 0) == 0) {
        const std::string rest = block.name.substr(4);
        if (rest.size() > 3 && rest.compare(0, 2, " (") == 0 && rest.back() == ')')
          block.reason = rest.substr(2, rest.size() - 3);
        else
          block.problem = "an exemption must give its reason: <!-- snippet: none (REASON) -->";
        block.name = "none";
      }
    }
    std::size_t j = i + 1;
    for (; j < lines.size() && lines[j] != pad + "```"; ++j) {
      const std::string& l = lines[j];
      if (l.empty()) {
        block.code += "\n";
      } else if (l.compare(0, indent, pad) == 0) {
        block.code += l.substr(indent) + "\n";
      } else if (block.problem.empty()) {
        block.problem = "line " + std::to_string(j + 1) + " is indented less than its fence";
      }
    }
    if (j == lines.size()) block.problem = "the block is not closed";
    out.push_back(std::move(block));
    i = j;
  }
  return out;
}

// The markdown files whose ```cpp blocks are checked: README.md and every
// docs/*.md, relative to `root`, sorted.
inline std::vector<std::string> checked_docs(const std::filesystem::path& root) {
  std::vector<std::string> out{"README.md"};
  std::vector<std::string> docs;
  for (const auto& entry : std::filesystem::directory_iterator(root / "docs"))
    if (entry.path().extension() == ".md")
      docs.push_back("docs/" + entry.path().filename().string());
  std::sort(docs.begin(), docs.end());
  out.insert(out.end(), docs.begin(), docs.end());
  return out;
}

// What is wrong with the ```cpp blocks of one doc (`doc` names it in the
// messages), given the sources' snippets: one message per problem, none
// when every block is marked and equals its source. `used` collects the
// names the doc refers to.
inline std::vector<std::string> doc_problems(const std::string& doc, const std::string& text,
                                             const std::map<std::string, std::string>& sources,
                                             std::vector<std::string>* used = nullptr) {
  std::vector<std::string> out;
  for (const DocBlock& b : doc_blocks(text)) {
    const std::string where = doc + ":" + std::to_string(b.line) + ": ";
    if (!b.problem.empty()) {
      out.push_back(where + b.problem);
    } else if (b.name.empty()) {
      out.push_back(where +
                    "a ```cpp block without a <!-- snippet: NAME --> marker on the line "
                    "before it (see tests/common/doc_snippets.hpp)");
    } else if (b.exempt()) {
      continue;
    } else if (auto it = sources.find(b.name); it == sources.end()) {
      out.push_back(where + "no source has the snippet " + b.name);
    } else {
      if (used) used->push_back(b.name);
      if (it->second != b.code)
        out.push_back(where + "snippet " + b.name + " differs from its source:\n--- doc\n" +
                      b.code + "--- source\n" + it->second);
    }
  }
  return out;
}

}  // namespace stube::test::docs
