// The heartbeat protocol decoder on arbitrary bytes. Invariants: decoding never
// reads past its input; a frame decodes the same from the whole input as from
// any longer prefix (byte-by-byte arrival); an encoded frame decodes back to
// what was encoded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tether/liveness/heartbeat_protocol.h"

namespace {

namespace wire = tether::liveness::wire;

void checkPrefixes(std::string_view in) {
  wire::Frame whole;
  wire::DecodeResult all = wire::decodeFrame(in, &whole);
  for (std::size_t n = 0; n < in.size(); ++n) {
    // A copy of exactly n bytes, so ASan catches a read past the prefix.
    std::string prefix(in.substr(0, n));
    wire::Frame f;
    wire::DecodeResult r = wire::decodeFrame(prefix, &f);
    if (r.status == wire::DecodeStatus::kOk) {
      if (all.status != wire::DecodeStatus::kOk || r.consumed != all.consumed ||
          f.type != whole.type || f.payload != whole.payload || f.opaque != whole.opaque) {
        std::abort();
      }
      return;
    }
    if (r.status == wire::DecodeStatus::kError && all.status != wire::DecodeStatus::kError) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string copy(in);
  wire::decodeHello(copy);
  checkPrefixes(copy);
  // Round trip: the input as DATA and GOODBYE text, and its first 8 bytes as a PING id.
  std::string out;
  std::string_view payload = in.substr(0, std::min<std::size_t>(in.size(), 1024));
  wire::appendData(out, payload);
  std::uint64_t opaque = 0;
  for (std::size_t i = 0; i < std::min<std::size_t>(in.size(), 8); ++i) {
    opaque = (opaque << 8) | static_cast<std::uint8_t>(in[i]);
  }
  wire::appendPing(out, opaque);
  wire::Frame f;
  wire::DecodeResult r = wire::decodeFrame(out, &f);
  if (r.status != wire::DecodeStatus::kOk || f.type != wire::FrameType::kData ||
      f.payload != payload) {
    std::abort();
  }
  r = wire::decodeFrame(std::string_view(out).substr(r.consumed), &f);
  if (r.status != wire::DecodeStatus::kOk || f.type != wire::FrameType::kPing ||
      f.opaque != opaque) {
    std::abort();
  }
  return 0;
}
