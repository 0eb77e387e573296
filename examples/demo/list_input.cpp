// The checks on list text the demo takes from the browser (see demo.hpp).
#include <string>

#include "demo.hpp"

namespace demo {

bool blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

void check_item_text(const std::string& text) {
  if (text.size() > kMaxItemText)
    throw stube::BadEvent("an item is at most " + std::to_string(kMaxItemText) +
                          " bytes of UTF-8 long");
}

void check_new_item(const std::string& text, std::size_t items_so_far) {
  check_item_text(text);
  if (items_so_far >= kMaxListItems)
    throw stube::BadEvent("the list is full: at most " + std::to_string(kMaxListItems) + " items");
}

}  // namespace demo
