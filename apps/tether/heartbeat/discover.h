// `tether heartbeat connect --discover`: finds how long the path to a
// `heartbeat serve --interval off` keeps an idle connection, with rounds of
// parallel probe connections (liveness/idle_discovery.h decides the idle times).
//
// A probe connects, exchanges hellos, stays silent for its idle time T, then
// sends one PING (the heartbeat engine with interval T, no jitter): a PONG
// within --timeout means the path survived T; a heartbeat timeout (the ping
// was blackholed: an expired NAT/conntrack entry) or a reset (the middlebox
// answered with an RST) means it died. Probes known to die from a shorter
// probe's death are cancelled, so a round ends about one --timeout after its
// shortest death. All probes share the one loop: no thread per probe.
#pragma once

#include "heartbeat/options.h"

namespace tether::app::heartbeat {

/// Runs discovery to the end on a fresh loop. Events: "round", "probe",
/// "discovered" (--json) or human lines. Exit 0 when finished (timeout found or
/// none up to --discover-max), 1 on connect errors or inconsistent results.
int runDiscover(const HeartbeatSettings& settings);

}  // namespace tether::app::heartbeat
