// What `tether explain` prints, computed once for both output formats, and its
// JSON form. Pure; the text form lives with the command (explain.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tether/liveness/detection_bound.h"
#include "tether/liveness/keepalive_profile.h"

namespace tether::app {

struct Explanation {
  std::string spec;
  liveness::KeepaliveProfile profile;  // resolved against the system defaults
  liveness::SystemKeepaliveDefaults system;
  liveness::IdleDetection idle;
  std::vector<liveness::ProbeEvent> timeline;
  std::size_t elided = 0;
  liveness::InFlightDetection inFlight;
  liveness::ProbeTraffic traffic;
  std::vector<liveness::Warning> warnings;
};

/// `--json`: one object on one line (keys in docs/liveness.md). Times in
/// seconds are doubles; integers stay integers; `idle.dead_after_s` is null
/// when keepalive is off.
std::string explanationJson(const Explanation& e);

}  // namespace tether::app
