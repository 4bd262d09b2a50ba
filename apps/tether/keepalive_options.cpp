#include "keepalive_options.h"

#include <fmt/format.h>

#include <stdexcept>

#include "commands.h"

namespace tether::app {

void addKeepaliveOptions(CLI::App& cmd, KeepaliveArgs& args, const std::string& sockets) {
  cmd.add_option("--so-keepalive", args.soKeepalive,
                 "TCP keepalive on " + sockets + ": on, off or IDLE:INTVL:CNT (30m::10)");
  cmd.add_option("--tcp-user-timeout", args.tcpUserTimeout,
                 "TCP_USER_TIMEOUT on " + sockets + ", e.g. 4s (0: system default)");
}

std::optional<liveness::KeepaliveProfile> toKeepaliveProfile(const KeepaliveArgs& args,
                                                             std::vector<std::string>& warnings) {
  if (args.soKeepalive.empty() && args.tcpUserTimeout.empty()) return std::nullopt;
  liveness::KeepaliveProfile p;
  try {
    if (!args.soKeepalive.empty()) p = liveness::parseKeepaliveProfile(args.soKeepalive, &warnings);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("--so-keepalive: {}", e.what()));
  }
  try {
    if (!args.tcpUserTimeout.empty())
      p.userTimeout = liveness::parseUserTimeout(args.tcpUserTimeout);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("--tcp-user-timeout: {}", e.what()));
  }
  return p;
}

}  // namespace tether::app
