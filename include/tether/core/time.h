// Time units and time sources: the one place that says what a duration is and
// where "now" comes from.
//
// Units: every duration and timestamp in tether is an integral count on a
// monotonic time base: `Millis` for deadlines, timeouts and the wheel, `Nanos`
// where sub-millisecond precision matters (latency, RTT).
//
// Injection: nothing above this header reads a clock by itself. An event loop
// takes a `Clock` and everything on the loop asks the loop; pure code takes
// `now` as a parameter. Production code uses `monotonicClock()`; tests use a
// `ManualClock`, which moves only when told to.
#pragma once

#include <cstdint>

namespace tether::core {

using Millis = std::int64_t;
using Nanos = std::int64_t;

constexpr Millis toMillis(Nanos ns) noexcept { return ns / 1'000'000; }
constexpr double toMillisDouble(Nanos ns) noexcept { return static_cast<double>(ns) / 1e6; }

/// A monotonic time source. Implementations are thread-safe for reading.
class Clock {
 public:
  virtual Nanos nanos() const noexcept = 0;
  Millis millis() const noexcept { return toMillis(nanos()); }

 protected:
  ~Clock() = default;
};

/// CLOCK_MONOTONIC: never jumps with wall-clock changes.
class MonotonicClock final : public Clock {
 public:
  Nanos nanos() const noexcept override;
};

/// The process's monotonic clock (stateless, shared by every thread).
Clock& monotonicClock() noexcept;

/// A clock that moves only when told to, for deterministic tests. Not
/// thread-safe: drive it from the thread that runs the loop under test.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Millis start = 0) noexcept : ns_(start * 1'000'000) {}
  Nanos nanos() const noexcept override { return ns_; }
  void advance(Millis delta) noexcept { ns_ += delta * 1'000'000; }
  void advanceNanos(Nanos delta) noexcept { ns_ += delta; }
  void set(Millis now) noexcept { ns_ = now * 1'000'000; }

 private:
  Nanos ns_;
};

}  // namespace tether::core
