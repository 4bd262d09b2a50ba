// One heartbeat-protocol connection over a net::Stream: hello, frames, the
// heartbeat engine, optional DATA streaming, and the close reason. Used by
// HeartbeatServer (accepted sockets), HeartbeatClient, AdaptiveDriver and the
// DiscoveryRunner's probes.
//
// Threading: loop-thread only. Ownership: the session owns its fd from start()
// and closes it exactly once; the observer owns the session and must destroy
// it only outside the session's own callbacks (e.g. at the end of the loop
// iteration), and only after it is closed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tether/core/timer_wheel.h"
#include "tether/liveness/heartbeat.h"
#include "tether/liveness/heartbeat_codec.h"
#include "tether/net/event_loop.h"
#include "tether/net/stream.h"

namespace tether::liveness {

using core::Millis;

/// Why a session ended; names are the `reason` values of the JSON "closed" event.
enum class SessionCloseReason : std::uint8_t {
  kHeartbeatTimeout,  // our heartbeat found the peer silent
  kKeepaliveTimeout,  // ETIMEDOUT with nothing in flight: TCP keepalive probes failed
  kUserTimeout,       // ETIMEDOUT with data in flight: TCP_USER_TIMEOUT / retransmissions
  kPeerClosed,        // EOF or a GOODBYE from the peer
  kPeerReset,         // ECONNRESET / EPIPE
  kTooManyPings,      // we closed an abusive peer, or the peer closed us for it
  kError,             // protocol error or another socket error
  kLocal,             // we closed it: --duration reached, or shutdown
};
std::string_view sessionCloseReasonName(SessionCloseReason reason) noexcept;

struct HeartbeatSessionOptions {
  HeartbeatConfig heartbeat;
  std::uint64_t sendRate = 0;   // DATA bytes per second to stream; 0 = none
  HeartbeatCodecFactory codec;  // the protocol; empty: tether's heartbeat protocol
  /// false: the peer's pings go unanswered (and unpoliced), a hung peer on
  /// purpose (`tether inspect ws://` measures the server's dead-peer close).
  bool answerPings = true;
};

class HeartbeatSession;

struct SessionClose {
  SessionCloseReason reason = SessionCloseReason::kLocal;
  Millis sinceLastRead = 0;    // ms between the last byte read and the close
  std::string detail;          // peer's goodbye reason/text or the socket error
  bool goodbye = false;        // the peer said goodbye (GOODBYE, a close frame) first
  std::uint16_t peerCode = 0;  // its close code (WebSocket), 0 if none
  std::string peerText;        // its goodbye text, if any
};

/// Notified on the loop thread; every callback may close the session.
class HeartbeatSessionObserver {
 public:
  /// The peer's opening arrived (hello; the 101): the session is up.
  virtual void onOpened(HeartbeatSession&) {}
  /// The peer pinged us (answered unless HeartbeatSessionOptions::answerPings is false).
  virtual void onPeerPing(HeartbeatSession&) {}
  virtual void onPingSent(HeartbeatSession&, std::uint64_t /*opaque*/) {}
  virtual void onPong(HeartbeatSession&, double /*rttMs*/) {}
  virtual void onClosed(HeartbeatSession&, const SessionClose&) = 0;

 protected:
  ~HeartbeatSessionObserver() = default;
};

class HeartbeatSession final : public net::IoHandler, private HeartbeatHost {
 public:
  /// Takes ownership of the connected non-blocking socket `fd`.
  HeartbeatSession(net::EventLoop& loop, int fd, const HeartbeatSessionOptions& options,
                   HeartbeatSessionObserver& observer, std::uint64_t seed);
  ~HeartbeatSession();  // closes the fd if still open (reason kLocal, observer not called)
  HeartbeatSession(const HeartbeatSession&) = delete;
  HeartbeatSession& operator=(const HeartbeatSession&) = delete;

  /// Sends the hello, registers with the loop and starts the heartbeat.
  void start();
  /// Sends GOODBYE(`why`) as far as the socket takes it, then closes with
  /// `reason`: at once, or, when the codec's goodbye is answered and `why` is
  /// kNormal, after the answer, the peer's FIN or kGoodbyeAnswerWait.
  void closeWithGoodbye(wire::GoodbyeReason why, SessionCloseReason reason,
                        std::string detail = {});

  void onIoEvents(std::uint32_t events) override;

  /// How long a goodbye that is answered (WebSocket's close handshake) waits:
  /// a live peer answers within a round trip; a dead one must not hold us.
  static constexpr Millis kGoodbyeAnswerWait = 2'000;

  bool closed() const noexcept { return !stream_.isOpen(); }
  const std::string& peer() const noexcept { return peer_; }
  std::uint64_t dataBytesSent() const noexcept { return dataSent_; }
  std::uint64_t dataBytesReceived() const noexcept { return dataReceived_; }
  const HeartbeatEngine& engine() const noexcept { return engine_; }
  HeartbeatEngine& engine() noexcept { return engine_; }  // e.g. setInterval()

 private:
  void heartbeatSendPing(std::uint64_t opaque) override;
  void heartbeatPeerDead() override;

  void readAll();
  void processInput();
  bool handleFrame(const wire::Frame& frame);
  void onPeerGoodbye(const wire::Frame& frame);
  void awaitGoodbyeAnswer(SessionClose info);
  void onGoodbyeWaitOver();
  bool flush();
  void failWithErrno(int err);
  void close(SessionCloseReason reason, std::string detail);
  void close(SessionClose info);
  void onSendTimer() { streamData(loop_.timers().now()); }
  void streamData(Millis now);

  net::EventLoop& loop_;
  HeartbeatSessionOptions options_;
  HeartbeatSessionObserver& observer_;
  HeartbeatEngine engine_;
  core::Timer<HeartbeatSession, &HeartbeatSession::onSendTimer> sendTimer_{this};
  core::Timer<HeartbeatSession, &HeartbeatSession::onGoodbyeWaitOver> goodbyeTimer_{this};
  std::string peer_;
  std::unique_ptr<HeartbeatCodec> codec_;
  std::optional<SessionClose> closing_;  // our goodbye awaits its answer
  std::string in_;                       // received bytes not yet decoded
  std::string out_;                      // queued bytes; out_[written_..] not yet written
  std::size_t written_ = 0;
  core::Nanos pingSentNs_ = 0;  // precise send time of the latest ping, for RTT
  double sendBudget_ = 0;       // DATA bytes we may queue now (token bucket)
  Millis lastStreamed_ = 0;
  std::uint64_t dataSent_ = 0;
  std::uint64_t dataReceived_ = 0;
  net::Stream stream_;
  bool helloReceived_ = false;
};

}  // namespace tether::liveness
