// Test-only helpers for pool tests on a real EventLoop: a scripted server's
// polling step, and a run bounded by a guard timer.
#pragma once

#include <functional>
#include <memory>

#include "tether/net/event_loop.h"

namespace tether::http::client::testing {

/// Calls `step` every loop millisecond until it returns true (bounded by the
/// test's guard: runGuarded()).
inline void pollUntil(net::EventLoop& loop, std::function<bool()> step) {
  loop.runAfter(1, [&loop, step] {
    if (!step()) pollUntil(loop, step);
  });
}

/// Runs the loop until something calls quit(); false when the 10 s guard ended it.
inline bool runGuarded(net::EventLoop& loop) {
  auto timedOut = std::make_shared<bool>(false);
  net::DelayedCallId guard = loop.runAfter(10'000, [&loop, timedOut] {
    *timedOut = true;
    loop.quit();
  });
  loop.run();
  loop.cancel(guard);
  return !*timedOut;
}

}  // namespace tether::http::client::testing
