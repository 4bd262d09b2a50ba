// The client side of RFC 6455 as a liveness::HeartbeatCodec (contract in
// tether/http/websocket_client.h). Frames from the server are decoded with
// the same header rules as the server's session (frame.h), the other way
// round: they must not be masked, and ours must be (§5.3, a fresh random key
// per frame).
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "http/websocket/client_opening.h"
#include "http/websocket/frame.h"
#include "http/websocket/utf8.h"
#include "tether/http/websocket_client.h"

namespace tether::http {
namespace {

using liveness::wire::DecodeResult;
using liveness::wire::DecodeStatus;
using liveness::wire::Frame;
using liveness::wire::FrameType;
using liveness::wire::GoodbyeReason;

std::uint64_t bigEndian64(std::string_view p) noexcept {
  std::uint64_t v = 0;
  for (char c : p) v = (v << 8) | static_cast<std::uint8_t>(c);
  return v;
}

// A masked frame, as every client frame must be.
void appendMasked(std::string& out, ws::Opcode opcode, std::string_view payload) {
  std::uint8_t mask[4];
  if (RAND_bytes(mask, sizeof mask) != 1) std::abort();  // no entropy: nothing safe to send
  ws::appendHeader(out, opcode, true, payload.size(), mask);
  std::size_t at = out.size();
  out.append(payload);
  ws::unmask(out.data() + at, payload.size(), mask, 0);
}

void appendMaskedClose(std::string& out, std::uint16_t code, std::string_view reason) {
  std::string payload;
  if (code != ws::kNoStatus) {
    payload.push_back(static_cast<char>(code >> 8));
    payload.push_back(static_cast<char>(code & 0xFF));
    payload.append(ws::truncateUtf8(reason, ws::kMaxControlPayload - 2));
  }
  appendMasked(out, ws::Opcode::kClose, payload);
}

const char* closeCodeName(std::uint16_t code) noexcept {
  switch (code) {
    case ws::kNormal: return "normal closure";
    case ws::kGoingAway: return "going away";
    case ws::kProtocolError: return "protocol error";
    case ws::kUnsupportedData: return "unsupported data";
    case ws::kNoStatus: return "no status code";
    case ws::kInvalidPayload: return "invalid payload";
    case ws::kPolicyViolation: return "policy violation";
    case ws::kMessageTooBig: return "message too big";
    case ws::kInternalError: return "internal error";
    default: return "application code";
  }
}

class ClientCodec final : public liveness::HeartbeatCodec {
 public:
  ClientCodec(std::string_view host, std::string_view target) : opening_(host, target) {}

  void appendOpening(std::string& out) override { opening_.appendRequest(out); }
  DecodeResult decodeOpening(std::string_view in) override {
    DecodeResult r = opening_.decodeResponse(in);
    opened_ = r.status == DecodeStatus::kOk;
    return r;
  }

  DecodeResult decodeFrame(std::string_view in, Frame* out) override {
    if (remaining_ > 0) return dataPiece(in, 0, out);
    ws::HeaderResult h = ws::decodeHeader(in, /*fromClient=*/false);
    if (h.status == ws::HeaderStatus::kNeedMore) return {};
    if (h.status == ws::HeaderStatus::kError) return fail(ws::kProtocolError, h.problem);
    header_ = h.header;
    if (!header_.isControl()) return startData(in, out);
    if (in.size() - header_.headerSize < header_.length) return {};
    return control(in.substr(header_.headerSize, header_.length), out);
  }

  void appendPing(std::string& out, std::uint64_t opaque) override {
    char id[8];
    for (int i = 0; i < 8; ++i) id[i] = static_cast<char>(opaque >> (56 - 8 * i));
    appendMasked(out, ws::Opcode::kPing, {id, sizeof id});
  }
  void appendPong(std::string& out, const Frame& ping) override {
    appendMasked(out, ws::Opcode::kPong, ping.payload);
  }
  void appendData(std::string& out, std::string_view data) override {
    appendMasked(out, ws::Opcode::kBinary, data);
  }

  // Before the 101 there is no WebSocket to close: the TCP close says it all.
  void appendGoodbye(std::string& out, GoodbyeReason why, std::string_view text) override {
    if (!opened_) return;
    appendMaskedClose(out, closeCodeFor(why), text);
  }
  bool appendGoodbyeReply(std::string& out, const Frame& goodbye) override {
    appendMaskedClose(out, peerCode_, {});  // echo the code (§5.5.1)
    (void)goodbye;
    return true;
  }
  bool goodbyeIsAnswered() const noexcept override { return true; }

  std::string goodbyeDetail(const Frame& goodbye) const override {
    std::string d = "the server closed the WebSocket: ";
    if (peerCode_ == ws::kNoStatus) return d + "no status code";
    d += std::to_string(peerCode_) + " " + closeCodeName(peerCode_);
    if (!goodbye.text.empty()) d += " (" + std::string(goodbye.text) + ")";
    return d;
  }

 private:
  std::uint16_t closeCodeFor(GoodbyeReason why) const noexcept {
    switch (why) {
      case GoodbyeReason::kNormal: return ws::kNormal;
      case GoodbyeReason::kShuttingDown:
      case GoodbyeReason::kHeartbeatTimeout: return ws::kGoingAway;
      case GoodbyeReason::kTooManyPings: return ws::kPolicyViolation;
      case GoodbyeReason::kProtocolError: return failCode_;
    }
    return ws::kNormal;
  }

  DecodeResult fail(std::uint16_t code, const char* problem) noexcept {
    failCode_ = code;
    return {DecodeStatus::kError, 0, problem};
  }

  // A text, binary or continuation frame: its header, then its payload in
  // pieces as it arrives (a large message never has to fit in the input).
  DecodeResult startData(std::string_view in, Frame* out) {
    bool continuation = header_.opcode == ws::Opcode::kContinuation;
    if (continuation != inMessage_) {
      return fail(ws::kProtocolError, continuation ? "continuation frame without a message"
                                                   : "new message inside a fragmented one");
    }
    if (!continuation) {
      text_ = header_.opcode == ws::Opcode::kText;
      utf8_.reset();
    }
    inMessage_ = true;
    remaining_ = header_.length;
    return dataPiece(in.substr(header_.headerSize), header_.headerSize, out);
  }

  DecodeResult dataPiece(std::string_view in, std::size_t headerBytes, Frame* out) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), remaining_));
    if (n == 0 && headerBytes == 0) return {};  // the rest of the payload is still to come
    std::string_view piece = in.substr(0, n);
    if (text_ && !utf8_.feed(piece))
      return fail(ws::kInvalidPayload, "invalid UTF-8 in a text message");
    remaining_ -= n;
    if (remaining_ == 0 && header_.fin) {
      inMessage_ = false;
      if (text_ && !utf8_.complete()) {
        return fail(ws::kInvalidPayload, "a text message ends inside a UTF-8 character");
      }
    }
    out->type = FrameType::kData;
    out->payload = piece;
    return {DecodeStatus::kOk, headerBytes + n, ""};
  }

  DecodeResult control(std::string_view payload, Frame* out) {
    out->payload = payload;
    std::size_t used = header_.headerSize + payload.size();
    switch (header_.opcode) {
      case ws::Opcode::kPing: out->type = FrameType::kPing; break;
      case ws::Opcode::kPong:
        // Ours carry the 8-byte ping id; anything else is an unsolicited pong.
        out->type = FrameType::kPong;
        out->opaque = payload.size() == 8 ? bigEndian64(payload) : 0;
        break;
      default: return closeFrame(payload, out, used);
    }
    return {DecodeStatus::kOk, used, ""};
  }

  DecodeResult closeFrame(std::string_view payload, Frame* out, std::size_t used) {
    if (payload.size() == 1) return fail(ws::kProtocolError, "close frame of 1 byte");
    peerCode_ = ws::kNoStatus;
    if (payload.size() >= 2) {
      peerCode_ = static_cast<std::uint16_t>(bigEndian64(payload.substr(0, 2)));
      if (!ws::validReceivedCloseCode(peerCode_)) {
        return fail(ws::kProtocolError, "invalid close code");
      }
      if (!ws::validUtf8(payload.substr(2))) {
        return fail(ws::kInvalidPayload, "invalid UTF-8 in the close reason");
      }
      out->text = payload.substr(2);
    }
    out->type = FrameType::kGoodbye;
    out->code = peerCode_ == ws::kNoStatus ? 0 : peerCode_;
    out->reason = reasonFor(peerCode_, out->text);
    return {DecodeStatus::kOk, used, ""};
  }

  // 1008 is any policy; it means "too many pings" when the reason says so
  // (tether's servers and gRPC's do), which has its own exit code.
  static GoodbyeReason reasonFor(std::uint16_t code, std::string_view reason) noexcept {
    if (code == ws::kPolicyViolation && reason.find("ping") != std::string_view::npos) {
      return GoodbyeReason::kTooManyPings;
    }
    if (code == ws::kGoingAway) return GoodbyeReason::kShuttingDown;
    return code == ws::kProtocolError || code == ws::kInvalidPayload ? GoodbyeReason::kProtocolError
                                                                     : GoodbyeReason::kNormal;
  }

  ws::ClientOpening opening_;
  bool opened_ = false;
  ws::FrameHeader header_;       // of the frame being decoded
  std::uint64_t remaining_ = 0;  // payload bytes of the current data frame still to come
  bool inMessage_ = false;       // a fragmented message is open
  bool text_ = false;            // ...and it is text
  ws::Utf8Validator utf8_;
  std::uint16_t peerCode_ = ws::kNoStatus;       // of the server's close frame
  std::uint16_t failCode_ = ws::kProtocolError;  // for our close after a decode error
};

}  // namespace

liveness::HeartbeatCodecFactory webSocketHeartbeatCodec(std::string hostHeader,
                                                        std::string target) {
  return [host = std::move(hostHeader), target = std::move(target)] {
    return std::make_unique<ClientCodec>(host, target);
  };
}

}  // namespace tether::http
