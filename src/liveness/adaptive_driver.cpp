#include "tether/liveness/adaptive_driver.h"

namespace tether::liveness {

bool isPathFailure(SessionCloseReason r) noexcept {
  return r == SessionCloseReason::kHeartbeatTimeout || r == SessionCloseReason::kKeepaliveTimeout ||
         r == SessionCloseReason::kUserTimeout || r == SessionCloseReason::kPeerReset;
}

AdaptiveDriver::AdaptiveDriver(net::EventLoop& loop, const AdaptiveDriverOptions& options,
                               AdaptiveDriverObserver& observer)
    : loop_(loop),
      options_(options),
      observer_(observer),
      adaptive_(options.adaptive, loop.now()),
      connector_(loop, [this](int fd, int err) { onConnectDone(fd, err); }) {}

AdaptiveDriver::~AdaptiveDriver() {
  loop_.cancel(durationCall_);
  loop_.cancel(retryCall_);
}

void AdaptiveDriver::start() {
  if (options_.client.duration > 0) {
    durationCall_ = loop_.runAfter(options_.client.duration, [this] { stop(); });
  }
  connect();
}

void AdaptiveDriver::stop() {
  if (session_ && !session_->closed()) {
    return session_->closeWithGoodbye(wire::GoodbyeReason::kNormal, SessionCloseReason::kLocal,
                                      "client done");
  }
  connector_.cancel();
  finish({ClientEnd::kStopped, SessionCloseReason::kLocal, 0});
}

void AdaptiveDriver::connect() {
  pingInterval_ = 0;
  pongsOnConnection_ = 0;
  ++connects_;
  connector_.start(options_.client.address, options_.client.session.heartbeat.timeout,
                   options_.client.setup);
}

void AdaptiveDriver::onConnectDone(int fd, int err) {
  if (fd < 0) return finish({ClientEnd::kConnectError, SessionCloseReason::kError, err});
  adaptive_.onConnected();
  HeartbeatSessionOptions session = options_.client.session;
  configured_ = session.heartbeat.interval = adaptive_.next();
  session_ = std::make_unique<HeartbeatSession>(
      loop_, fd, session, static_cast<HeartbeatSessionObserver&>(*this),
      static_cast<std::uint64_t>(loop_.now()) ^ options_.client.seed);
  observer_.onConnected({session_->peer(), configured_, !adaptive_.warm()});
  session_->start();
}

void AdaptiveDriver::onPingSent(HeartbeatSession&, std::uint64_t opaque) {
  pingInterval_ = configured_;
  observer_.onPingSent(opaque);
}

void AdaptiveDriver::onPong(HeartbeatSession&, double rttMs) {
  observer_.onPong({rttMs, pingInterval_});
  ++pongsOnConnection_;
  apply(adaptive_.onSuccess(pingInterval_, loop_.now()));
}

void AdaptiveDriver::onClosed(HeartbeatSession&, const SessionClose& info) {
  observer_.onClosed(info);
  retired_ = std::move(session_);  // destroyed at the next close or with the driver, not in here
  if (!isPathFailure(info.reason)) return finish({ClientEnd::kClosed, info.reason, 0});
  // The path lost the connection while a ping of `pingInterval_` was out (or
  // before any ping: interval 0, which trains nothing).
  apply(adaptive_.onFailure(pingInterval_, loop_.now()));
  retryCall_ = loop_.runAfter(pongsOnConnection_ > 0 ? 0 : options_.retryPause, [this] {
    retryCall_ = {};
    if (!finished_) connect();
  });
}

// Moves the engine to the interval the state machine now wants, and says why.
void AdaptiveDriver::apply(AdaptiveInterval::Change change) {
  if (change == AdaptiveInterval::Change::kNone) return;
  Millis previous = configured_;
  configured_ = adaptive_.next();
  if (session_ && !session_->closed()) session_->engine().setInterval(configured_);
  observer_.onIntervalChanged(
      {previous, configured_, adaptive_.current(), change, adaptive_.state()});
}

void AdaptiveDriver::finish(const ClientFinished& how) {
  if (finished_) return;
  finished_ = true;
  loop_.cancel(durationCall_);
  loop_.cancel(retryCall_);
  observer_.onFinished(how);
}

}  // namespace tether::liveness
