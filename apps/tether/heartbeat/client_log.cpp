#include "heartbeat/client_log.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstring>

namespace tether::app::heartbeat {
namespace {

// Exit codes of the shared CLI contract.
constexpr int kExitOk = 0, kExitError = 1, kExitHeartbeatTimeout = 3, kExitTcpTimeout = 4,
              kExitPeerClosed = 5, kExitPeerReset = 6;

}  // namespace

int exitCodeFor(liveness::SessionCloseReason reason) noexcept {
  switch (reason) {
    case liveness::SessionCloseReason::kLocal: return kExitOk;
    case liveness::SessionCloseReason::kHeartbeatTimeout: return kExitHeartbeatTimeout;
    case liveness::SessionCloseReason::kKeepaliveTimeout:
    case liveness::SessionCloseReason::kUserTimeout: return kExitTcpTimeout;
    case liveness::SessionCloseReason::kPeerClosed:
    case liveness::SessionCloseReason::kTooManyPings: return kExitPeerClosed;
    case liveness::SessionCloseReason::kPeerReset: return kExitPeerReset;
    case liveness::SessionCloseReason::kError: return kExitError;
  }
  return kExitError;
}

int exitCodeFor(const liveness::ClientFinished& how) noexcept {
  switch (how.end) {
    case liveness::ClientEnd::kClosed: return exitCodeFor(how.reason);
    case liveness::ClientEnd::kConnectError: return kExitError;
    case liveness::ClientEnd::kStopped: return kExitOk;
  }
  return kExitError;
}

void logClosed(EventLog& log, const liveness::SessionClose& info) {
  std::string_view reason = liveness::sessionCloseReasonName(info.reason);
  log.emit(
      "closed",
      {{"reason", reason}, {"since_last_read_ms", info.sinceLastRead}, {"detail", info.detail}},
      fmt::format("closed: {} ({:.3f} s since last read; {})", reason,
                  static_cast<double>(info.sinceLastRead) / 1000.0, info.detail));
}

void printConnectError(const net::SocketAddress& address, int err) {
  fmt::print(stderr, "tether: cannot connect to {}: {}\n", address.toString(), std::strerror(err));
}

}  // namespace tether::app::heartbeat
