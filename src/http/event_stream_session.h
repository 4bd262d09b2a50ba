// One event stream after its response head: formats events (chunked on
// HTTP/1.1), writes a heartbeat comment when the stream has been quiet for
// ServerOptions::sseHeartbeat, reads and drops anything the client sends (to
// see it leave), and ends the stream on close() or the shutdown. An idle
// stream holds no buffer. Threading and ownership: as every Upgraded.
#pragma once

#include <memory>
#include <string_view>

#include "tether/http/event_stream.h"
#include "tether/http/server_stats.h"
#include "upgraded.h"

namespace tether::http {

class ServerConnection;
struct ActiveState;

class EventStreamSession final : public Upgraded, public EventStream {
 public:
  /// `chunked`: the head said Transfer-Encoding: chunked (HTTP/1.1).
  EventStreamSession(ServerConnection& conn, std::unique_ptr<EventStreamHandler> handler,
                     bool chunked);
  EventStreamSession(const EventStreamSession&) = delete;
  EventStreamSession& operator=(const EventStreamSession&) = delete;

  // Upgraded
  void open() override;
  void drive() override;
  core::Millis deadline() const noexcept override;
  void onTimeout() override;
  void onShutdown() override;
  void onConnectionClosed() noexcept override;

  // EventStream
  void send(std::string_view data, std::string_view event, std::string_view id) override;
  void retry(core::Millis ms) override;
  void close() override;
  net::EventLoop& loop() noexcept override;
  std::size_t queuedBytes() const noexcept override;

 private:
  void append(std::string_view text);
  void end(CloseReason why);
  bool readAndDrop();
  void releaseIdleBuffer();
  core::Millis now() const noexcept;

  ServerConnection& conn_;
  std::unique_ptr<EventStreamHandler> handler_;
  core::Millis lastWrite_ = 0;  // last bytes queued (the heartbeat's clock)
  CloseReason endReason_ = CloseReason::kSseEnded;
  bool chunked_;
  bool ending_ = false;   // the last chunk is queued: close once it is out
  bool closed_ = false;   // the connection is gone
  bool driving_ = false;  // inside drive(): send() only queues
};

}  // namespace tether::http
