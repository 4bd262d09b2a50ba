#include "reuse_policy.h"

#include <algorithm>

namespace tether::http::client {

IdleDecision decideIdle(const IdleInput& in) noexcept {
  if (!in.responseReusable) return {KeepVerdict::kServerClose, 0};
  if (in.maxRequests != 0 && in.requestsDone >= in.maxRequests) {
    return {KeepVerdict::kMaxRequests, 0};
  }
  if (in.now >= in.lifetimeEnd) return {KeepVerdict::kLifetime, 0};
  if (in.idleTimeout <= 0) return {KeepVerdict::kIdleDisabled, 0};
  Millis idle = in.idleTimeout;
  if (in.honourHint && in.hintSeconds >= 0) {
    // Node's Agent and undici: expire before the server does, by a margin that
    // covers timer slack and one-way delay; a hint at or below it is unusable.
    Millis fromHint = in.hintSeconds * 1000 - in.hintMargin;
    if (fromHint <= 0) return {KeepVerdict::kHintTooShort, 0};
    idle = std::min(idle, fromHint);
  }
  return {KeepVerdict::kKeep, std::min(in.now + idle, in.lifetimeEnd)};
}

Millis lifetimeEnd(Millis opened, Millis lifetime, int jitterPercent, double unit) noexcept {
  if (lifetime <= 0) return core::TimerWheel::kNever;
  double spread = static_cast<double>(lifetime) * jitterPercent / 100.0;
  double offset = (2.0 * unit - 1.0) * spread;  // uniform in [-spread, +spread)
  return opened + std::max<Millis>(1, lifetime + static_cast<Millis>(offset));
}

}  // namespace tether::http::client
