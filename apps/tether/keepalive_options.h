// --so-keepalive and --tcp-user-timeout: one syntax and one set of messages for
// every tool (serve, heartbeat, bench, inspect). Parsing only; thread-safe.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tether/liveness/keepalive_profile.h"

namespace tether::app {

struct KeepaliveArgs {
  std::string soKeepalive;     // empty: leave SO_KEEPALIVE alone
  std::string tcpUserTimeout;  // empty: not set
};

/// Registers both options on `cmd`, writing into the two strings; `sockets` says
/// where they apply ("accepted sockets").
void addKeepaliveOptions(CLI::App& cmd, std::string& soKeepalive, std::string& tcpUserTimeout,
                         const std::string& sockets);
inline void addKeepaliveOptions(CLI::App& cmd, KeepaliveArgs& args, const std::string& sockets) {
  addKeepaliveOptions(cmd, args.soKeepalive, args.tcpUserTimeout, sockets);
}

/// The profile to apply, or nullopt when neither option was given. Parser
/// warnings (milliseconds rounded up) are appended to `warnings`. Throws
/// UsageError naming the option.
std::optional<liveness::KeepaliveProfile> toKeepaliveProfile(const KeepaliveArgs& args,
                                                             std::vector<std::string>& warnings);

}  // namespace tether::app
