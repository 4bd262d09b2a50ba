// Outgoing TCP connections: the one non-blocking connect in the tree.
//
// startConnect()/connectResult() are the two halves for owners that keep the
// socket on their own handler and timer (pool, bench, inspect connections):
// they register the fd themselves and call connectResult() on its first event.
// Connector wraps both halves with a timeout for owners that hand the socket
// on once connected (the heartbeat tools).
//
// Threading: Connector is loop-thread only; the functions are thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tether/core/timer_wheel.h"
#include "tether/net/event_loop.h"
#include "tether/net/socket.h"

namespace tether::net {

/// Socket options applied between socket() and connect().
struct SocketSetup {
  bool noDelay = false;  // TCP_NODELAY
  /// Runs last (e.g. a keepalive profile of a higher layer). Returning false,
  /// with errno set, fails the connect.
  std::function<bool(int fd)> prepare;
};

/// Resolves `host` (a name, or a numeric IPv4/IPv6 address) and `port` with
/// getaddrinfo, blocking; the first address wins. nullopt with `*error` set to a
/// one-line reason when the host is unknown.
std::optional<SocketAddress> resolve(const std::string& host, int port, std::string* error);

/// Like resolve(), for a client that will open its own connections: when the
/// name has several addresses (`localhost`: ::1 and 127.0.0.1 on Debian), the
/// first one in getaddrinfo's order that accepts a TCP connection within
/// `probeTimeout` (blocking; the probe connection is closed at once), as curl
/// falls back from one address to the next; none does: the first. One address
/// (or a numeric host): no probe.
std::optional<SocketAddress> resolveReachable(const std::string& host, int port,
                                              Millis probeTimeout, std::string* error);
/// The probe of resolveReachable(): the first of `candidates` (not empty) that
/// accepts a TCP connection within `probeTimeout` each, else the first.
SocketAddress firstReachable(const std::vector<SocketAddress>& candidates, Millis probeTimeout);

/// socket(), setup, connect(). Returns the non-blocking fd, with `*connected`
/// true when the connect completed at once; -1 with errno when it failed at once.
int startConnect(const SocketAddress& to, const SocketSetup& setup, bool* connected);

/// After the poller reported a connecting socket writable or in error: 0 when
/// connected, else the connect's error (ECONNREFUSED, ETIMEDOUT, ...).
int connectResult(int fd) noexcept;

class Connector final : public IoHandler {
 public:
  /// fd >= 0: connected, the callee owns it (unregistered); fd < 0: failed with `err`.
  using Done = std::function<void(int fd, int err)>;

  Connector(EventLoop& loop, Done done) : loop_(loop), done_(std::move(done)) {}
  ~Connector() { cancel(); }
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  /// Starts connecting; fails with ETIMEDOUT after `timeout` ms. `done` may run
  /// before start() returns (an immediate result) and may destroy the connector.
  void start(const SocketAddress& to, Millis timeout, const SocketSetup& setup);
  /// Abandons a pending connect: socket closed, `done` not called.
  void cancel() noexcept;
  bool pending() const noexcept { return fd_ >= 0; }

  void onIoEvents(std::uint32_t events) override;

 private:
  void onTimeout() { finish(ETIMEDOUT); }
  void finish(int err);

  EventLoop& loop_;
  Done done_;
  core::Timer<Connector, &Connector::onTimeout> timer_{this};
  int fd_ = -1;
};

}  // namespace tether::net
