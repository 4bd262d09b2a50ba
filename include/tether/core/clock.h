// Time sources. Everything above this layer takes `now` as a parameter; only the
// event loop reads a clock, once per iteration.
#pragma once

#include <ctime>

#include "tether/core/timer_wheel.h"

namespace tether::core {

/// Milliseconds on CLOCK_MONOTONIC (never jumps with wall-clock changes). Thread-safe.
inline Millis monotonicMillis() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return Millis{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

/// A clock that moves only when told to; for deterministic tests.
class ManualClock {
 public:
  explicit ManualClock(Millis start = 0) noexcept : now_(start) {}
  Millis now() const noexcept { return now_; }
  void advance(Millis delta) noexcept { now_ += delta; }
  void set(Millis now) noexcept { now_ = now; }

 private:
  Millis now_;
};

}  // namespace tether::core
