// tether's own heartbeat protocol as a HeartbeatCodec: a thin adapter over the
// pure wire:: functions.
#include "tether/liveness/heartbeat_codec.h"

namespace tether::liveness {
namespace {

class TetherCodec final : public HeartbeatCodec {
 public:
  void appendOpening(std::string& out) override { wire::appendHello(out); }
  wire::DecodeResult decodeOpening(std::string_view in) override { return wire::decodeHello(in); }
  wire::DecodeResult decodeFrame(std::string_view in, wire::Frame* out) override {
    return wire::decodeFrame(in, out);
  }
  void appendPing(std::string& out, std::uint64_t opaque) override {
    wire::appendPing(out, opaque);
  }
  void appendPong(std::string& out, const wire::Frame& ping) override {
    wire::appendPong(out, ping.opaque);
  }
  void appendData(std::string& out, std::string_view data) override { wire::appendData(out, data); }
  void appendGoodbye(std::string& out, wire::GoodbyeReason why, std::string_view text) override {
    wire::appendGoodbye(out, why, text);
  }
};

}  // namespace

std::string HeartbeatCodec::goodbyeDetail(const wire::Frame& goodbye) const {
  auto code = static_cast<std::uint8_t>(goodbye.reason);
  std::string detail = "peer said goodbye: " + std::string(wire::goodbyeReasonName(code));
  if (!goodbye.text.empty()) detail += " (" + std::string(goodbye.text) + ")";
  return detail;
}

std::unique_ptr<HeartbeatCodec> makeTetherHeartbeatCodec() {
  return std::make_unique<TetherCodec>();
}

}  // namespace tether::liveness
