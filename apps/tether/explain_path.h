// `tether explain --path HOP...`: the timeout-ladder check of a chain of hops.
#pragma once

#include <string>
#include <vector>

#include "json_line.h"
#include "tether/liveness/timeout_ladder.h"

namespace tether::app {

/// Prints the check of `specs` (text, or one JSON object); returns the exit
/// code: 0 when nothing races or drops, 1 otherwise. Throws UsageError for a
/// chain that does not parse.
int runExplainPath(const std::vector<std::string>& specs, bool json);

/// The report as `explain --path` prints it: hops, checks with consequences and
/// fixes, sources, and the count of problems.
std::string ladderText(const liveness::LadderReport& report);
/// The same as one JSON value: {"path": [...], "findings": [...], "problems": N}.
json::Value ladderJson(const liveness::LadderReport& report);

}  // namespace tether::app
