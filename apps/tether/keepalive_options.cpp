#include "keepalive_options.h"

#include <fmt/format.h>

#include <stdexcept>

#include "commands.h"
#include "help_format.h"

namespace tether::app {

void addKeepaliveOptions(CLI::App& cmd, std::string& soKeepalive, std::string& tcpUserTimeout,
                         const std::string& sockets) {
  label(cmd.add_option("--so-keepalive", soKeepalive,
                       "TCP keepalive on " + sockets +
                           ": on, off or IDLE:INTVL:CNT (nginx syntax; an empty field keeps the "
                           "system value: 30m::10; so do missing ones at the end: 30:1)"),
        "on|off|IDLE:INTVL:CNT")
      ->default_str("system, off");
  label(cmd.add_option("--tcp-user-timeout", tcpUserTimeout,
                       "TCP_USER_TIMEOUT on " + sockets +
                           ": unacknowledged data older than this ends the connection; 0: not set"),
        "DURATION")
      ->default_str("not set");
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
