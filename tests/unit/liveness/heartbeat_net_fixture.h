// Test-only: a loop on a ManualClock, driven in virtual time, with a
// liveness::HeartbeatServer on 127.0.0.1 whose events are recorded. The base
// of the server, client, adaptive driver and discovery runner tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tether/liveness/heartbeat_server.h"
#include "tether/net/socket.h"
#include "virtual_time.h"

namespace tether::liveness::testing {

/// What a HeartbeatServer reported, with the loop time of each close.
struct ServerLog final : HeartbeatServerObserver {
  struct Closed {
    std::string peer;
    SessionClose info;
    Millis at = 0;
  };
  explicit ServerLog(net::EventLoop& l) : loop(l) {}
  void onConnected(std::string_view peer) override { connected.emplace_back(peer); }
  void onPingSent(std::string_view, std::uint64_t) override { ++pingsSent; }
  void onPong(std::string_view, double rttMs) override { pongs.push_back(rttMs); }
  void onClosed(std::string_view peer, const SessionClose& info) override {
    closed.push_back({std::string(peer), info, loop.now()});
  }

  net::EventLoop& loop;
  std::vector<std::string> connected;
  int pingsSent = 0;
  std::vector<double> pongs;
  std::vector<Closed> closed;
};

class HeartbeatNetTest : public ::testing::Test {
 protected:
  /// A server that never pings (the adaptive and discovery peer) and accepts
  /// pings at any rate.
  static HeartbeatSessionOptions quietServer() {
    HeartbeatSessionOptions o;
    o.heartbeat.interval = 0;
    o.heartbeat.minPingInterval = 0;
    return o;
  }

  void startServer(const HeartbeatSessionOptions& options) {
    auto any = net::parseSocketAddress("127.0.0.1:0");
    int fd = net::listenTcp(*any, 64, &serverAddress);
    ASSERT_GE(fd, 0);
    server = std::make_unique<HeartbeatServer>(loop, fd, options, serverLog);
  }

  core::ManualClock clock{0};
  net::EventLoop loop{clock};
  VirtualTime time{clock, loop};
  ServerLog serverLog{loop};
  net::SocketAddress serverAddress;
  std::unique_ptr<HeartbeatServer> server;
};

}  // namespace tether::liveness::testing
