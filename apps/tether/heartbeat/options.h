// Options of `tether heartbeat serve|connect`: CLI11 registration and
// validation into settings, separate from the commands so they are unit-tested.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/liveness/adaptive_interval.h"
#include "tether/liveness/heartbeat_client.h"
#include "tether/liveness/heartbeat_session.h"
#include "tether/liveness/idle_discovery.h"
#include "tether/liveness/keepalive_profile.h"
#include "tether/net/connector.h"
#include "tether/net/socket.h"

namespace tether::app::heartbeat {

using core::Millis;

/// Raw option values as typed; validated by toSettings().
struct HeartbeatArgs {
  std::string address;  // serve: --listen; connect: the positional HOST:PORT or ws:// URL
  std::string interval = "10s", timeout = "20s";
  int missedPings = 0;
  int jitter = 0;
  std::string minPingInterval = "500ms";
  int maxPingStrikes = 2;
  std::string soKeepalive, tcpUserTimeout;
  std::string sendRate = "0";
  std::string duration = "0";
  bool json = false;
  // connect --adaptive / --discover (adaptive.h, discover.h); defaults are Mars'.
  bool adaptive = false;
  std::string adaptiveMin = "210s", adaptiveMax = "10m", adaptiveStep = "60s",
              adaptiveMargin = "20s", adaptiveReprobe = "7d";
  int adaptiveSuccesses = 5, adaptiveFailures = 2;
  bool discover = false;
  std::string discoverMax = "10m";
  int discoverProbes = 8;
  std::string metricsListen;  // serve: empty or "off": none
};

struct HeartbeatSettings {
  net::SocketAddress address;
  std::string target;  // what the messages name: HOST:PORT, or the ws:// URL as given
  liveness::HeartbeatSessionOptions session;
  liveness::KeepaliveProfile keepalive;  // default: leaves sockets alone
  bool applyKeepalive = false;
  std::vector<std::string> warnings;  // from the keepalive parser (e.g. ms rounded up)
  Millis duration = 0;                // connect: 0 = run until closed or signalled
  bool json = false;
  std::optional<liveness::AdaptiveSettings> adaptive;   // connect --adaptive
  std::optional<liveness::DiscoverySettings> discover;  // connect --discover
  std::optional<net::SocketAddress> metricsListen;      // serve --metrics-listen
};

enum class Role { kServe, kConnect };

/// Registers the options of `role` on `cmd`, writing into `args`.
void addHeartbeatOptions(CLI::App& cmd, HeartbeatArgs& args, Role role);

/// Validates and converts (a ws:// URL's name is resolved here, blocking).
/// Throws UsageError (one line naming the option).
HeartbeatSettings toSettings(const HeartbeatArgs& args);

/// Applies the keepalive profile, if any, to `fd`; throws std::runtime_error on failure.
void applySocketOptions(int fd, const HeartbeatSettings& settings);
/// The same options for an outgoing connection (net::Connector); the settings
/// must outlive the connect.
net::SocketSetup socketSetup(const HeartbeatSettings& settings);
/// The library client's options for `connect` (and `--adaptive`): address,
/// session, socketSetup(), duration, and the process id as the jitter seed. The
/// settings must outlive the client.
liveness::HeartbeatClientOptions clientOptions(const HeartbeatSettings& settings);

}  // namespace tether::app::heartbeat

namespace tether::app::heartbeat {

// The two commands (heartbeat_serve.cpp, heartbeat_connect.cpp); exit codes per
// docs/heartbeat-protocol.md.
int runServe(const HeartbeatArgs& args);
int runConnect(const HeartbeatArgs& args);

}  // namespace tether::app::heartbeat
