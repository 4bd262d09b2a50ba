// One server-side WebSocket connection after the 101: reads frames out of the
// connection's pooled buffer, joins fragments, checks UTF-8, answers pings,
// pings a quiet peer (HeartbeatEngine on the worker's wheel), runs the close
// handshake, and hands whole messages to the WebSocketHandler.
//
// The HTTP ServerConnection stays the stream's owner and the loop's handler
// (upgraded.h), and keeps counting it among open connections.
// Like an idle HTTP connection, an idle WebSocket holds no buffer: the buffer
// goes back to the worker's pool whenever no frame is half read and no output
// is queued.
//
// Threading and ownership: as every Upgraded (upgraded.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "../upgraded.h"
#include "frame.h"
#include "tether/http/server_stats.h"
#include "tether/http/websocket.h"
#include "tether/liveness/heartbeat.h"
#include "utf8.h"

namespace tether::http {
class ServerConnection;
class WorkerStats;
struct ActiveState;
}  // namespace tether::http

namespace tether::http::ws {

class Session final : public Upgraded, public WebSocket, liveness::HeartbeatHost {
 public:
  Session(ServerConnection& conn, std::unique_ptr<WebSocketHandler> handler);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Upgraded. open(): the 101 went out; start heartbeats, tell the handler
  // (the connection's drive() then reads what came after the handshake).
  // onShutdown(): close with 1001 and wait for the peer's close frame.
  void open() override;
  void drive() override;
  Millis deadline() const noexcept override;
  void onTimeout() override;
  void onShutdown() override;
  void onConnectionClosed() noexcept override;

  // WebSocket
  void send(std::string_view data, bool text) override;
  void close(std::uint16_t code, std::string_view reason) override;
  net::EventLoop& loop() noexcept override;
  std::uint64_t connectionId() const noexcept override;
  std::size_t queuedBytes() const noexcept override;

 private:
  // HeartbeatHost
  void heartbeatSendPing(std::uint64_t opaque) override;
  void heartbeatPeerDead() override;

  bool readOnce();
  bool processInput();
  bool processFrame();  // false: wait for more bytes (or the connection ended)
  bool streamPayload();
  void onControl(const FrameHeader& h, std::string_view payload);
  void onClose(std::string_view payload);
  void onData(const FrameHeader& h, std::string_view payload);
  void deliver(std::string_view data, bool text);
  bool acceptsData(const FrameHeader& h);
  void startClosing(std::uint16_t code, std::string_view reason, CloseReason why);
  void fail(std::uint16_t code, const char* problem, CloseReason why);
  void writePending();
  void releaseIdleBuffer();
  ActiveState& buffer();
  Millis now() const noexcept;
  WorkerStats& stats() const noexcept;

  ServerConnection& conn_;
  std::unique_ptr<WebSocketHandler> handler_;
  liveness::HeartbeatEngine heartbeat_;
  std::string message_;  // fragments of the message being received
  FrameHeader frame_;    // the frame whose payload is being streamed
  std::uint64_t payloadDone_ = 0;
  Millis lastData_ = 0;  // last data message either way (the idle timeout)
  Millis closeSentAt_ = 0;
  Utf8Validator utf8_;
  Opcode messageOpcode_ = Opcode::kContinuation;  // kContinuation: no message open
  CloseReason closeReason_ = CloseReason::kWsClosed;
  // The close handshake's code: the peer's if it closed first, else ours;
  // 1006 while none was exchanged.
  std::uint16_t closeCode_ = kAbnormal;
  bool streaming_ = false;         // frame_'s payload arrives in pieces into message_
  bool closeSent_ = false;         // our close frame is queued
  bool closeReceived_ = false;     // the peer's close frame arrived
  bool closeWhenFlushed_ = false;  // end the TCP connection once the output is out
  bool closed_ = false;            // the connection is gone
  bool driving_ = false;           // inside drive(): send() only queues
};

}  // namespace tether::http::ws
