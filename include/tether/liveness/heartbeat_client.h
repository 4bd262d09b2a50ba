// One heartbeat connection to a heartbeat server: connect (net::Connector),
// run one HeartbeatSession, stop with a goodbye. `tether heartbeat connect` is
// this plus printing and an exit code. The observer types here are shared with
// AdaptiveDriver (adaptive_driver.h), which runs a sequence of such connections.
//
// Threading: loop-thread only. Ownership: the client owns its connector and its
// session (kept after the connection closed, for its counters). The loop and the
// observer must outlive the client. Times in milliseconds.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "tether/liveness/heartbeat_session.h"
#include "tether/net/connector.h"
#include "tether/net/event_loop.h"
#include "tether/net/socket.h"

namespace tether::liveness {

struct HeartbeatClientOptions {
  net::SocketAddress address;
  /// The session's heartbeat; its `timeout` also bounds the TCP handshake.
  HeartbeatSessionOptions session;
  /// Socket options applied before connect() (e.g. a keepalive profile), so
  /// they cover the handshake too.
  net::SocketSetup setup;
  /// Say goodbye this long after connecting (AdaptiveDriver: after start()); 0 = never.
  Millis duration = 0;
  /// Mixed with the loop time into each session's seed (jitter).
  std::uint64_t seed = 0;
};

/// A connection is up.
struct ClientConnected {
  std::string_view peer;   // `127.0.0.1:7000`; valid for the call only
  Millis interval = 0;     // the ping interval the session starts with
  bool warmingUp = false;  // AdaptiveDriver: the interval is the warm-up one (min)
};

/// A PONG answered our latest ping.
struct ClientPong {
  double rttMs = 0;
  Millis interval = 0;  // the idle time after which that ping went out
};

/// How a client (or driver) ended.
enum class ClientEnd : std::uint8_t {
  kClosed,        // the connection closed with `reason`
  kConnectError,  // the connect failed with `connectErrno`
  kStopped,       // stop() with no connection up (connecting; AdaptiveDriver: its retry pause)
};

struct ClientFinished {
  ClientEnd end = ClientEnd::kStopped;
  SessionCloseReason reason = SessionCloseReason::kLocal;  // kClosed
  int connectErrno = 0;                                    // kConnectError
};

/// Called on the loop thread. onFinished() comes once, last; after it the client
/// does nothing more and may be destroyed (outside its own callbacks).
class HeartbeatClientObserver {
 public:
  virtual void onConnected(const ClientConnected&) {}
  virtual void onOpened() {}    // the peer's opening (hello; the 101) arrived
  virtual void onPeerPing() {}  // the peer pinged us
  virtual void onPingSent(std::uint64_t /*opaque*/) {}
  virtual void onPong(const ClientPong&) {}
  virtual void onClosed(const SessionClose&) {}
  virtual void onFinished(const ClientFinished&) = 0;

 protected:
  ~HeartbeatClientObserver() = default;
};

class HeartbeatClient final : private HeartbeatSessionObserver {
 public:
  HeartbeatClient(net::EventLoop& loop, const HeartbeatClientOptions& options,
                  HeartbeatClientObserver& observer);
  ~HeartbeatClient();
  HeartbeatClient(const HeartbeatClient&) = delete;
  HeartbeatClient& operator=(const HeartbeatClient&) = delete;

  /// Starts connecting. Once only.
  void start();
  /// A clean end: GOODBYE(normal) on an open connection (closed as kLocal,
  /// detail "client done"), else the connect is abandoned (kStopped). No-op
  /// once finished.
  void stop();

  bool finished() const noexcept { return finished_; }
  /// The connection: null before it was up; kept (closed) after it ended.
  const HeartbeatSession* session() const noexcept { return session_.get(); }

 private:
  void onConnectDone(int fd, int err);
  void onOpened(HeartbeatSession&) override { observer_.onOpened(); }
  void onPeerPing(HeartbeatSession&) override { observer_.onPeerPing(); }
  void onPingSent(HeartbeatSession&, std::uint64_t opaque) override;
  void onPong(HeartbeatSession&, double rttMs) override;
  void onClosed(HeartbeatSession&, const SessionClose& info) override;
  void finish(const ClientFinished& how);

  net::EventLoop& loop_;
  HeartbeatClientOptions options_;
  HeartbeatClientObserver& observer_;
  std::unique_ptr<HeartbeatSession> session_;
  net::DelayedCallId durationCall_;
  bool finished_ = false;
  net::Connector connector_;
};

}  // namespace tether::liveness
