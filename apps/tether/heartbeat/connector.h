// One non-blocking TCP connect on the loop, bounded by a timeout, for the
// heartbeat drivers that open many connections over time (--discover probes,
// --adaptive reconnects).
//
// Threading: loop-thread only. Ownership: the connector owns the socket until
// it hands it to `done`; destroying it cancels a pending connect (socket
// closed, callback not called). `done` may destroy the connector.
#pragma once

#include <cerrno>
#include <functional>

#include "tether/core/timer_wheel.h"
#include "tether/net/event_loop.h"
#include "tether/net/socket.h"

namespace tether::app::heartbeat {

class Connector final : public net::IoHandler {
 public:
  /// fd >= 0: connected, the callee owns it; fd < 0: failed with errno `err`.
  using Done = std::function<void(int fd, int err)>;

  Connector(net::EventLoop& loop, Done done) : loop_(loop), done_(std::move(done)) {}
  ~Connector() { cancel(); }
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  /// Starts connecting; `prepare(fd)` runs before connect() (socket options).
  /// Fails with ETIMEDOUT after `timeout` ms.
  void start(const net::SocketAddress& to, core::Millis timeout,
             const std::function<void(int)>& prepare);
  void cancel() noexcept;
  bool pending() const noexcept { return fd_ >= 0; }

  void onIoEvents(std::uint32_t events) override;

 private:
  void onTimeout() { finish(ETIMEDOUT); }
  void finish(int err);

  net::EventLoop& loop_;
  Done done_;
  core::Timer<Connector, &Connector::onTimeout> timer_{this};
  int fd_ = -1;
  bool registered_ = false;
};

}  // namespace tether::app::heartbeat
