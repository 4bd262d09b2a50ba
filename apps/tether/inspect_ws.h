// `tether inspect ws://…` (inspect.cpp dispatches here): options already
// parsed, this runs the WebSocket probes and prints the report.
#pragma once

#include <string>

#include "tether/core/timer_wheel.h"

namespace tether::app {

struct InspectWsArgs {
  std::string url;  // ws://…
  core::Millis maxIdleWait = 0;
  core::Millis timeout = 0;
  core::Millis pingInterval = 0;
  bool json = false;
};

/// Exit code 0; throws UsageError (bad URL) or std::runtime_error (unreachable).
int runInspectWs(const InspectWsArgs& args);

}  // namespace tether::app
