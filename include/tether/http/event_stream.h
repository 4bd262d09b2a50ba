// Server-Sent Events (the WHATWG HTML "server-sent events" format) on tether's
// HTTP server: a route that answers with a `text/event-stream` response that
// stays open, a handler that pushes events into it, and a heartbeat comment
// whenever the stream has been quiet for ServerOptions::sseHeartbeat, so that
// proxies' read timeouts do not cut it.
//
//   server.handle("/events", "GET", http::eventStream([](const Request& req, Response&) {
//     return std::make_unique<MyStream>(req.header("last-event-id"));
//   }));
//
// Threading: everything on the connection's loop thread. Ownership: the
// server owns each handler from its creation until after onClose(); the
// EventStream reference is valid from onOpen() to the end of onClose().
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

class Response;

/// One open event stream as its handler sees it.
class EventStream {
 public:
  /// Queues one event: `id:` and `event:` lines when given, then `data:` lines
  /// (one per line of `data`). `id` and `event` must not contain newlines.
  virtual void send(std::string_view data, std::string_view event = {},
                    std::string_view id = {}) = 0;
  /// Queues `retry: ms` (the client's reconnection delay).
  virtual void retry(core::Millis ms) = 0;
  /// Ends the stream and closes the connection (clients reconnect).
  virtual void close() = 0;
  virtual net::EventLoop& loop() noexcept = 0;
  /// Bytes queued and not yet taken by the socket (a slow reader).
  virtual std::size_t queuedBytes() const noexcept = 0;

 protected:
  ~EventStream() = default;
};

class EventStreamHandler {
 public:
  virtual ~EventStreamHandler() = default;
  /// The response head went out; the stream is open.
  virtual void onOpen(EventStream&) {}
  /// The connection ended (the client left, close(), shutdown, a write
  /// failed). Sending is no longer possible; stop timers here.
  virtual void onClose(EventStream&) {}
};

/// Makes the handler for a request, or refuses by returning nullptr with the
/// refusal filled into the response (a status left at 200 becomes 403).
/// Read what the handler needs (Last-Event-ID) here: the request does not
/// outlive the call.
using EventStreamFactory =
    std::function<std::unique_ptr<EventStreamHandler>(const Request&, Response&)>;

/// A route handler answering with an event stream: 200, `text/event-stream`,
/// `Cache-Control: no-store`, `X-Accel-Buffering: no` (nginx passes it on
/// unbuffered), chunked on HTTP/1.1; the connection closes when it ends.
std::function<void(const Request&, Response&)> eventStream(EventStreamFactory factory);

}  // namespace tether::http
