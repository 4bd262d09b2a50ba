// What a HeartbeatSession told its observer, for tests: pings sent, RTTs,
// and how it closed.
#pragma once

#include <optional>
#include <vector>

#include "tether/liveness/heartbeat_session.h"

namespace tether::liveness::testing {

struct SessionRecorder final : HeartbeatSessionObserver {
  bool opened = false;
  int peerPings = 0;
  int pingsSent = 0;
  std::vector<double> rtts;
  std::optional<SessionClose> closed;
  void onOpened(HeartbeatSession&) override { opened = true; }
  void onPeerPing(HeartbeatSession&) override { ++peerPings; }
  void onPingSent(HeartbeatSession&, std::uint64_t) override { ++pingsSent; }
  void onPong(HeartbeatSession&, double rttMs) override { rtts.push_back(rttMs); }
  void onClosed(HeartbeatSession&, const SessionClose& info) override { closed = info; }
};

}  // namespace tether::liveness::testing
