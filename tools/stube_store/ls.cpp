// stube-store ls URL: one line per record, in cid order, under a header.
#include <array>
#include <iostream>
#include <string>
#include <vector>

#include "finish_output.hpp"
#include "stube/conversation.hpp"
#include "stube_store/tool.hpp"

namespace stube::tool {

namespace {

using Row = std::array<std::string, 5>;

Row row_of(const Record& r) {
  // "-" for a record the store could not read: its size is unknown, not 0.
  const std::string bytes = r.bytes ? std::to_string(*r.bytes) : "-";
  if (!r.conv) return {r.cid, bytes, "-", "-", "unreadable"};
  return {r.cid, bytes, format_instant(conv::touched(*r.conv)), top_component(*r.conv),
          printable_conversation(*r.conv) ? "yes" : "no"};
}

// Left-aligned columns two spaces apart; the last one unpadded.
void print_table(const std::vector<Row>& rows) {
  std::array<std::size_t, 5> width{};
  for (const Row& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const Row& row : rows) {
    for (std::size_t i = 0; i + 1 < row.size(); ++i) {
      out += row[i];
      out.append(width[i] - row[i].size() + 2, ' ');
    }
    out += row.back();
    out += '\n';
  }
  write_output(out);
}

}  // namespace

int ls(const std::string& url) {
  const auto store = open_existing(url);
  std::vector<Row> rows{{"CID", "BYTES", "TOUCHED", "TOP", "PRINTABLE"}};
  for (const Record& r : read_records(*store, url)) rows.push_back(row_of(r));
  print_table(rows);
  return with_output("stube-store", 0);
}

}  // namespace stube::tool
