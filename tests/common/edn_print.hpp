// How GoogleTest prints an edn::Value in a failure message: its EDN text,
// cut after 1000 characters (some conversations are large).
#pragma once

#include <exception>
#include <ostream>
#include <string>

#include "stube/edn.hpp"

namespace stube::edn {

// Without it, gtest would treat a Value as a container (it has begin/end)
// and call items() on scalars, which throws.
inline void PrintTo(const Value& v, std::ostream* os) {
  constexpr std::size_t kShown = 1000;
  try {
    const std::string text = write(v);
    if (text.size() <= kShown) {
      *os << text;
    } else {
      *os << text.substr(0, kShown) << "... (" << text.size() - kShown << " more characters)";
    }
  } catch (const std::exception& e) {
    *os << "<unprintable Value: " << e.what() << ">";
  }
}

}  // namespace stube::edn
