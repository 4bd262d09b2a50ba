// The adaptive heartbeat driver: one heartbeat connection at a time whose ping
// interval follows AdaptiveInterval (Tencent Mars' smart heartbeat). A PONG is a
// success at the interval of its ping; a path failure (heartbeat timeout, TCP
// keepalive or user timeout, reset) is a failure at that interval, and the
// driver reconnects: at once when the connection had a PONG, after
// `retryPause` when it had none (so a path that kills every connection at once
// cannot make it spin). Every interval change is applied to the running
// session. Any other end (the peer closed, a connect error, stop()) finishes
// the driver. `tether heartbeat connect --adaptive` is this plus printing.
//
// The server must not ping (`heartbeat serve --interval off` or a long one):
// its pings would keep the path alive and hide the timeout being searched.
//
// Threading: loop-thread only. Ownership: the driver owns its connector and
// sessions; a closed session is destroyed at the next close or with the driver,
// never inside its own callback. The loop and the observer must outlive the
// driver. Times in milliseconds.
#pragma once

#include <cstdint>
#include <memory>

#include "tether/liveness/adaptive_interval.h"
#include "tether/liveness/heartbeat_client.h"
#include "tether/liveness/heartbeat_session.h"
#include "tether/net/connector.h"
#include "tether/net/event_loop.h"

namespace tether::liveness {

/// What the path did to the connection, as opposed to the peer choosing to end it.
bool isPathFailure(SessionCloseReason reason) noexcept;

struct AdaptiveDriverOptions {
  /// The connection; `client.session.heartbeat.interval` is replaced by the
  /// adaptive one, and `client.duration` counts from start().
  HeartbeatClientOptions client;
  AdaptiveSettings adaptive;  // must pass validateAdaptiveSettings()
  Millis retryPause = 1000;   // before reconnecting after a connection without a PONG
};

/// The adaptive interval moved.
struct IntervalChange {
  Millis previous = 0;  // the engine's interval before
  Millis interval = 0;  // the engine's interval now (next())
  Millis adaptive = 0;  // the adaptive value (current())
  AdaptiveInterval::Change change = AdaptiveInterval::Change::kNone;
  AdaptiveInterval::State state = AdaptiveInterval::State::kSearching;
};

/// A client observer that also hears interval changes. onConnected() and
/// onClosed() come once per connection; onFinished() once, last.
class AdaptiveDriverObserver : public HeartbeatClientObserver {
 public:
  virtual void onIntervalChanged(const IntervalChange&) {}

 protected:
  ~AdaptiveDriverObserver() = default;
};

class AdaptiveDriver final : private HeartbeatSessionObserver {
 public:
  AdaptiveDriver(net::EventLoop& loop, const AdaptiveDriverOptions& options,
                 AdaptiveDriverObserver& observer);
  ~AdaptiveDriver();
  AdaptiveDriver(const AdaptiveDriver&) = delete;
  AdaptiveDriver& operator=(const AdaptiveDriver&) = delete;

  /// Starts the first connection (and the duration, if any). Once only.
  void start();
  /// A clean end: GOODBYE(normal) on an open connection (closed as kLocal,
  /// detail "client done", finished kClosed), else any connect or pending
  /// reconnect is abandoned (finished kStopped). No-op once finished.
  void stop();

  bool finished() const noexcept { return finished_; }
  const AdaptiveInterval& adaptive() const noexcept { return adaptive_; }
  /// The running (or next) connection's ping interval.
  Millis interval() const noexcept { return configured_; }
  /// Connections attempted so far (connects started).
  int connects() const noexcept { return connects_; }

 private:
  void connect();
  void onConnectDone(int fd, int err);
  void onPingSent(HeartbeatSession&, std::uint64_t opaque) override;
  void onPong(HeartbeatSession&, double rttMs) override;
  void onClosed(HeartbeatSession&, const SessionClose& info) override;
  void apply(AdaptiveInterval::Change change);
  void finish(const ClientFinished& how);

  net::EventLoop& loop_;
  AdaptiveDriverOptions options_;
  AdaptiveDriverObserver& observer_;
  AdaptiveInterval adaptive_;
  std::unique_ptr<HeartbeatSession> session_, retired_;
  net::DelayedCallId durationCall_, retryCall_;
  Millis configured_ = 0;    // the engine's interval now
  Millis pingInterval_ = 0;  // the interval after which the latest ping went out
  int pongsOnConnection_ = 0;
  int connects_ = 0;
  bool finished_ = false;
  net::Connector connector_;
};

}  // namespace tether::liveness
