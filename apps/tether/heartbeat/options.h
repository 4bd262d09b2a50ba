// Options of `tether heartbeat serve|connect`: CLI11 registration and
// validation into settings, separate from the commands so they are unit-tested.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "heartbeat/session.h"
#include "tether/liveness/keepalive_profile.h"
#include "tether/net/socket.h"

namespace tether::app::heartbeat {

/// Raw option values as typed; validated by toSettings().
struct HeartbeatArgs {
  std::string address;  // serve: --listen; connect: the positional HOST:PORT
  std::string interval = "10s", timeout = "20s";
  int missedPings = 0;
  int jitter = 0;
  std::string minPingInterval = "500ms";
  int maxPingStrikes = 2;
  std::string soKeepalive, tcpUserTimeout;
  std::string sendRate = "0";
  std::string duration = "0";
  bool json = false;
};

struct HeartbeatSettings {
  net::SocketAddress address;
  SessionOptions session;
  liveness::KeepaliveProfile keepalive;  // default: leaves sockets alone
  bool applyKeepalive = false;
  std::vector<std::string> warnings;  // from the keepalive parser (e.g. ms rounded up)
  Millis duration = 0;                // connect: 0 = run until closed or signalled
  bool json = false;
};

enum class Role { kServe, kConnect };

/// Registers the options of `role` on `cmd`, writing into `args`.
void addHeartbeatOptions(CLI::App& cmd, HeartbeatArgs& args, Role role);

/// Validates and converts. Throws UsageError (one line naming the option).
HeartbeatSettings toSettings(const HeartbeatArgs& args);

/// Applies the keepalive profile, if any, to `fd`; throws std::runtime_error on failure.
void applySocketOptions(int fd, const HeartbeatSettings& settings);

}  // namespace tether::app::heartbeat

namespace tether::app::heartbeat {

// The two commands (heartbeat_serve.cpp, heartbeat_connect.cpp); exit codes per
// docs/heartbeat-protocol.md.
int runServe(const HeartbeatArgs& args);
int runConnect(const HeartbeatArgs& args);

}  // namespace tether::app::heartbeat
