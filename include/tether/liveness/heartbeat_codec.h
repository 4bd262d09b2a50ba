// The bytes a HeartbeatSession speaks, behind one seam: tether's own heartbeat
// protocol (heartbeat_protocol.h, the default) or another protocol with pings
// and pongs, such as WebSocket (tether/http/websocket_client.h). The session
// keeps the engine, the socket, the queues and the close reasons; the codec
// only turns frames into bytes and bytes into wire::Frame values.
//
// Threading: a codec belongs to one session on one loop thread. Decoded
// frames' views point into the session's input or into the codec (valid until
// the next decode call).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tether/liveness/heartbeat_protocol.h"

namespace tether::liveness {

class HeartbeatCodec {
 public:
  virtual ~HeartbeatCodec() = default;

  /// Appends what opens the connection (the hello; an HTTP upgrade request).
  virtual void appendOpening(std::string& out) = 0;
  /// Decodes the peer's side of the opening at the start of `in`. kNeedMore may
  /// report `consumed` > 0 (bytes the codec has kept); kOk ends the opening.
  virtual wire::DecodeResult decodeOpening(std::string_view in) = 0;
  /// Decodes the next frame at the start of `in`. A DATA frame may be a piece
  /// of a longer message (its bytes only count as data received).
  virtual wire::DecodeResult decodeFrame(std::string_view in, wire::Frame* out) = 0;

  virtual void appendPing(std::string& out, std::uint64_t opaque) = 0;
  /// Answers `ping` (a frame decodeFrame() returned, still valid).
  virtual void appendPong(std::string& out, const wire::Frame& ping) = 0;
  /// `data.size()` <= wire::kMaxPayload.
  virtual void appendData(std::string& out, std::string_view data) = 0;
  virtual void appendGoodbye(std::string& out, wire::GoodbyeReason why, std::string_view text) = 0;
  /// Answers the peer's goodbye if the protocol asks for it (WebSocket echoes
  /// the close frame); returns whether it appended anything.
  virtual bool appendGoodbyeReply(std::string& /*out*/, const wire::Frame& /*goodbye*/) {
    return false;
  }
  /// How the peer's goodbye reads in a close reason's detail.
  virtual std::string goodbyeDetail(const wire::Frame& goodbye) const;
  /// Whether our goodbye is answered (a close handshake): then the session
  /// waits a little for the answer or the peer's FIN before it closes.
  virtual bool goodbyeIsAnswered() const noexcept { return false; }
};

/// Makes one codec per connection. Empty: tether's heartbeat protocol.
using HeartbeatCodecFactory = std::function<std::unique_ptr<HeartbeatCodec>()>;

/// tether's heartbeat protocol (docs/heartbeat-protocol.md).
std::unique_ptr<HeartbeatCodec> makeTetherHeartbeatCodec();

}  // namespace tether::liveness
