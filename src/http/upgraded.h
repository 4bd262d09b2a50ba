// The protocol a ServerConnection speaks after its HTTP exchange handed the
// connection over (the "upgrade" seam): WebSocket after a 101 (ws::Session),
// an event stream after its 200 head (EventStreamSession). The connection
// stays the stream's owner and the loop's handler; in its kWebSocket or
// kEventStream state it forwards events, its timer and the shutdown here.
//
// Threading: the worker's loop thread. Ownership: the connection owns the
// object and deletes it when it is recycled (end of the loop iteration), never
// inside a callback; after onConnectionClosed() every entry point is a no-op.
#pragma once

#include "tether/core/timer_wheel.h"

namespace tether::http {

class Upgraded {
 public:
  virtual ~Upgraded() = default;
  /// The response head went out: begin (tell the handler, read early bytes).
  virtual void open() = 0;
  /// Events arrived (the stream recorded them): read, write, close as due.
  virtual void drive() = 0;
  /// The connection's one deadline while upgraded (send, close, idle...).
  virtual core::Millis deadline() const noexcept = 0;
  virtual void onTimeout() = 0;
  /// Graceful shutdown began.
  virtual void onShutdown() = 0;
  /// The connection closed (any reason): stop timers, tell the handler once.
  virtual void onConnectionClosed() noexcept = 0;
};

}  // namespace tether::http
