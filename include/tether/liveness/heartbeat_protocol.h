// The heartbeat wire protocol (docs/heartbeat-protocol.md): a 2-byte hello
// (magic, version), then frames [type u8][flags u8][length u16 BE][payload].
//
// Contract: pure functions over byte strings, no allocation on decode, no
// exceptions; thread-safe. Decoding is strict and incremental: it reports
// "need more bytes" for any prefix of a valid frame (so input split anywhere,
// even byte by byte, decodes the same) and an error for anything malformed,
// never reading past the input it was given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tether::liveness::wire {

constexpr std::uint8_t kMagic = 0xB7;  // unlikely first byte of text protocols (HTTP, TLS 0x16)
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kHelloSize = 2;
constexpr std::size_t kHeaderSize = 4;
constexpr std::size_t kMaxPayload = 16 * 1024;  // larger frames are a protocol error
constexpr std::size_t kPingPayload = 8;
constexpr std::size_t kMaxGoodbyeText = 256;

enum class FrameType : std::uint8_t { kPing = 1, kPong = 2, kData = 3, kGoodbye = 4 };

/// Why a peer says goodbye (first payload byte of GOODBYE).
enum class GoodbyeReason : std::uint8_t {
  kNormal = 0,            // the sender is done (e.g. --duration reached)
  kShuttingDown = 1,      // the sender process is exiting (SIGTERM)
  kHeartbeatTimeout = 2,  // the sender stopped hearing from the receiver
  kTooManyPings = 3,      // the receiver pinged faster than the sender's policy allows
  kProtocolError = 4,     // the sender could not decode the receiver's bytes
};

/// Name used in logs and JSON events: "normal", "too_many_pings", ... ("unknown" otherwise).
std::string_view goodbyeReasonName(std::uint8_t reason) noexcept;

/// A decoded frame. `payload` points into the decoder's input: valid until it changes.
struct Frame {
  FrameType type = FrameType::kData;
  std::string_view payload;
  std::uint64_t opaque = 0;                       // PING/PONG
  GoodbyeReason reason = GoodbyeReason::kNormal;  // GOODBYE
  std::string_view text;                          // GOODBYE
  std::uint16_t code = 0;  // GOODBYE from a protocol with close codes (WebSocket); 0 otherwise
};

enum class DecodeStatus : std::uint8_t { kOk, kNeedMore, kError };

struct DecodeResult {
  DecodeStatus status = DecodeStatus::kNeedMore;
  std::size_t consumed = 0;  // bytes of input used by the hello or frame (kOk only)
  const char* error = "";    // static one-line message (kError only)
};

/// Checks the peer's hello at the start of `in`.
DecodeResult decodeHello(std::string_view in) noexcept;
/// Decodes the frame at the start of `in` into `out`.
DecodeResult decodeFrame(std::string_view in, Frame* out) noexcept;

// Encoders append to `out` (the connection's output queue).
void appendHello(std::string& out);
void appendPing(std::string& out, std::uint64_t opaque);
void appendPong(std::string& out, std::uint64_t opaque);
/// `data.size()` must be <= kMaxPayload; callers split larger payloads.
void appendData(std::string& out, std::string_view data);
/// `text` is truncated to kMaxGoodbyeText bytes.
void appendGoodbye(std::string& out, GoodbyeReason reason, std::string_view text);

}  // namespace tether::liveness::wire
