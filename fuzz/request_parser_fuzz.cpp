// The server's request parser (llhttp adapter) on arbitrary bytes, pipelined
// requests and chunked bodies included. Invariants: the byte stream parses the
// same whether it arrives at once or split at any point (the first input byte
// picks the split) -- the same requests, bodies and final error status; read
// through a small buffer that is compacted the way the connection compacts its
// own (ActiveState::compact: whole messages moved, mid-body the head kept), it
// parses the same as far as its heads fit; and nothing crashes, leaks or reads
// out of bounds (ASan, UBSan).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "http/active_state.h"
#include "http/request_parser.h"

namespace {

using tether::http::ActiveState;
using tether::http::Request;
using tether::http::RequestParser;

constexpr std::uint64_t kMaxBody = 64 * 1024;

std::string flatten(const RequestParser& p, const char* base) {
  Request r;
  p.fillRequest(base, r);
  std::string flat(r.method);
  flat.append(" ").append(r.target).append(" ").append(r.host).append("|");
  for (const auto& h : r.headers) flat.append(h.name).append(":").append(h.value).append("|");
  flat.append(r.body);
  return flat;
}

// What the connection would see: each request flattened, then the error status.
std::vector<std::string> parse(const std::string& wire, std::size_t split) {
  RequestParser p;
  p.reset(kMaxBody);
  std::vector<std::string> seen;
  std::size_t pos = 0;
  std::size_t available = std::min(split, wire.size());
  for (int guard = 0; guard < 100000; ++guard) {
    std::size_t consumed = 0;
    auto ev = p.execute(wire.data(), wire.data() + pos, available - pos, consumed);
    pos += consumed;
    if (ev == RequestParser::Event::kMessageComplete) {
      seen.push_back(flatten(p, wire.data()));
    } else if (ev == RequestParser::Event::kError) {
      seen.push_back("error " + std::to_string(p.errorStatus()));
      return seen;
    } else if (ev == RequestParser::Event::kNeedMore) {
      if (available == wire.size()) return seen;
      available = wire.size();  // the second read
    }
  }
  std::abort();  // the parser stopped making progress
}

// The same through a buffer of `capacity` bytes filled by reads of at most
// `step`, compacted when full. `overflow` is set when a head does not fit (the
// connection answers 431 there), and what was seen until then is returned.
std::vector<std::string> parseCompacting(const std::string& wire, std::uint32_t capacity,
                                         std::size_t step, bool& overflow) {
  ActiveState a(capacity);
  a.parser.reset(kMaxBody);
  std::vector<std::string> seen;
  std::size_t fed = 0;
  bool resume = false;  // a paused head is resumed even with no new bytes, as parse() does
  for (int guard = 0; guard < 1000000; ++guard) {
    if (a.parsed == a.end && !resume) {
      if (fed == wire.size()) return seen;
      if (a.end == a.capacity) a.compact();
      if (a.end == a.capacity) {
        overflow = true;
        return seen;
      }
      std::size_t n = std::min({std::size_t{a.capacity - a.end}, wire.size() - fed, step});
      std::memcpy(a.buffer.get() + a.end, wire.data() + fed, n);
      a.end += static_cast<std::uint32_t>(n);
      fed += n;
    }
    std::size_t consumed = 0;
    const char* base = a.buffer.get();
    auto ev = a.parser.execute(base, base + a.parsed, a.end - a.parsed, consumed);
    a.parsed += static_cast<std::uint32_t>(consumed);
    resume = ev == RequestParser::Event::kHeadComplete;
    if (resume) {
      a.headEnd = a.parsed;
    } else if (ev == RequestParser::Event::kMessageComplete) {
      seen.push_back(flatten(a.parser, base));
      a.start = a.parsed;
    } else if (ev == RequestParser::Event::kError) {
      seen.push_back("error " + std::to_string(a.parser.errorStatus()));
      return seen;
    }
  }
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string wire(reinterpret_cast<const char*>(data + 1), size - 1);
  std::size_t split = wire.empty() ? 0 : data[0] % (wire.size() + 1);
  std::vector<std::string> whole = parse(wire, wire.size());
  if (whole != parse(wire, split)) std::abort();
  // Buffers of 64 B to 8 KiB, reads of 1 to 32 bytes or the whole buffer.
  std::uint32_t capacity = 64u << (data[0] & 7);
  std::size_t step = (data[0] >> 3) == 31 ? capacity : (data[0] >> 3) + 1;
  bool overflow = false;
  std::vector<std::string> compacted = parseCompacting(wire, capacity, step, overflow);
  bool prefix = compacted.size() <= whole.size() &&
                std::equal(compacted.begin(), compacted.end(), whole.begin());
  if (overflow ? !prefix : compacted != whole) std::abort();
  return 0;
}
