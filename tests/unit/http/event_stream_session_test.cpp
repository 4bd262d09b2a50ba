// EventStreamSession in virtual time: the head, event formatting and chunked
// framing, the heartbeat comment to the millisecond after the last write, the
// client leaving, the handler ending the stream, the shutdown, HTTP/1.0.
#include "http/event_stream_session.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "http/worker.h"
#include "http/worker_test_util.h"
#include "tether/http/server.h"

namespace tether::http {
namespace {

constexpr Millis kHeartbeat = 15'000;

ServerOptions sseOptions() {
  ServerOptions o;
  o.workers = 1;
  o.maxConnections = 100;
  o.sseHeartbeat = kHeartbeat;
  o.lingeringClose = LingeringClose::kOff;
  return o;
}

// Keeps the stream so the test can push events and end it.
struct Pusher final : EventStreamHandler {
  EventStream** out;
  int* closes;
  Pusher(EventStream** o, int* c) : out(o), closes(c) {}
  void onOpen(EventStream& es) override { *out = &es; }
  void onClose(EventStream&) override {
    *out = nullptr;
    ++*closes;
  }
};

class EventStreamSessionTest : public testing::WorkerHarness {
 protected:
  EventStreamSessionTest() : WorkerHarness(sseOptions()) {
    server.handle("/events", "GET", eventStream([this](const Request&, Response&) {
                    return std::make_unique<Pusher>(&stream, &handlerCloses);
                  }));
  }
  ~EventStreamSessionTest() override { disconnect(); }
  void open(std::string_view version = "HTTP/1.1") {
    connect();
    send(std::string("GET /events ").append(version).append("\r\nHost: x\r\n\r\n"));
  }

  EventStream* stream = nullptr;
  int handlerCloses = 0;
};

TEST_F(EventStreamSessionTest, SendsTheHeadThenChunkedEventsAndHoldsNoBufferBetween) {
  open();
  std::string head = receive();
  EXPECT_EQ(head.substr(0, 17), "HTTP/1.1 200 OK\r\n");
  EXPECT_NE(head.find("Content-Type: text/event-stream\r\n"), std::string::npos);
  EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(head.find("X-Accel-Buffering: no\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(worker.stats().eventStreams.load(), 1u);
  EXPECT_EQ(worker.buffersInUse(), 0u);
  stream->send("line one\nline two\r\nthree", "tick", "7\nnot an id");
  std::string event = "id: 7\nevent: tick\ndata: line one\ndata: line two\ndata: three\n\n";
  EXPECT_EQ(receive(), fmt::format("{:x}\r\n{}\r\n", event.size(), event));
  stream->retry(2500);
  EXPECT_EQ(receive(), "d\r\nretry: 2500\n\n\r\n");
  EXPECT_EQ(worker.buffersInUse(), 0u) << "an idle stream holds no buffer";
  EXPECT_EQ(worker.stats().sseEvents.load(), 1u);
}

TEST_F(EventStreamSessionTest, HeartbeatAfterTheConfiguredSilenceOnly) {
  open();
  receive();
  runAt(5'000);
  stream->send("x");
  receive();
  runAt(5'000 + kHeartbeat - 1);
  EXPECT_EQ(receive(), "");
  runAt(5'000 + kHeartbeat);
  EXPECT_EQ(receive(), "d\r\n: heartbeat\n\n\r\n");
  runAt(5'000 + 2 * kHeartbeat - 1);
  EXPECT_EQ(receive(), "");
  runAt(5'000 + 2 * kHeartbeat);
  EXPECT_EQ(receive(), "d\r\n: heartbeat\n\n\r\n");
  EXPECT_EQ(worker.stats().sseHeartbeats.load(), 2u);
}

TEST_F(EventStreamSessionTest, TheClientLeavingEndsTheStream) {
  open();
  receive();
  send("ignored bytes");  // read and dropped
  EXPECT_EQ(testing::allCloses(worker), 0u);
  ::shutdown(peer, SHUT_WR);
  worker.loop().runOnce(0);
  EXPECT_EQ(closes(CloseReason::kClientClosed), 1u);
  EXPECT_EQ(handlerCloses, 1);
  EXPECT_EQ(worker.stats().eventStreams.load(), 0u);
}

TEST_F(EventStreamSessionTest, TheHandlerEndsTheStreamWithTheLastChunk) {
  open();
  receive();
  stream->close();
  EXPECT_EQ(receive(), "0\r\n\r\n");
  EXPECT_TRUE(closedSeen);
  EXPECT_EQ(closes(CloseReason::kSseEnded), 1u);
}

TEST_F(EventStreamSessionTest, ShutdownEndsTheStream) {
  open();
  receive();
  worker.requestShutdown();
  worker.loop().runOnce(0);
  EXPECT_EQ(receive(), "0\r\n\r\n");
  EXPECT_TRUE(closedSeen);
  EXPECT_EQ(closes(CloseReason::kShutdown), 1u);
}

TEST_F(EventStreamSessionTest, Http10GetsTheRawStreamEndedByTheClose) {
  open("HTTP/1.0");
  std::string head = receive();
  EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos);
  EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos);
  stream->send("x");
  EXPECT_EQ(receive(), "data: x\n\n");
  stream->close();
  EXPECT_EQ(receive(), "");
  EXPECT_TRUE(closedSeen);
}

}  // namespace
}  // namespace tether::http
