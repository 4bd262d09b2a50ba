// The response a handler fills in. The server adds the framing and connection
// headers (Date, Server, Content-Length, Connection, Keep-Alive) itself: a
// handler never decides persistence, except to ask for a close.
//
// Threading: a Response belongs to its connection's loop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tether/http/event_stream.h"
#include "tether/http/websocket.h"
#include "tether/net/stream.h"

namespace tether::http {

class ServerConnection;
class Response;

/// A body produced after the headers are sent: a file (sendfile) or generated
/// bytes. Called on the loop thread whenever the socket can take more.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual std::uint64_t size() const = 0;
  /// Writes up to `max` bytes of the body starting at `offset` to `stream`,
  /// with one stream operation (write or sendFile), and returns its result.
  virtual net::IoResult writeTo(net::Stream& stream, std::uint64_t offset, std::size_t max) = 0;
};

/// Handle for a response completed later, on the same loop thread (e.g. from a
/// timer). Safe to keep after the connection is gone: it then does nothing.
class DeferredResponse {
 public:
  DeferredResponse() = default;
  /// The response to fill in, or nullptr if the connection has gone away.
  Response* response() const noexcept;
  /// Sends the response. No-op when the connection has gone away.
  void finish();

 private:
  friend class Response;
  DeferredResponse(ServerConnection* c, std::uint32_t gen) : conn_(c), generation_(gen) {}
  ServerConnection* conn_ = nullptr;
  std::uint32_t generation_ = 0;
};

class Response {
 public:
  void setStatus(int code) noexcept { status_ = code; }
  int status() const noexcept { return status_; }
  void setContentType(std::string_view type) { contentType_.assign(type); }
  /// Adds a header line. Must not be a framing or connection header.
  void addHeader(std::string_view name, std::string_view value);
  void setBody(std::string_view body) { body_.assign(body); }
  /// The body buffer, for building bodies in place.
  std::string& body() noexcept { return body_; }
  void setBodySource(std::unique_ptr<BodySource> source) { source_ = std::move(source); }
  /// Ask the server to close the connection after this response.
  void closeConnection() noexcept { forceClose_ = true; }
  /// Completes this response later through the returned handle; the connection
  /// stops reading pipelined requests until then.
  DeferredResponse defer() noexcept;
  /// Switches the connection to WebSocket after this response (status 101,
  /// with the Upgrade and Sec-WebSocket-Accept headers added by the caller):
  /// webSocket() in websocket.h does the handshake and calls this.
  void upgradeToWebSocket(std::unique_ptr<WebSocketHandler> handler) noexcept;
  /// Answers with an event stream driven by `handler` (eventStream() in
  /// event_stream.h sets the headers and calls this).
  void streamEvents(std::unique_ptr<EventStreamHandler> handler) noexcept;
  /// The loop of the connection this response belongs to (timers, deferral).
  net::EventLoop& loop() const noexcept;

  /// Length of the body that will be sent (inline or source).
  std::uint64_t bodySize() const noexcept;

 private:
  friend class ServerConnection;
  void reset() noexcept;

  ServerConnection* conn_ = nullptr;
  int status_ = 200;
  bool forceClose_ = false;
  bool deferred_ = false;
  std::string contentType_;
  std::string headers_;  // "Name: value\r\n" lines
  std::string body_;
  std::unique_ptr<BodySource> source_;
  std::unique_ptr<WebSocketHandler> upgrade_;
  std::unique_ptr<EventStreamHandler> events_;
};

/// The standard reason phrase for `status` ("OK", "Not Found", ...).
std::string_view reasonPhrase(int status) noexcept;

}  // namespace tether::http
