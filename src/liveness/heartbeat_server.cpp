#include "tether/liveness/heartbeat_server.h"

namespace tether::liveness {

HeartbeatServer::HeartbeatServer(net::EventLoop& loop, int listenFd,
                                 const HeartbeatSessionOptions& options,
                                 HeartbeatServerObserver& observer)
    : loop_(loop), options_(options), observer_(observer) {
  // Closed sessions die after the iteration, never inside their own callback.
  hook_ = loop_.addEndOfIterationHook([this] { graveyard_.clear(); });
  acceptor_ = std::make_unique<net::Acceptor>(
      loop_, listenFd, static_cast<net::Acceptor::Owner&>(*this), /*noDelay=*/false);
}

HeartbeatServer::~HeartbeatServer() { loop_.removeEndOfIterationHook(hook_); }

void HeartbeatServer::shutdown() {
  acceptor_->close();
  std::vector<HeartbeatSession*> open;
  open.reserve(sessions_.size());
  for (auto& [raw, owned] : sessions_) open.push_back(raw);
  for (HeartbeatSession* s : open) {
    s->closeWithGoodbye(wire::GoodbyeReason::kShuttingDown, SessionCloseReason::kLocal,
                        "server shutting down");
  }
}

void HeartbeatServer::onAccepted(int fd) {
  std::uint64_t seed =
      ++accepted_ * 0x9E3779B97F4A7C15ULL ^ static_cast<std::uint64_t>(loop_.now());
  auto session = std::make_unique<HeartbeatSession>(
      loop_, fd, options_, static_cast<HeartbeatSessionObserver&>(*this), seed);
  HeartbeatSession* raw = session.get();
  sessions_.emplace(raw, std::move(session));
  observer_.onConnected(raw->peer());
  raw->start();
}

void HeartbeatServer::onPingSent(HeartbeatSession& s, std::uint64_t opaque) {
  observer_.onPingSent(s.peer(), opaque);
}

void HeartbeatServer::onPong(HeartbeatSession& s, double rttMs) {
  observer_.onPong(s.peer(), rttMs);
}

void HeartbeatServer::onClosed(HeartbeatSession& s, const SessionClose& info) {
  observer_.onClosed(s.peer(), info);
  auto it = sessions_.find(&s);
  if (it != sessions_.end()) {
    graveyard_.push_back(std::move(it->second));
    sessions_.erase(it);
  }
}

}  // namespace tether::liveness
