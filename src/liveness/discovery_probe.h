// One probe connection of the DiscoveryRunner: connect, idle for `idle`, one
// ping, a verdict reported to the runner.
//
// Threading: loop-thread only. Ownership: owned by its runner, which outlives it.
#pragma once

#include <memory>
#include <string_view>

#include "tether/liveness/discovery_runner.h"
#include "tether/liveness/heartbeat_session.h"
#include "tether/net/connector.h"

namespace tether::liveness {

class DiscoveryProbe final : private HeartbeatSessionObserver {
 public:
  DiscoveryProbe(DiscoveryRunner& owner, net::EventLoop& loop, Millis idle);
  DiscoveryProbe(const DiscoveryProbe&) = delete;
  DiscoveryProbe& operator=(const DiscoveryProbe&) = delete;

  void start(const DiscoveryOptions& options);
  /// No verdict: the connect is abandoned, or the session says GOODBYE(normal).
  void cancel();
  Millis idle() const noexcept { return idle_; }
  ProbeVerdict verdict() const noexcept { return verdict_; }

 private:
  void onConnectDone(int fd, int err);
  void onPong(HeartbeatSession& s, double rttMs) override;
  void onClosed(HeartbeatSession& s, const SessionClose& info) override;
  void decide(ProbeVerdict v, std::string_view reason);

  DiscoveryRunner& owner_;
  net::EventLoop& loop_;
  Millis idle_;
  HeartbeatSessionOptions session_;
  std::uint64_t seed_ = 0;
  std::unique_ptr<HeartbeatSession> connection_;
  ProbeVerdict verdict_ = ProbeVerdict::kPending;
  net::Connector connector_;
};

}  // namespace tether::liveness
