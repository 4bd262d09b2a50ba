// One pooled HTTP/1.1 client connection: non-blocking connect, request write,
// response read and framing, idle watch. Runs one exchange at a time on the
// pool's loop thread and reports every outcome to the pool, which decides reuse,
// retry and callbacks.
//
// Ownership: created and destroyed by the pool; after close() it is inert and
// the pool frees it at the end of the loop iteration. Timers: one wheel entry,
// linked for the single deadline of the current state (connect, request, idle).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "exchange.h"
#include "tether/core/timer_wheel.h"
#include "tether/http/client/response_parser.h"
#include "tether/liveness/keepalive_profile.h"
#include "tether/net/event_loop.h"
#include "tether/net/socket.h"
#include "tether/net/stream.h"
#include "tether/net/tls.h"

namespace tether::http::client {

class PoolImpl;

/// Why an attempt failed, as seen on the wire.
struct AttemptFailure {
  ErrorKind kind = ErrorKind::kNone;
  int sysErrno = 0;
  const char* detail = "";
  bool requestSent = false;
  bool responseStarted = false;
  bool connectionClosed = false;  // EOF/RST/EPIPE: the retry policy's input
};

class ClientConnection final : public net::IoHandler {
 public:
  enum class State : std::uint8_t { kConnecting, kBusy, kIdle, kClosed };

  ClientConnection(PoolImpl& pool, std::uint64_t id, Millis lifetimeEnd);
  ~ClientConnection();
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  /// Starts a non-blocking connect. False (errno set) when it failed at once.
  bool connect(const net::SocketAddress& addr, const liveness::KeepaliveProfile& keepalive,
               Millis now);
  /// Runs `ex` (writes it now, or once connected).
  void start(std::unique_ptr<Exchange> ex, Millis now);
  /// Pre-reuse check on an idle connection: false if the peer closed (FIN/RST
  /// seen by epoll or by a MSG_PEEK) or sent bytes nobody asked for.
  bool peerStillThere() const;
  void enterIdle(Millis deadline, Millis now);
  /// Closes the socket (FIN). Idempotent; the exchange, if any, is dropped.
  void close();
  /// Takes the running exchange back (e.g. to fail it on cancel).
  std::unique_ptr<Exchange> release() { return std::move(ex_); }

  void onIoEvents(std::uint32_t events) override;

  State state() const noexcept { return state_; }
  std::uint64_t id() const noexcept { return id_; }
  std::uint64_t requests() const noexcept { return requests_; }
  Millis idleSince() const noexcept { return idleSince_; }
  Millis lifetimeEnd() const noexcept { return lifetimeEnd_; }

  // Intrusive links of the pool's idle list, and the index in its table.
  ClientConnection* idlePrev = nullptr;
  ClientConnection* idleNext = nullptr;
  std::size_t slot = 0;

 private:
  void onTimer();
  static void onBody(void* self, std::string_view bytes);
  void arm(Millis deadline);
  void onConnected();
  void flush();
  void readAll();
  bool parse(const char* data, std::size_t len);
  void completeResponse(bool extraBytes);
  void fail(ErrorKind kind, int err, const char* detail);
  bool failedByTls(int err);
  void noteHandshake();

  PoolImpl& pool_;
  std::unique_ptr<Exchange> ex_;
  ResponseParser parser_;
  std::string out_;
  std::size_t written_ = 0;
  core::Timer<ClientConnection, &ClientConnection::onTimer> timer_{this};
  Millis deadline_ = 0;
  Millis idleSince_ = 0;
  Millis lifetimeEnd_;
  std::int64_t connectStartUs_ = 0;
  std::int64_t writeStartUs_ = 0;
  std::uint64_t id_;
  std::uint64_t requests_ = 0;
  std::uint64_t received_ = 0;  // response bytes of the current exchange
  net::Stream stream_;
  std::unique_ptr<net::TlsTransport> tls_;  // https only; the stream's transport
  State state_ = State::kConnecting;
  bool handshakeCounted_ = false;
  bool reused_ = false;  // the current exchange is not the connection's first
};

}  // namespace tether::http::client
