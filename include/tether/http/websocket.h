// WebSocket (RFC 6455) on tether's HTTP server: a route that accepts the
// opening handshake and hands the connection to a WebSocketHandler, which sees
// whole messages. The server answers pings, pings quiet peers itself
// (WebSocketOptions), runs the close handshake and enforces the limits.
//
//   server.handle("/echo", "GET", http::webSocket([](const Request&, Response&) {
//     return std::make_unique<MyHandler>();
//   }));
//
// Threading: everything on the connection's loop thread. Ownership: the
// server owns each handler from the handshake until after onClose(); the
// WebSocket reference is valid from onOpen() to the end of onClose().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "tether/core/timer_wheel.h"
#include "tether/http/request.h"

namespace tether::net {
class EventLoop;
}

namespace tether::http {

using core::Millis;
class Response;

/// Server-wide WebSocket policy (ServerOptions::ws). Durations in ms; 0 turns
/// the limit off.
struct WebSocketOptions {
  Millis pingInterval = 30'000;    // ping after this long without any frame from the peer
  Millis pingTimeout = 20'000;     // then close (1001) when nothing arrives for this long
  Millis idleTimeout = 0;          // close (1001) after this long without a data message
  Millis minPingInterval = 5'000;  // the peer's pings closer than this are strikes...
  int maxPingStrikes = 2;          // ...and more strikes than this close it (1008)
  std::uint64_t maxMessageSize = 1024 * 1024;  // larger messages close it (1009)
  Millis closeTimeout = 5'000;                 // wait for the peer's close frame after ours
};

/// One open WebSocket connection as its handler sees it.
class WebSocket {
 public:
  /// Queues a message (one frame). Ignored once the close handshake began.
  virtual void send(std::string_view data, bool text = true) = 0;
  /// Starts the close handshake with `code` (1000, 1001, 3000-4999, ...).
  virtual void close(std::uint16_t code = 1000, std::string_view reason = {}) = 0;
  virtual net::EventLoop& loop() noexcept = 0;
  /// The HTTP connection's id (access log, status).
  virtual std::uint64_t connectionId() const noexcept = 0;
  /// Bytes queued and not yet taken by the socket (a slow reader).
  virtual std::size_t queuedBytes() const noexcept = 0;

 protected:
  ~WebSocket() = default;
};

class WebSocketHandler {
 public:
  virtual ~WebSocketHandler() = default;
  /// The 101 response went out; the connection is open.
  virtual void onOpen(WebSocket&) {}
  /// A whole message (fragments joined; text already checked to be UTF-8).
  virtual void onMessage(WebSocket& ws, std::string_view data, bool text) = 0;
  /// The connection ended: `code` from the close handshake (1006: none took
  /// place). Sending is no longer possible; stop timers here.
  virtual void onClose(WebSocket&, std::uint16_t /*code*/) {}
};

/// Makes the handler for a valid handshake, or refuses it by returning
/// nullptr, with the refusal filled into the response (a status left at 200
/// becomes 403 Forbidden).
using WebSocketFactory =
    std::function<std::unique_ptr<WebSocketHandler>(const Request&, Response&)>;

/// A route handler that checks the opening handshake (RFC 6455 §4.2.1) and
/// answers 101 with the handler from `factory`, or refuses: 426 with
/// `Sec-WebSocket-Version: 13` for another version or a request without
/// Upgrade, 400 for a malformed handshake. Register it for GET.
std::function<void(const Request&, Response&)> webSocket(WebSocketFactory factory);

}  // namespace tether::http
