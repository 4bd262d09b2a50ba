#include "tether/liveness/heartbeat.h"

#include <algorithm>

namespace tether::liveness {
namespace {

constexpr Millis kNever = core::TimerWheel::kNever;

// splitmix64: tiny, good enough to spread intervals, deterministic per seed.
std::uint64_t nextRandom(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

HeartbeatEngine::HeartbeatEngine(core::TimerWheel& wheel, HeartbeatHost& host,
                                 const HeartbeatConfig& config, std::uint64_t seed)
    : wheel_(wheel), host_(host), config_(config), rng_(seed) {
  config_.jitterPercent = std::clamp(config_.jitterPercent, 0, 50);
}

void HeartbeatEngine::start(Millis now) {
  running_ = true;
  probing_ = false;
  missed_ = 0;
  lastRead_ = now;
  currentInterval_ = drawInterval();
  arm();
}

void HeartbeatEngine::stop() noexcept {
  running_ = false;
  wheel_.unlink(timer_);
}

// The one place that maps the state to its deadline.
Millis HeartbeatEngine::deadline() const noexcept {
  if (!running_) return kNever;
  if (probing_) return lastPingSent_ + config_.timeout;
  if (config_.interval <= 0) return kNever;
  Millis d = lastRead_ + currentInterval_;
  if (config_.batch <= 0) return d;
  return (d + config_.batch - 1) / config_.batch * config_.batch;
}

// Links only when the deadline moved earlier; a later one is found by the
// re-check in fire(), so ordinary activity never touches the wheel.
void HeartbeatEngine::arm() {
  Millis d = deadline();
  if (d == kNever) {
    wheel_.unlink(timer_);
  } else if (!timer_.linked() || d < timer_.deadline()) {
    wheel_.link(timer_, d);
  }
}

void HeartbeatEngine::onTimer() { fire(wheel_.now()); }

void HeartbeatEngine::fire(Millis now) {
  Millis d = deadline();
  if (d == kNever) return;
  if (d > now) {
    wheel_.link(timer_, d);
    return;
  }
  if (probing_ && ++missed_ > config_.missedPingsAllowed) {
    stop();
    host_.heartbeatPeerDead();
    return;
  }
  sendPing(now);
}

// State and timer first, host last: the host may close (and stop us) while writing.
void HeartbeatEngine::sendPing(Millis now) {
  probing_ = true;
  lastPingSent_ = now;
  outstanding_ = ++sequence_;
  currentInterval_ = drawInterval();
  wheel_.link(timer_, now + config_.timeout);
  host_.heartbeatSendPing(outstanding_);
}

void HeartbeatEngine::onBytesRead(Millis now) {
  lastRead_ = now;
  if (!probing_) return;  // the deadline only moved later: the lazy re-check finds it
  probing_ = false;
  missed_ = 0;
  arm();  // lastRead + interval may come before lastPingSent + timeout
}

HeartbeatEngine::PingVerdict HeartbeatEngine::onPingReceived(Millis now) {
  if (config_.minPingInterval <= 0) return PingVerdict::kAnswer;
  if (hasValidPing_ && now < lastValidPing_ + config_.minPingInterval) {
    ++strikes_;
    bool limited = config_.maxPingStrikes > 0;
    return limited && strikes_ > config_.maxPingStrikes ? PingVerdict::kTooManyPings
                                                        : PingVerdict::kAnswer;
  }
  hasValidPing_ = true;
  lastValidPing_ = now;
  return PingVerdict::kAnswer;
}

std::optional<Millis> HeartbeatEngine::onPongReceived(std::uint64_t opaque, Millis now) {
  if (outstanding_ == 0 || opaque != outstanding_) return std::nullopt;
  outstanding_ = 0;
  return now - lastPingSent_;
}

void HeartbeatEngine::onDataSent() noexcept {
  hasValidPing_ = false;
  strikes_ = 0;
}

void HeartbeatEngine::setInterval(Millis interval) {
  config_.interval = std::max<Millis>(interval, 0);
  currentInterval_ = drawInterval();
  // A shorter interval already due is linked in the past: it fires on the next advance().
  if (running_) arm();
}

Millis HeartbeatEngine::drawInterval() noexcept {
  Millis base = config_.interval;
  Millis span = base * config_.jitterPercent / 100;
  if (base <= 0 || span <= 0) return base;
  auto width = static_cast<std::uint64_t>(2 * span + 1);
  return base - span + static_cast<Millis>(nextRandom(rng_) % width);
}

}  // namespace tether::liveness
