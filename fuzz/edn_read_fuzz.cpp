// libFuzzer target for the EDN reader (built by scripts/fuzz.sh).
//
// Rejecting input with ParseError is the reader doing its job. Anything else
// is a finding: a crash or sanitizer report, any other exception, a value
// the printers cannot round-trip (read(write(v)) != v, read(pretty(v)) != v,
// or two equal values printing differently), or a stream reader
// (read_all) that disagrees with read() on a single value.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <stube/edn.hpp>
#include <vector>

namespace {

namespace edn = stube::edn;

[[noreturn]] void fail(const char* what, std::string_view printed) {
  std::fprintf(stderr, "edn_read_fuzz: %s\nprinted text: %.*s\n", what,
               static_cast<int>(printed.size()), printed.data());
  std::abort();
}

void check_round_trip(const edn::Value& original, const std::string& printed, const char* printer) {
  edn::Value back;
  try {
    back = edn::read(printed);
  } catch (const edn::ParseError& e) {
    std::fprintf(stderr, "edn_read_fuzz: %s output does not read back: %s\n", printer, e.what());
    fail("unreadable printer output", printed);
  }
  if (!(back == original)) {
    std::fprintf(stderr, "edn_read_fuzz: %s round trip changed the value\n", printer);
    fail("read(print(v)) != v", printed);
  }
  if (edn::write(back) != edn::write(original)) {
    fail("equal values print differently", printed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<edn::Value> stream;
  bool stream_read = true;
  try {
    stream = edn::read_all(text);
  } catch (const edn::ParseError&) {
    stream_read = false;
  }
  edn::Value value;
  try {
    value = edn::read(text);
  } catch (const edn::ParseError& e) {
    if (stream_read && stream.size() == 1)
      fail("read_all() read one value where read() failed", e.what());
    return 0;
  }
  if (!stream_read || stream.size() != 1 || !(stream[0] == value))
    fail("read_all() of one value is not [read()]", edn::write(value));
  check_round_trip(value, edn::write(value), "write");
  check_round_trip(value, edn::pretty(value), "pretty");
  return 0;
}
