// One accepted HTTP/1.1 connection: reads, parses, dispatches, writes, and
// decides keep-alive, all on its worker's loop thread.
//
// Ownership: objects live in their worker's pool and are recycled, never freed
// while the worker runs; `generation()` changes on every close so deferred work
// can tell a stale pointer (DeferredResponse). A connection is never recycled
// inside its own callback: the worker returns it to the pool at the end of the
// loop iteration.
//
// Timers: one intrusive wheel entry. deadline() maps the state to the single
// deadline that matters now; activity only updates timestamps, and the timer
// re-checks deadline() when it fires (h2o/nginx lazy re-arm).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "tether/core/timer_wheel.h"
#include "tether/http/server_stats.h"
#include "tether/net/event_loop.h"
#include "tether/net/stream.h"

namespace tether::net {
class TlsContext;
class TlsTransport;
}  // namespace tether::net

namespace tether::http {

using core::Millis;
class Worker;
struct ActiveState;
class Upgraded;
class EventStreamSession;
namespace ws {
class Session;
}

class ServerConnection final : public net::IoHandler {
 public:
  enum class State : std::uint8_t {
    kFree,         // in the pool
    kIdle,         // waiting for a request; holds no buffers
    kReadingHead,  // request header in progress
    kReadingBody,  // request body in progress
    kHandling,     // deferred handler has not finished
    kWriting,      // response queued, socket not writable
    kLingering,    // half-closed, draining input before close
    kWebSocket,    // after a 101: ws::Session drives it (upgraded_)
    kEventStream,  // after an event stream's head: EventStreamSession drives it
  };

  ServerConnection() = default;
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  /// Takes ownership of the accepted non-blocking socket `fd`; speaks TLS over
  /// it when `tls` is given (the handshake runs inside the first reads).
  void open(Worker& worker, int fd, std::uint64_t id, Millis lifetimeEnd,
            const net::TlsContext* tls = nullptr);
  void onIoEvents(std::uint32_t events) override;

  /// Closes now (FIN, or RST when `reset`), counting `reason`. Idempotent.
  void close(CloseReason reason, bool reset = false);
  /// For the protocol after an upgrade: one step of its output. kFlushed: all
  /// queued output went out (go on); kStop: the socket is full (the timer is
  /// armed) or the connection stopped, or nothing was queued and `closeNow`
  /// began the close for `reason`; kNothing: nothing queued, nothing done.
  enum class OutputStep : std::uint8_t { kNothing, kFlushed, kStop };
  OutputStep upgradedOutput(bool closeNow, CloseReason reason);
  /// Worker shutdown began: re-evaluate the timer (idle ones close soon).
  void onShutdown();
  /// The worker takes the closed connection back (end of the loop iteration):
  /// frees what an upgrade left (never inside the session's own callbacks).
  void recycle() noexcept;

  State state() const noexcept { return state_; }
  std::uint32_t generation() const noexcept { return generation_; }
  std::uint64_t id() const noexcept { return id_; }
  int fd() const noexcept { return stream_.fd(); }
  /// The client has sent bytes not read yet (see net::Stream::inputWaiting()).
  bool inputWaiting() const noexcept { return stream_.inputWaiting(); }
  std::uint64_t requests() const noexcept { return requests_; }
  Worker& worker() const noexcept { return *worker_; }
  /// The TLS session (nullptr on a plain connection).
  const net::TlsTransport* tls() const noexcept;

  // DeferredResponse support.
  ActiveState* active() const noexcept { return active_; }
  void finishDeferred();

  // Intrusive links: the worker's waiting list (connections waiting for a
  // client's request head, oldest wait first) while open; the free list
  // (nextFree) while pooled, sharing waitPrev's word. open() resets both links.
  union {
    ServerConnection* waitPrev = nullptr;
    ServerConnection* nextFree;
  };
  ServerConnection* waitNext = nullptr;

 private:
  // The upgraded protocol works the stream, buffers and close path directly:
  // it is this connection in another state, not a separate owner.
  friend class ws::Session;
  friend class EventStreamSession;

  void onTimer();
  void handleTimeout();
  Millis deadline() const noexcept;
  void armTimer();
  void setState(State s) noexcept;

  void drive();
  bool readOnce();
  void onPeerEof();
  void process();
  void beginRequest();
  void checkHeadLimit();
  void rejectOversizedHead();
  void onHeadComplete();
  void onMessageComplete();
  void queueResponse();
  void queueUpgrade();
  void queueEventStream();
  bool refuseWhileShuttingDown();
  bool upgrading() const noexcept;
  void becomeUpgraded();
  void writeHead(int status, std::string_view type, std::string_view headers,
                 std::uint64_t bodySize, std::optional<CloseReason> close);
  void respondError(int status, const char* reason, CloseReason why);
  bool wrote(const net::IoResult& r);
  bool flush();
  bool writeSource();
  bool afterOutput();
  void maybeIdle();
  void startClose(CloseReason reason);
  void closeOnError(int err);
  void linger();
  void acquireActive();
  /// Records now - `since` (ms) into the worker's histogram `d`.
  void observeSince(Distribution d, Millis since) noexcept;
  // TLS hooks (server_connection_tls.cpp).
  net::TlsTransport* tlsTransport() const noexcept;
  bool handshaking() const noexcept;  // TLS, and its handshake is not finished
  void afterTlsRead();
  std::optional<CloseReason> tlsFailure(int err);
  void closeTls(CloseReason reason, bool reset) noexcept;

  Worker* worker_ = nullptr;
  ActiveState* active_ = nullptr;
  Upgraded* upgraded_ = nullptr;  // kWebSocket, kEventStream (and until recycled)
  core::Timer<ServerConnection, &ServerConnection::onTimer> timer_{this};
  std::uint64_t id_ = 0;
  std::uint64_t requests_ = 0;  // requests begun on this connection
  Millis lifetimeEnd_ = 0;
  Millis openedAt_ = 0;  // accepted (the lifetime histogram)
  // Entered the current state: idle, lingering, or reading a head (its first byte).
  Millis stateSince_ = 0;
  Millis lastActivity_ = 0;  // last successful read or write
  Millis lastRead_ = 0;      // last byte received (logged when the kernel times out)
  net::Stream stream_;
  std::uint32_t generation_ = 0;
  State state_ = State::kFree;
  CloseReason closeReason_ = CloseReason::kClientClosed;
  bool closeAfterWrite_ = false;
  bool bodyUnread_ = false;
};

}  // namespace tether::http
