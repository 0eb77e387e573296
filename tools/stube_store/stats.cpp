// stube-store stats URL: counts and sizes of a store at a glance.
#include <iostream>

#include "finish_output.hpp"
#include "stube/conversation.hpp"
#include "stube_store/tool.hpp"

namespace stube::tool {

int stats(const std::string& url) {
  const auto store = open_existing(url);
  std::size_t ok = 0;
  std::size_t unreadable = 0;
  std::size_t total = 0;
  // Records the store could not read (a directory, a file over the record
  // limit) have no size to add: counting them as 0 would hide a huge one.
  std::size_t unsized = 0;
  const Record* largest = nullptr;  // of every record of known size, readable or not
  const Record* oldest = nullptr;   // by :conv/touched, of the readable ones
  const std::vector<Record> records = read_records(*store, url);
  for (const Record& r : records) {
    if (!r.bytes) {
      ++unsized;
    } else {
      total += *r.bytes;
      if (largest == nullptr || *r.bytes > *largest->bytes) largest = &r;
    }
    if (!r.conv) {
      ++unreadable;
      continue;
    }
    ++ok;
    if (oldest == nullptr || conv::touched(*r.conv) < conv::touched(*oldest->conv)) oldest = &r;
  }
  std::cout << "conversations: " << ok << '\n'
            << "unreadable: " << unreadable << '\n'
            << "total bytes: " << total
            << (unsized == 0 ? ""
                             : " (" + std::to_string(unsized) + " unreadable record" +
                                   (unsized == 1 ? "" : "s") + " of unknown size left out)")
            << '\n'
            << "largest: "
            << (largest ? largest->cid + " (" + std::to_string(*largest->bytes) + " bytes)" : "-")
            << '\n'
            << "oldest touched: "
            << (oldest ? oldest->cid + " (" + format_instant(conv::touched(*oldest->conv)) + ")"
                       : "-")
            << '\n';
  return with_output("stube-store", 0);
}

}  // namespace stube::tool
