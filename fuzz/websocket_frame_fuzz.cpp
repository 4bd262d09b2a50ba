// The WebSocket frame codec and UTF-8 validator on arbitrary bytes.
// Invariants: decodeHeader never reads past its input and gives the same
// verdict on every prefix long enough to decide (bytes arrive one by one); an
// encoded header decodes back; unmasking twice is the identity from any
// offset; UTF-8 validation gives the same verdict however the input is split.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/websocket/frame.h"
#include "http/websocket/utf8.h"

namespace {

namespace ws = tether::http::ws;

bool sameHeader(const ws::FrameHeader& a, const ws::FrameHeader& b) {
  return a.fin == b.fin && a.opcode == b.opcode && a.masked == b.masked && a.length == b.length &&
         a.headerSize == b.headerSize;
}

void checkPrefixes(std::string_view in, bool fromClient) {
  ws::HeaderResult all = ws::decodeHeader(in, fromClient);
  for (std::size_t n = 0; n <= in.size() && n <= ws::kMaxHeaderSize; ++n) {
    std::string prefix(in.substr(0, n));  // exactly n bytes: ASan sees an overread
    ws::HeaderResult r = ws::decodeHeader(prefix, fromClient);
    if (r.status == ws::HeaderStatus::kNeedMore) {
      if (n >= ws::kMaxHeaderSize) std::abort();  // a whole header never needs more
      continue;
    }
    if (r.status != all.status) std::abort();
    if (r.status == ws::HeaderStatus::kComplete && !sameHeader(r.header, all.header)) std::abort();
    if (r.status == ws::HeaderStatus::kError && std::string_view(r.problem) != all.problem) {
      std::abort();
    }
    return;
  }
}

void checkRoundTrip(std::string_view in) {
  if (in.size() < 9) return;
  std::uint64_t length = 0;
  for (int i = 1; i < 9; ++i) length = (length << 8) | static_cast<std::uint8_t>(in[i]);
  length &= 0x7FFFFFFFFFFFFFFFULL;
  auto op = static_cast<ws::Opcode>(static_cast<std::uint8_t>(in[0]) % 3);  // data opcodes
  const std::uint8_t mask[4] = {1, 2, 3, 4};
  std::string h;
  ws::appendHeader(h, op, true, length, mask);
  ws::HeaderResult r = ws::decodeHeader(h, true);
  if (r.status != ws::HeaderStatus::kComplete || r.header.length != length ||
      r.header.opcode != op || r.header.headerSize != h.size()) {
    std::abort();
  }
}

void checkUnmask(std::string_view in) {
  if (in.size() < 5) return;
  const std::uint8_t mask[4] = {static_cast<std::uint8_t>(in[0]), static_cast<std::uint8_t>(in[1]),
                                static_cast<std::uint8_t>(in[2]), static_cast<std::uint8_t>(in[3])};
  std::string body(in.substr(4));
  std::size_t split = static_cast<std::uint8_t>(in[0]) % (body.size() + 1);
  std::string once = body;
  ws::unmask(once.data(), once.size(), mask, 0);
  // The same in two pieces, the second continuing the mask where the first ended.
  std::string pieces = body;
  ws::unmask(pieces.data(), split, mask, 0);
  ws::unmask(pieces.data() + split, pieces.size() - split, mask, split);
  if (pieces != once) std::abort();
  ws::unmask(once.data(), once.size(), mask, 0);
  if (once != body) std::abort();
}

void checkUtf8(std::string_view in) {
  bool whole = ws::validUtf8(in);
  for (std::size_t cut = 0; cut <= in.size(); cut += 1 + in.size() / 16) {
    ws::Utf8Validator v;
    v.feed(in.substr(0, cut));
    v.feed(in.substr(cut));
    if (v.complete() != whole) std::abort();
  }
  if (whole) {
    std::size_t max = in.empty() ? 0 : static_cast<std::uint8_t>(in[0]) % (in.size() + 1);
    if (!ws::validUtf8(ws::truncateUtf8(in, max))) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  checkPrefixes(in, true);
  checkPrefixes(in, false);
  checkRoundTrip(in);
  checkUnmask(in);
  checkUtf8(in);
  return 0;
}
