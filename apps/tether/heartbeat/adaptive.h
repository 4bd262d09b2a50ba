// `tether heartbeat connect --adaptive`: one heartbeat connection at a time
// whose ping interval follows liveness::AdaptiveInterval (Tencent Mars' smart
// heartbeat). A PONG is a success at the interval of its ping; a heartbeat
// timeout, TCP timeout or reset of the connection is a failure at that interval
// and the driver reconnects at once (a loop around the single connection), so a
// middlebox's idle timeout is found and the interval settles below it.
//
// The server must not ping (`heartbeat serve --interval off` or a long one):
// its pings would keep the path alive and hide the timeout being searched.
#pragma once

#include "heartbeat/options.h"

namespace tether::app::heartbeat {

/// Runs until --duration, a signal (exit 0), or an end that is not a path
/// failure (exit code as `connect`: peer closed 5, connect error 1). Events as
/// `connect` plus "interval" (interval_ms, previous_ms, change, state).
int runAdaptive(const HeartbeatSettings& settings);

}  // namespace tether::app::heartbeat
