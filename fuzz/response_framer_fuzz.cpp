// The load generator's response framer (fast path + llhttp fallback) against
// ResponseParser (llhttp alone) as the oracle, on arbitrary bytes split at a
// fuzzed point: both must frame the same responses (status, reusable) and fail
// on the same input. The first input byte picks the split and whether the
// responses answer HEAD requests.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tether/http/client/response_framer.h"
#include "tether/http/client/response_parser.h"

namespace {

using tether::http::client::ResponseFramer;
using tether::http::client::ResponseParser;
using Event = ResponseParser::Event;

template <typename Parser>
std::vector<std::string> frame(Parser& p, const std::string& wire, std::size_t split) {
  std::vector<std::string> seen;
  std::size_t pos = 0;
  std::size_t end = split;
  for (int guard = 0; guard < 100000; ++guard) {
    std::size_t consumed = 0;
    Event ev = p.execute(wire.data() + pos, end - pos, consumed);
    pos += consumed;
    if (ev == Event::kMessageComplete) {
      seen.push_back(std::to_string(p.status()) + (p.reusable() ? " reusable" : " last"));
      if (pos == end && end == wire.size()) break;
      continue;
    }
    if (ev == Event::kError) {
      seen.push_back("error");
      return seen;
    }
    if (end == wire.size()) break;
    end = wire.size();
  }
  Event last = p.finish();
  if (last == Event::kMessageComplete) {
    seen.push_back(std::to_string(p.status()) + " at eof");
  } else if (last == Event::kError) {
    seen.push_back("truncated");
  }
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string wire(reinterpret_cast<const char*>(data + 1), size - 1);
  std::size_t split = wire.empty() ? 0 : (data[0] >> 1) % (wire.size() + 1);
  bool head = (data[0] & 1) != 0;
  ResponseFramer framer;
  framer.setRequestIsHead(head);
  ResponseParser oracle;
  oracle.setRequestIsHead(head);
  oracle.setFramingOnly(true);
  std::vector<std::string> fast = frame(framer, wire, split), slow = frame(oracle, wire, split);
  if (fast != slow) {
    // Reproduce with: build/fuzz/fuzz/fuzz_response_framer ARTIFACT
    std::fprintf(stderr, "split %zu, head %d\nframer:", split, head);
    for (const std::string& s : fast) std::fprintf(stderr, " [%s]", s.c_str());
    std::fprintf(stderr, "\nllhttp:");
    for (const std::string& s : slow) std::fprintf(stderr, " [%s]", s.c_str());
    std::fprintf(stderr, "\n");
    std::abort();
  }
  return 0;
}
