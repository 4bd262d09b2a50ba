// The heartbeat server on one loop: accepts connections on a listening socket,
// runs one HeartbeatSession per connection (answers pings, sends its own,
// closes peers that go silent or ping too often) and says goodbye to every
// peer on shutdown(). `tether heartbeat serve` is this plus printing.
//
// Threading: loop-thread only. Ownership: the server owns the listening fd and
// its sessions. A closed session is destroyed at the end of the loop iteration,
// never inside its own callback. The loop and the observer must outlive the
// server. Times in milliseconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tether/liveness/heartbeat_session.h"
#include "tether/net/acceptor.h"
#include "tether/net/event_loop.h"

namespace tether::liveness {

/// What the server's sessions do, named by the peer's address (`127.0.0.1:4242`).
/// Called on the loop thread; `peer` is valid for the call only.
class HeartbeatServerObserver {
 public:
  virtual void onConnected(std::string_view /*peer*/) {}
  virtual void onPingSent(std::string_view /*peer*/, std::uint64_t /*opaque*/) {}
  virtual void onPong(std::string_view /*peer*/, double /*rttMs*/) {}
  virtual void onClosed(std::string_view peer, const SessionClose& info) = 0;

 protected:
  ~HeartbeatServerObserver() = default;
};

class HeartbeatServer final : private net::Acceptor::Owner, private HeartbeatSessionObserver {
 public:
  /// Takes `listenFd` (non-blocking and listening, e.g. from net::listenTcp) and
  /// starts accepting. Accepted sockets inherit the listening socket's options
  /// (keepalive, user timeout): set them on `listenFd` first.
  HeartbeatServer(net::EventLoop& loop, int listenFd, const HeartbeatSessionOptions& options,
                  HeartbeatServerObserver& observer);
  ~HeartbeatServer();  // closes what is still open without calling the observer
  HeartbeatServer(const HeartbeatServer&) = delete;
  HeartbeatServer& operator=(const HeartbeatServer&) = delete;

  /// Stops accepting and closes every open session with GOODBYE(shutting_down)
  /// (reason kLocal, detail "server shutting down"); the observer hears each
  /// close before this returns. Idempotent.
  void shutdown();

  /// Sessions open now.
  std::size_t openSessions() const noexcept { return sessions_.size(); }
  /// Connections accepted so far.
  std::uint64_t accepted() const noexcept { return accepted_; }

 private:
  void onAccepted(int fd) override;
  void onPingSent(HeartbeatSession& s, std::uint64_t opaque) override;
  void onPong(HeartbeatSession& s, double rttMs) override;
  void onClosed(HeartbeatSession& s, const SessionClose& info) override;

  net::EventLoop& loop_;
  HeartbeatSessionOptions options_;
  HeartbeatServerObserver& observer_;
  std::unique_ptr<net::Acceptor> acceptor_;
  std::uint64_t accepted_ = 0;
  std::uint64_t hook_ = 0;
  std::unordered_map<HeartbeatSession*, std::unique_ptr<HeartbeatSession>> sessions_;
  std::vector<std::unique_ptr<HeartbeatSession>> graveyard_;  // emptied after each iteration
};

}  // namespace tether::liveness
