// Test-only: drives an EventLoop on a ManualClock in virtual time. Each step
// settles the I/O of the current instant (loopback TCP and socket pairs deliver
// within the sending call, so a few non-blocking iterations carry a message
// across several hops), then jumps to the next timer deadline. No sleeps and
// no real-time waits: every runOnce() is runOnce(0).
#pragma once

#include <algorithm>

#include "tether/core/time.h"
#include "tether/net/event_loop.h"

namespace tether::liveness::testing {

using core::Millis;

class VirtualTime {
 public:
  VirtualTime(core::ManualClock& clock, net::EventLoop& loop) : clock_(clock), loop_(loop) {}

  Millis now() const noexcept { return clock_.millis(); }

  /// Runs enough iterations at the current instant for a message to cross a
  /// relay and be answered (client -> NAT -> server -> NAT -> client).
  void settle() {
    for (int i = 0; i < kIterations; ++i) loop_.runOnce(0);
  }

  /// Advances to `t`, stopping at every timer deadline on the way.
  void runTo(Millis t) {
    settle();
    while (now() < t) step(t);
  }

  /// Advances until `done()` or `limit`; returns done().
  template <typename Pred>
  bool runUntil(Pred done, Millis limit) {
    settle();
    while (!done() && now() < limit) step(limit);
    return done();
  }

 private:
  static constexpr int kIterations = 12;

  // One jump: to the wheel's next wakeup (a lower bound, so it may fire
  // nothing), at least 1 ms on, at most `limit`.
  void step(Millis limit) {
    for (int i = 0; i < 4 && loop_.timers().nextWakeup() <= now(); ++i) settle();
    Millis next = std::clamp(loop_.timers().nextWakeup(), now() + 1, limit);
    clock_.set(next);
    settle();
  }

  core::ManualClock& clock_;
  net::EventLoop& loop_;
};

}  // namespace tether::liveness::testing
