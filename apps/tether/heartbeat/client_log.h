// Printing shared by `tether heartbeat connect` and `connect --adaptive`: the
// "closed" event, the connect error line and the exit code of a finished client.
// Single-threaded (the loop thread).
#pragma once

#include "heartbeat/event_log.h"
#include "heartbeat/options.h"
#include "tether/liveness/heartbeat_client.h"

namespace tether::app::heartbeat {

/// The "closed" event: reason, seconds since the last read, detail.
void logClosed(EventLog& log, const liveness::SessionClose& info);

/// `tether: cannot connect to ADDR: strerror` on stderr.
void printConnectError(const net::SocketAddress& address, int err);

/// `connect`'s exit code for a connection that ended with `reason`, and for how
/// a client ended (docs/heartbeat-protocol.md).
int exitCodeFor(liveness::SessionCloseReason reason) noexcept;
int exitCodeFor(const liveness::ClientFinished& how) noexcept;

}  // namespace tether::app::heartbeat
