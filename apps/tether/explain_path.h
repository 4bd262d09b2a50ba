// `tether explain --path HOP...`: the timeout-ladder check of a chain of hops.
#pragma once

#include <string>
#include <vector>

#include "tether/liveness/timeout_ladder.h"

namespace tether::app {

/// Prints the check of `specs` (text, or one JSON object); returns the exit
/// code: 0 when nothing races or drops, 1 otherwise. Throws UsageError for a
/// chain that does not parse.
int runExplainPath(const std::vector<std::string>& specs, bool json);

}  // namespace tether::app
