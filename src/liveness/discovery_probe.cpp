#include "liveness/discovery_probe.h"

namespace tether::liveness {

DiscoveryProbe::DiscoveryProbe(DiscoveryRunner& owner, net::EventLoop& loop, Millis idle)
    : owner_(owner),
      loop_(loop),
      idle_(idle),
      connector_(loop, [this](int fd, int err) { onConnectDone(fd, err); }) {}

void DiscoveryProbe::start(const DiscoveryOptions& options) {
  session_.heartbeat = options.heartbeat;
  session_.heartbeat.interval = idle_;  // the one ping goes out after `idle` of silence
  session_.heartbeat.jitterPercent = 0;
  session_.heartbeat.missedPingsAllowed = 0;
  session_.sendRate = 0;
  seed_ = options.seed;
  // No keepalive: a probe must send nothing before its ping. A user timeout is fine.
  net::SocketSetup setup;
  setup.prepare = [userTimeout = options.userTimeout](int fd) {
    if (userTimeout > 0) net::setUserTimeout(fd, static_cast<unsigned>(userTimeout));
    return true;
  };
  connector_.start(options.address, options.heartbeat.timeout, setup);
}

void DiscoveryProbe::onConnectDone(int fd, int err) {
  if (fd < 0) return owner_.onProbeConnectError(err);
  connection_ = std::make_unique<HeartbeatSession>(loop_, fd, session_,
                                                   static_cast<HeartbeatSessionObserver&>(*this),
                                                   static_cast<std::uint64_t>(loop_.now()) ^ seed_);
  connection_->start();
}

void DiscoveryProbe::onPong(HeartbeatSession& s, double) {
  decide(ProbeVerdict::kSurvived, "pong");
  s.closeWithGoodbye(wire::GoodbyeReason::kNormal, SessionCloseReason::kLocal, "probe done");
}

void DiscoveryProbe::onClosed(HeartbeatSession&, const SessionClose& info) {
  if (info.reason == SessionCloseReason::kLocal) return;  // we closed it after deciding
  // Timeout (blackholed ping) or reset (the middlebox's RST): the path died.
  // A goodbye or EOF from the server is not a path verdict either, but counts
  // as died so the search stays conservative.
  decide(ProbeVerdict::kDied, sessionCloseReasonName(info.reason));
}

void DiscoveryProbe::cancel() {
  connector_.cancel();
  verdict_ = ProbeVerdict::kCancelled;
  if (connection_ && !connection_->closed()) {
    connection_->closeWithGoodbye(wire::GoodbyeReason::kNormal, SessionCloseReason::kLocal,
                                  "probe cancelled");
  }
}

void DiscoveryProbe::decide(ProbeVerdict v, std::string_view reason) {
  if (verdict_ != ProbeVerdict::kPending) return;
  verdict_ = v;
  owner_.onProbeVerdict(*this, reason);
}

}  // namespace tether::liveness
