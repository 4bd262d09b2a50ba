// How long a pooled connection may stay idle, and whether it may be kept at
// all, after a response. Pure functions (time passed in, ms) for table tests.
#pragma once

#include <cstdint>

#include "tether/core/timer_wheel.h"

namespace tether::http::client {

using core::Millis;

struct IdleInput {
  Millis now = 0;
  bool responseReusable = true;  // RFC 9112 §9.3 and framing (parser)
  Millis idleTimeout = 4000;     // the pool's own limit
  bool honourHint = true;
  std::int64_t hintSeconds = -1;  // Keep-Alive: timeout=, -1 if absent
  Millis hintMargin = 1000;       // subtracted from the hint
  Millis lifetimeEnd = core::TimerWheel::kNever;
  std::uint64_t requestsDone = 0;  // on this connection, including this one
  std::uint64_t maxRequests = 0;   // 0: unlimited
};

enum class KeepVerdict : std::uint8_t {
  kKeep,
  kServerClose,   // the response ends the connection
  kHintTooShort,  // hint - margin <= 0: the server would close before a reuse is safe
  kMaxRequests,
  kLifetime,
  kIdleDisabled,  // idle timeout 0
};

struct IdleDecision {
  KeepVerdict verdict = KeepVerdict::kKeep;
  Millis deadline = 0;  // when kKeep: close if still idle at this time
};

/// The idle deadline is now + min(idleTimeout, hint*1000 - margin), and never
/// past the connection's lifetime end.
IdleDecision decideIdle(const IdleInput& in) noexcept;

/// The end of a connection's life: opened + lifetime spread by ±jitterPercent.
/// `unit` in [0, 1) picks the point in the spread. lifetime 0: never.
Millis lifetimeEnd(Millis opened, Millis lifetime, int jitterPercent, double unit) noexcept;

}  // namespace tether::http::client
