// stube-store verify URL: every record checked; one line per bad one.
#include <iostream>

#include "finish_output.hpp"
#include "stube_store/tool.hpp"

namespace stube::tool {

int verify(const std::string& url) {
  const auto store = open_existing(url);
  std::size_t ok = 0;
  std::size_t bad = 0;
  for (const Record& r : read_records(*store, url)) {
    if (r.conv) {
      ++ok;
    } else {
      ++bad;
      write_output(r.cid + r.position + ": " + r.problem + '\n');
    }
  }
  write_output(std::to_string(ok) + " ok, " + std::to_string(bad) + " unreadable\n");
  return with_output("stube-store", bad == 0 ? 0 : 1);
}

}  // namespace stube::tool
