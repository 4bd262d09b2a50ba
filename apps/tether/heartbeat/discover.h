// `tether heartbeat connect --discover`: liveness::DiscoveryRunner (rounds of
// parallel probe connections finding how long the path to a
// `heartbeat serve --interval off` keeps an idle connection) with its rounds,
// probe verdicts and result printed.
#pragma once

#include "heartbeat/options.h"

namespace tether::app::heartbeat {

/// Runs discovery to the end on a fresh loop. Events: "round", "probe",
/// "discovered" (--json) or human lines. Exit 0 when finished (timeout found or
/// none up to --discover-max) or on a signal, 1 on connect errors or
/// inconsistent results.
int runDiscover(const HeartbeatSettings& settings);

}  // namespace tether::app::heartbeat
