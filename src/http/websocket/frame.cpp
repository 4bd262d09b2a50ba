#include "frame.h"

#include "utf8.h"

namespace tether::http::ws {
namespace {

bool knownOpcode(std::uint8_t op) noexcept { return op <= 0x2 || (op >= 0x8 && op <= 0xA); }

HeaderResult error(const char* problem) noexcept {
  HeaderResult r;
  r.status = HeaderStatus::kError;
  r.problem = problem;
  return r;
}

std::uint64_t bigEndian(const std::uint8_t* p, int n) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

HeaderResult decodeHeader(std::string_view bytes, bool fromClient) noexcept {
  HeaderResult r;
  if (bytes.size() < 2) return r;
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  FrameHeader& h = r.header;
  h.fin = p[0] & 0x80;
  h.rsv = (p[0] >> 4) & 0x7;
  std::uint8_t op = p[0] & 0x0F;
  h.masked = p[1] & 0x80;
  std::uint64_t len7 = p[1] & 0x7F;
  // Everything the first two bytes decide is checked before waiting for more.
  if (h.rsv != 0) return error("reserved bits set without an extension");
  if (!knownOpcode(op)) return error("reserved opcode");
  h.opcode = static_cast<Opcode>(op);
  if (h.isControl() && !h.fin) return error("fragmented control frame");
  if (h.isControl() && len7 > kMaxControlPayload) return error("control frame over 125 bytes");
  if (fromClient && !h.masked) return error("unmasked frame from a client");
  if (!fromClient && h.masked) return error("masked frame from a server");
  int extended = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  std::size_t size = 2 + static_cast<std::size_t>(extended) + (h.masked ? 4 : 0);
  if (bytes.size() < size) return r;
  h.length = extended == 0 ? len7 : bigEndian(p + 2, extended);
  if (extended == 2 && h.length < 126) return error("length not in its shortest form");
  if (extended == 8 && (h.length >> 63) != 0) return error("length with its top bit set");
  if (extended == 8 && h.length <= 0xFFFF) return error("length not in its shortest form");
  if (h.masked) {
    for (int i = 0; i < 4; ++i) h.mask[i] = p[2 + extended + i];
  }
  h.headerSize = size;
  r.status = HeaderStatus::kComplete;
  return r;
}

void unmask(char* data, std::size_t len, const std::uint8_t mask[4],
            std::uint64_t offset) noexcept {
  std::size_t i = 0;
  // Align to the mask so the bulk runs a whole word at a time.
  for (; i < len && (offset + i) % 4 != 0; ++i)
    data[i] ^= static_cast<char>(mask[(offset + i) % 4]);
  std::uint32_t m4;
  static_assert(sizeof(m4) == 4);
  __builtin_memcpy(&m4, mask, 4);
  std::uint64_t m8 = (static_cast<std::uint64_t>(m4) << 32) | m4;
  for (; i + 8 <= len; i += 8) {
    std::uint64_t w;
    __builtin_memcpy(&w, data + i, 8);
    w ^= m8;
    __builtin_memcpy(data + i, &w, 8);
  }
  for (; i < len; ++i) data[i] ^= static_cast<char>(mask[(offset + i) % 4]);
}

void appendHeader(std::string& out, Opcode opcode, bool fin, std::uint64_t length,
                  const std::uint8_t* mask) {
  char h[kMaxHeaderSize];
  std::size_t n = 0;
  h[n++] = static_cast<char>((fin ? 0x80 : 0) | static_cast<std::uint8_t>(opcode));
  char maskBit = mask != nullptr ? static_cast<char>(0x80) : 0;
  if (length < 126) {
    h[n++] = static_cast<char>(maskBit | static_cast<char>(length));
  } else if (length <= 0xFFFF) {
    h[n++] = static_cast<char>(maskBit | 126);
    for (int shift = 8; shift >= 0; shift -= 8) h[n++] = static_cast<char>(length >> shift);
  } else {
    h[n++] = static_cast<char>(maskBit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) h[n++] = static_cast<char>(length >> shift);
  }
  if (mask != nullptr) {
    for (int i = 0; i < 4; ++i) h[n++] = static_cast<char>(mask[i]);
  }
  out.append(h, n);
}

void appendFrame(std::string& out, Opcode opcode, std::string_view payload, bool fin) {
  appendHeader(out, opcode, fin, payload.size());
  out.append(payload);
}

void appendClose(std::string& out, std::uint16_t code, std::string_view reason) {
  if (code == kNoStatus) return appendFrame(out, Opcode::kClose, {});
  reason = truncateUtf8(reason, kMaxControlPayload - 2);
  appendHeader(out, Opcode::kClose, true, 2 + reason.size());
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason);
}

bool validReceivedCloseCode(std::uint16_t code) noexcept {
  if (code >= 3000 && code <= 4999) return true;
  if (code < 1000 || code > 1014) return false;
  return code != 1004 && code != 1005 && code != 1006;
}

const char* opcodeName(Opcode op) noexcept {
  switch (op) {
    case Opcode::kContinuation: return "continuation";
    case Opcode::kText: return "text";
    case Opcode::kBinary: return "binary";
    case Opcode::kClose: return "close";
    case Opcode::kPing: return "ping";
    case Opcode::kPong: return "pong";
  }
  return "?";
}

}  // namespace tether::http::ws
