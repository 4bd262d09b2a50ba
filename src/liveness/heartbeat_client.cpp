#include "tether/liveness/heartbeat_client.h"

namespace tether::liveness {

HeartbeatClient::HeartbeatClient(net::EventLoop& loop, const HeartbeatClientOptions& options,
                                 HeartbeatClientObserver& observer)
    : loop_(loop),
      options_(options),
      observer_(observer),
      connector_(loop, [this](int fd, int err) { onConnectDone(fd, err); }) {}

HeartbeatClient::~HeartbeatClient() { loop_.cancel(durationCall_); }

void HeartbeatClient::start() {
  connector_.start(options_.address, options_.session.heartbeat.timeout, options_.setup);
}

void HeartbeatClient::stop() {
  if (session_ && !session_->closed()) {
    session_->closeWithGoodbye(wire::GoodbyeReason::kNormal, SessionCloseReason::kLocal,
                               "client done");
  } else if (!finished_) {
    connector_.cancel();
    finish({ClientEnd::kStopped, SessionCloseReason::kLocal, 0});
  }
}

void HeartbeatClient::onConnectDone(int fd, int err) {
  if (fd < 0) return finish({ClientEnd::kConnectError, SessionCloseReason::kError, err});
  session_ = std::make_unique<HeartbeatSession>(
      loop_, fd, options_.session, static_cast<HeartbeatSessionObserver&>(*this),
      static_cast<std::uint64_t>(loop_.now()) ^ options_.seed);
  observer_.onConnected({session_->peer(), options_.session.heartbeat.interval, false});
  session_->start();
  if (options_.duration > 0 && !finished_) {
    durationCall_ = loop_.runAfter(options_.duration, [this] { stop(); });
  }
}

void HeartbeatClient::onPingSent(HeartbeatSession&, std::uint64_t opaque) {
  observer_.onPingSent(opaque);
}

void HeartbeatClient::onPong(HeartbeatSession&, double rttMs) {
  observer_.onPong({rttMs, options_.session.heartbeat.interval});
}

void HeartbeatClient::onClosed(HeartbeatSession&, const SessionClose& info) {
  observer_.onClosed(info);
  finish({ClientEnd::kClosed, info.reason, 0});
}

void HeartbeatClient::finish(const ClientFinished& how) {
  if (finished_) return;
  finished_ = true;
  loop_.cancel(durationCall_);
  observer_.onFinished(how);
}

}  // namespace tether::liveness
