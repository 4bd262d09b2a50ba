// RFC 6455 framing (§5): decoding a frame header in place, unmasking, encoding
// server frames, and the close-code rules (§7.4). Pure functions, no I/O and
// no allocation: the session parses straight out of its read buffer and
// writes frames into its output string.
//
// Why our own framing and not Debian's libwslay: wslay's contexts embed two
// 4 KiB arrays each (its frame reader's input buffer and its writer's output
// buffer), so every open WebSocket would hold ~8.5 KiB even while idle, where
// our idle connections hold no buffers; and its event API owns a send queue
// that would duplicate the stream's ordered output. The codec is small, pure
// and fuzzed; the unit tests check it against wslay's client as a reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tether::http::ws {

enum class Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

/// Close codes (RFC 6455 §7.4.1) that tether sends.
enum CloseCode : std::uint16_t {
  kNormal = 1000,
  kGoingAway = 1001,
  kProtocolError = 1002,
  kUnsupportedData = 1003,
  kNoStatus = 1005,  // never sent: "the close frame had no code"
  kAbnormal = 1006,  // never sent: "no close frame at all"
  kInvalidPayload = 1007,
  kPolicyViolation = 1008,
  kMessageTooBig = 1009,
  kInternalError = 1011,
};

inline constexpr std::size_t kMaxControlPayload = 125;
/// Longest header: 2 bytes, 8 of extended length, 4 of mask.
inline constexpr std::size_t kMaxHeaderSize = 14;

struct FrameHeader {
  bool fin = false;
  std::uint8_t rsv = 0;  // RSV1..3 as bits 2..0
  Opcode opcode = Opcode::kContinuation;
  bool masked = false;
  std::uint8_t mask[4] = {0, 0, 0, 0};
  std::uint64_t length = 0;
  std::size_t headerSize = 0;  // bytes the header took
  bool isControl() const noexcept { return static_cast<std::uint8_t>(opcode) & 0x8; }
};

/// What decodeHeader() found.
enum class HeaderStatus : std::uint8_t {
  kComplete,
  kNeedMore,  // the header is not all in `bytes` yet
  kError,     // a violation of §5.2 (then `problem` says which)
};

struct HeaderResult {
  HeaderStatus status = HeaderStatus::kNeedMore;
  FrameHeader header;
  const char* problem = nullptr;  // kError: the close reason to send (1002)
};

/// Decodes the frame header at the start of `bytes`, checking what can be
/// checked from the header alone, for frames a client sends (`fromClient`:
/// they must be masked, §5.1) or a server sends (must not be): RSV bits
/// (no extension is negotiated), reserved opcodes, control frames fragmented
/// or over 125 bytes, non-minimal or 64-bit lengths with the top bit set.
HeaderResult decodeHeader(std::string_view bytes, bool fromClient) noexcept;

/// XORs `len` bytes at `data` with `mask`, the first byte being byte `offset`
/// of the payload (payloads arrive in pieces).
void unmask(char* data, std::size_t len, const std::uint8_t mask[4], std::uint64_t offset) noexcept;

/// Appends a frame header for an unmasked (server) frame, or a masked one
/// (client) when `mask` is given; the payload follows, masked by the caller.
void appendHeader(std::string& out, Opcode opcode, bool fin, std::uint64_t length,
                  const std::uint8_t* mask = nullptr);
/// Appends a whole unmasked frame.
void appendFrame(std::string& out, Opcode opcode, std::string_view payload, bool fin = true);
/// Appends a close frame with `code` and `reason` (truncated to fit 125 bytes
/// at a UTF-8 boundary); kNoStatus appends an empty close frame.
void appendClose(std::string& out, std::uint16_t code, std::string_view reason);

/// A code a peer may send in a close frame (§7.4): 1000-1003, 1007-1011,
/// 1012-1014 (registered since), 3000-4999.
bool validReceivedCloseCode(std::uint16_t code) noexcept;

const char* opcodeName(Opcode op) noexcept;

}  // namespace tether::http::ws
