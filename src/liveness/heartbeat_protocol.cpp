#include "tether/liveness/heartbeat_protocol.h"

#include <algorithm>

namespace tether::liveness::wire {
namespace {

std::uint8_t byteAt(std::string_view in, std::size_t i) noexcept {
  return static_cast<std::uint8_t>(in[i]);
}

std::uint64_t readU64(std::string_view in) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | byteAt(in, i);
  return v;
}

void appendHeader(std::string& out, FrameType type, std::size_t length) {
  out.push_back(static_cast<char>(type));
  out.push_back(0);  // flags: none defined in version 1
  out.push_back(static_cast<char>((length >> 8) & 0xFF));
  out.push_back(static_cast<char>(length & 0xFF));
}

void appendU64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

DecodeResult fail(const char* error) noexcept { return {DecodeStatus::kError, 0, error}; }

// Type-specific payload rules, applied once the whole frame is present.
DecodeResult checkPayload(Frame* out) noexcept {
  std::string_view p = out->payload;
  switch (out->type) {
    case FrameType::kPing:
    case FrameType::kPong:
      if (p.size() != kPingPayload) return fail("PING/PONG payload is not 8 bytes");
      out->opaque = readU64(p);
      break;
    case FrameType::kData: break;
    case FrameType::kGoodbye:
      if (p.empty()) return fail("GOODBYE without a reason code");
      if (p.size() - 1 > kMaxGoodbyeText) return fail("GOODBYE text too long");
      out->reason = static_cast<GoodbyeReason>(byteAt(p, 0));
      out->text = p.substr(1);
      break;
  }
  return {DecodeStatus::kOk, kHeaderSize + p.size(), ""};
}

}  // namespace

std::string_view goodbyeReasonName(std::uint8_t reason) noexcept {
  switch (static_cast<GoodbyeReason>(reason)) {
    case GoodbyeReason::kNormal: return "normal";
    case GoodbyeReason::kShuttingDown: return "shutting_down";
    case GoodbyeReason::kHeartbeatTimeout: return "heartbeat_timeout";
    case GoodbyeReason::kTooManyPings: return "too_many_pings";
    case GoodbyeReason::kProtocolError: return "protocol_error";
  }
  return "unknown";
}

DecodeResult decodeHello(std::string_view in) noexcept {
  // Judge each byte as soon as it arrives: a wrong magic is an error at once.
  if (!in.empty() && byteAt(in, 0) != kMagic)
    return fail("not a tether heartbeat peer (bad magic)");
  if (in.size() < kHelloSize) return {};
  if (byteAt(in, 1) != kVersion) return fail("unsupported heartbeat protocol version");
  return {DecodeStatus::kOk, kHelloSize, ""};
}

DecodeResult decodeFrame(std::string_view in, Frame* out) noexcept {
  if (in.empty()) return {};
  std::uint8_t type = byteAt(in, 0);
  if (type < static_cast<std::uint8_t>(FrameType::kPing) ||
      type > static_cast<std::uint8_t>(FrameType::kGoodbye)) {
    return fail("unknown frame type");
  }
  if (in.size() >= 2 && byteAt(in, 1) != 0) return fail("reserved frame flags set");
  if (in.size() < kHeaderSize) return {};
  std::size_t length = (std::size_t{byteAt(in, 2)} << 8) | byteAt(in, 3);
  if (length > kMaxPayload) return fail("frame larger than 16 KiB");
  if (in.size() < kHeaderSize + length) return {};
  *out = Frame{};
  out->type = static_cast<FrameType>(type);
  out->payload = in.substr(kHeaderSize, length);
  return checkPayload(out);
}

void appendHello(std::string& out) {
  out.push_back(static_cast<char>(kMagic));
  out.push_back(static_cast<char>(kVersion));
}

void appendPing(std::string& out, std::uint64_t opaque) {
  appendHeader(out, FrameType::kPing, kPingPayload);
  appendU64(out, opaque);
}

void appendPong(std::string& out, std::uint64_t opaque) {
  appendHeader(out, FrameType::kPong, kPingPayload);
  appendU64(out, opaque);
}

void appendData(std::string& out, std::string_view data) {
  appendHeader(out, FrameType::kData, data.size());
  out.append(data);
}

void appendGoodbye(std::string& out, GoodbyeReason reason, std::string_view text) {
  text = text.substr(0, std::min(text.size(), kMaxGoodbyeText));
  appendHeader(out, FrameType::kGoodbye, 1 + text.size());
  out.push_back(static_cast<char>(reason));
  out.append(text);
}

}  // namespace tether::liveness::wire
