// Adaptive heartbeat interval: Tencent Mars' "smart heartbeat" state machine
// (mars/stn/src/smart_heartbeat.cc, OnHeartResult / GetNextHeartbeatInterval),
// made reusable and clock-free. It answers one question: how long may a
// connection stay idle before the next heartbeat, so that NAT and firewall
// idle timeouts on the path never expire it, with as few heartbeats as possible.
//
// States and transitions (defaults are Mars' constants, mars/stn/config.h):
//  - Warm-up: after every (re)connect the first `warmupSuccesses` (3) heartbeats
//    use `min`; their results train nothing (Mars' NetStableTestCount).
//  - Searching: after `successesPerStep` (5) consecutive successes at the
//    current interval, step up by `step` (60 s), capped at max - margin (580 s);
//    5 successes at the cap -> stable there.
//  - Searching, `failuresAllowed` (2) failures at the current interval (> min):
//    settle at max(min, current - step - margin), i.e. one step back plus the
//    safety margin (20 s) below the last interval that worked -> stable.
//  - Stable, `failuresAllowed` failures: the old value no longer keeps the path
//    alive: back to `min`, searching again (Mars' kActionReCalc).
//  - Stable, a success at least `reprobeAfter` (7 days) after the last change
//    and below the cap: probe upward by `margin`, searching again.
//  - Failures at `min` never change anything: nothing lower is possible.
// A result reported for an interval other than current() (e.g. a warm-up ping
// at min) is ignored for adaptation, as in Mars.
//
// Pure value type: no clock (times are passed in, ms on any monotonic base), no
// I/O. Not thread-safe; one instance per connection path.
#pragma once

#include <cstdint>
#include <string_view>

#include "tether/core/timer_wheel.h"

namespace tether::liveness {

using core::Millis;

struct AdaptiveSettings {
  Millis min = 210'000;      // Mars MinHeartInterval: 3.5 min
  Millis max = 600'000;      // Mars MaxHeartInterval: 10 min (effective cap max - margin)
  Millis step = 60'000;      // Mars HeartStep
  Millis margin = 20'000;    // Mars SuccessStep: safety margin and re-probe step
  int successesPerStep = 5;  // Mars BaseSuccCount
  int failuresAllowed = 2;   // Mars MaxHeartFailCount: failures at one interval before reacting
  int warmupSuccesses = 3;   // Mars NetStableTestCount, per connection
  Millis reprobeAfter = 7LL * 24 * 3600 * 1000;  // Mars: weekly re-validation
};

/// Returns an empty view when `s` is usable, else a one-line reason naming the field.
std::string_view validateAdaptiveSettings(const AdaptiveSettings& s) noexcept;

class AdaptiveInterval {
 public:
  enum class State : std::uint8_t { kSearching, kStable };
  /// What a result changed; kNone when the interval to use did not move.
  enum class Change : std::uint8_t {
    kNone,
    kStepUp,    // searching: stepped up after enough successes
    kSettled,   // stable at the cap (successes) or below a failing interval
    kRecalc,    // stable value failed: restart the search from min
    kReprobe,   // stable long enough: probe upward by the margin
    kWarmedUp,  // warm-up finished: the adaptive value applies from now on
  };

  /// `s` must pass validateAdaptiveSettings(). `now` starts the re-probe clock.
  AdaptiveInterval(const AdaptiveSettings& s, Millis now);

  /// A new connection: the warm-up at min starts again (Mars counts per TCP connection).
  void onConnected() noexcept;
  /// A heartbeat sent after `interval` of idleness was answered at `now`.
  Change onSuccess(Millis interval, Millis now) noexcept;
  /// A heartbeat sent after `interval` got no answer, or the link dropped while waiting.
  Change onFailure(Millis interval, Millis now) noexcept;

  /// The idle interval to use before the next heartbeat.
  Millis next() const noexcept { return warm() ? current_ : settings_.min; }
  /// The adaptive value (what next() returns once warmed up).
  Millis current() const noexcept { return current_; }
  State state() const noexcept { return state_; }
  bool warm() const noexcept { return warmup_ >= settings_.warmupSuccesses; }
  Millis cap() const noexcept { return settings_.max - settings_.margin; }
  int successes() const noexcept { return successes_; }
  int failures() const noexcept { return failures_; }
  const AdaptiveSettings& settings() const noexcept { return settings_; }

 private:
  Change set(Millis interval, State state, Millis now, Change change) noexcept;

  AdaptiveSettings settings_;
  Millis current_;
  Millis lastChange_;
  int warmup_ = 0;     // successes on this connection so far
  int successes_ = 0;  // consecutive successes at current_
  int failures_ = 0;   // failures at current_ since the last success
  State state_ = State::kSearching;
};

std::string_view adaptiveStateName(AdaptiveInterval::State s) noexcept;
std::string_view adaptiveChangeName(AdaptiveInterval::Change c) noexcept;

}  // namespace tether::liveness
