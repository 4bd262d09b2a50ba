// `tether heartbeat connect --adaptive`: liveness::AdaptiveDriver (one
// connection at a time whose ping interval follows the adaptive state machine;
// reconnects after path failures) with its events printed.
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
