// The server's request parser (llhttp adapter) on arbitrary bytes, pipelined
// requests and chunked bodies included. Invariant: the byte stream parses the
// same whether it arrives at once or split at any point (the first input byte
// picks the split) -- the same requests, bodies and final error status -- and
// nothing crashes, leaks or reads out of bounds (ASan, UBSan).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "http/request_parser.h"

namespace {

using tether::http::Request;
using tether::http::RequestParser;

// What the connection would see: each request flattened, then the error status.
std::vector<std::string> parse(const std::string& wire, std::size_t split) {
  RequestParser p;
  p.reset(64 * 1024);
  std::vector<std::string> seen;
  std::size_t pos = 0;
  std::size_t available = std::min(split, wire.size());
  for (int guard = 0; guard < 100000; ++guard) {
    std::size_t consumed = 0;
    auto ev = p.execute(wire.data(), wire.data() + pos, available - pos, consumed);
    pos += consumed;
    if (ev == RequestParser::Event::kMessageComplete) {
      Request r;
      p.fillRequest(wire.data(), r);
      std::string flat(r.method);
      flat.append(" ").append(r.target).append(" ").append(r.host).append("|");
      for (const auto& h : r.headers) flat.append(h.name).append(":").append(h.value).append("|");
      flat.append(r.body);
      seen.push_back(std::move(flat));
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string wire(reinterpret_cast<const char*>(data + 1), size - 1);
  std::size_t split = wire.empty() ? 0 : data[0] % (wire.size() + 1);
  if (parse(wire, wire.size()) != parse(wire, split)) std::abort();
  return 0;
}
