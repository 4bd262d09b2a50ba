// ServerConnection's timer policy: one deadline per state, one timer entry per
// connection on the worker's wheel, re-checked when it fires.
#include <algorithm>

#include "active_state.h"
#include "server_connection.h"
#include "upgraded.h"
#include "worker.h"

namespace tether::http {
namespace {

using State = ServerConnection::State;
constexpr Millis kNever = core::TimerWheel::kNever;

}  // namespace

// ---- timer policy -------------------------------------------------------------

// The one place that maps a state to its deadline (Beast's update_timer idea).
Millis ServerConnection::deadline() const noexcept {
  const ServerOptions& o = worker_->options();
  switch (state_) {
    case State::kIdle: {
      Millis d = handshaking()    ? stateSince_ + o.tlsHandshakeTimeout
                 : requests_ == 0 ? stateSince_ + o.clientHeaderTimeout
                                  : stateSince_ + o.keepaliveTimeout + o.keepaliveGrace;
      if (worker_->shuttingDown()) {
        d = std::min(d, std::max(stateSince_, worker_->shutdownStartedAt()) + o.keepaliveGrace);
      }
      return d;
    }
    case State::kReadingHead: return stateSince_ + o.clientHeaderTimeout;
    case State::kReadingBody: return lastActivity_ + o.clientBodyTimeout;
    case State::kWriting: return lastActivity_ + o.sendTimeout;
    case State::kLingering:
      return std::min(stateSince_ + o.lingeringTime, lastActivity_ + o.lingeringTimeout);
    case State::kWebSocket:
    case State::kEventStream: return upgraded_->deadline();
    case State::kHandling:
    case State::kFree: return kNever;
  }
  return kNever;
}

// Links the timer only when the deadline moved earlier; later deadlines are
// found by the re-check in onTimer(), so activity never touches the wheel.
void ServerConnection::armTimer() {
  core::TimerWheel& wheel = worker_->loop().timers();
  Millis d = deadline();
  if (d == kNever) {
    wheel.unlink(timer_);
  } else if (!timer_.linked() || d < timer_.deadline()) {
    wheel.link(timer_, d);
  }
}

// Lazy re-arm: activity moved the deadline later without touching the wheel.
void ServerConnection::onTimer() {
  Millis d = deadline();
  if (d == kNever) return;
  if (d > worker_->loop().now()) {
    worker_->loop().timers().link(timer_, d);
    return;
  }
  handleTimeout();
}

void ServerConnection::handleTimeout() {
  bool reset = worker_->options().resetTimedoutConnection;
  switch (state_) {
    case State::kIdle:
      if (worker_->shuttingDown()) return close(CloseReason::kShutdown);
      if (handshaking()) return close(CloseReason::kTlsHandshakeTimeout);
      // A fresh connection that sent nothing gets no response (as nginx).
      return close(requests_ == 0 ? CloseReason::kHeaderTimeout : CloseReason::kIdleTimeout);
    case State::kReadingHead:
      if (reset) return close(CloseReason::kHeaderTimeout, true);
      respondError(408, "request header timeout", CloseReason::kHeaderTimeout);
      return drive();
    case State::kReadingBody:
      if (reset) return close(CloseReason::kBodyTimeout, true);
      respondError(408, "request body timeout", CloseReason::kBodyTimeout);
      return drive();
    case State::kWriting: return close(CloseReason::kSendTimeout, reset);
    case State::kLingering: return close(closeReason_);
    case State::kWebSocket:
    case State::kEventStream: return upgraded_->onTimeout();
    case State::kHandling:
    case State::kFree: return;
  }
}

void ServerConnection::observeSince(Distribution d, Millis since) noexcept {
  Millis now = worker_->loop().now();
  worker_->mutableStats().observe(d, static_cast<std::uint64_t>(now > since ? now - since : 0));
}

void ServerConnection::setState(State s) noexcept {
  if (s == state_) return;
  WorkerStats& st = worker_->mutableStats();
  auto* from = st.gauge(state_);
  auto* to = st.gauge(s);
  state_ = s;
  if (from == to) return;  // e.g. handling -> writing: one gauge
  if (from != nullptr) WorkerStats::add(*from, -1);
  if (to != nullptr) WorkerStats::add(*to, 1);
}

void ServerConnection::onShutdown() {
  if (state_ == State::kIdle) armTimer();
  if (state_ == State::kWebSocket || state_ == State::kEventStream) upgraded_->onShutdown();
}

}  // namespace tether::http
