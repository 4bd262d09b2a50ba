// A HeartbeatSession speaking WebSocket as the client, against a scripted
// server on the other end of a socket pair, in virtual time: the upgrade and
// its checks, masked pings whose pongs measure the RTT, the server's pings
// answered, messages (fragmented, split, large) counted as data, both close
// handshakes and the wait for the answer, and each bad server frame closed
// with the RFC's code.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/websocket/frame.h"
#include "http/websocket/handshake.h"
#include "liveness/session_recorder.h"
#include "tether/http/websocket_client.h"
#include "tether/liveness/heartbeat_session.h"

namespace tether::http::ws {
namespace {

using core::Millis;
using liveness::HeartbeatSession;
using liveness::HeartbeatSessionOptions;
using liveness::SessionClose;
using liveness::SessionCloseReason;

using Recorder = liveness::testing::SessionRecorder;

// One frame the client sent, unmasked.
struct ClientFrame {
  Opcode opcode;
  std::string payload;
  bool masked;
};

class WsClientCodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    HeartbeatSessionOptions o;
    o.heartbeat.interval = 1'000;
    o.heartbeat.timeout = 2'000;
    o.heartbeat.minPingInterval = 0;
    o.codec = webSocketHeartbeatCodec("example.test:8080", "/ws/echo?x=1");
    session = std::make_unique<HeartbeatSession>(loop, sv[0], o, rec, 1);
    server = sv[1];
    session->start();
    run();
  }
  void TearDown() override {
    session.reset();
    if (server >= 0) ::close(server);
  }
  void run() {
    for (int i = 0; i < 4; ++i) loop.runOnce(0);
  }
  void at(Millis t) {
    clock.set(t);
    run();
  }
  std::string readServerSide() {
    std::string got;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(server, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
    return got;
  }
  // Writes all of `bytes`, letting the session read when the pair is full.
  void send(std::string_view bytes) {
    for (int rounds = 0; !bytes.empty() && rounds < 1000; ++rounds) {
      ssize_t n = ::write(server, bytes.data(), bytes.size());
      if (n > 0) bytes.remove_prefix(static_cast<std::size_t>(n));
      run();
    }
    ASSERT_TRUE(bytes.empty()) << "the session stopped reading";
  }
  // Reads the upgrade request and answers it; returns the request.
  std::string accept(std::string_view extraHeaders = {}) {
    std::string request = readServerSide();
    std::size_t at = request.find("Sec-WebSocket-Key: ");
    EXPECT_NE(at, std::string::npos);
    std::string key = request.substr(at + 19, 24);
    send(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        acceptKey(key) + "\r\n" + std::string(extraHeaders) + "\r\n");
    return request;
  }
  // Decodes everything the client sent since the last call.
  std::vector<ClientFrame> clientFrames() {
    std::string bytes = readServerSide();
    std::vector<ClientFrame> frames;
    std::string_view rest = bytes;
    while (!rest.empty()) {
      HeaderResult h = decodeHeader(rest, /*fromClient=*/true);
      if (h.status != HeaderStatus::kComplete) {
        ADD_FAILURE() << "the client sent a bad frame: " << (h.problem ? h.problem : "partial");
        break;
      }
      std::string payload(rest.substr(h.header.headerSize, h.header.length));
      unmask(payload.data(), payload.size(), h.header.mask, 0);
      frames.push_back({h.header.opcode, payload, h.header.masked});
      rest.remove_prefix(h.header.headerSize + h.header.length);
    }
    return frames;
  }
  static std::string frame(Opcode op, std::string_view payload, bool fin = true) {
    std::string out;
    appendFrame(out, op, payload, fin);
    return out;
  }
  static std::string closeFrame(std::uint16_t code, std::string_view reason) {
    std::string out;
    appendClose(out, code, reason);
    return out;
  }
  static std::uint16_t codeOf(const ClientFrame& f) {
    return static_cast<std::uint16_t>((static_cast<std::uint8_t>(f.payload[0]) << 8) |
                                      static_cast<std::uint8_t>(f.payload[1]));
  }
  void expectClosedWith(std::uint16_t code, SessionCloseReason reason) {
    std::vector<ClientFrame> frames = clientFrames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].opcode, Opcode::kClose);
    EXPECT_EQ(codeOf(frames[0]), code);
    ASSERT_TRUE(rec.closed);
    EXPECT_EQ(rec.closed->reason, reason);
  }

  core::ManualClock clock{0};
  net::EventLoop loop{clock};
  Recorder rec;
  std::unique_ptr<HeartbeatSession> session;
  int server = -1;
};

TEST_F(WsClientCodecTest, TheUpgradeRequestIsAnRfc6455Handshake) {
  std::string request = accept();
  EXPECT_EQ(request.rfind("GET /ws/echo?x=1 HTTP/1.1\r\n", 0), 0u) << request;
  EXPECT_NE(request.find("\r\nHost: example.test:8080\r\n"), std::string::npos);
  EXPECT_NE(request.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(request.find("\r\nConnection: Upgrade\r\n"), std::string::npos);
  EXPECT_NE(request.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_TRUE(request.ends_with("\r\n\r\n"));
  EXPECT_FALSE(rec.closed);
}

TEST_F(WsClientCodecTest, PingsAreMaskedAndTheEchoedPongMeasuresTheRtt) {
  accept();
  at(999);
  EXPECT_TRUE(clientFrames().empty());
  at(1'000);
  std::vector<ClientFrame> frames = clientFrames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, Opcode::kPing);
  EXPECT_TRUE(frames[0].masked) << "RFC 6455 §5.1: every client frame is masked";
  ASSERT_EQ(frames[0].payload.size(), 8u) << "the ping id";
  clock.set(1'007);
  send(frame(Opcode::kPong, frames[0].payload));
  ASSERT_EQ(rec.rtts.size(), 1u);
  EXPECT_DOUBLE_EQ(rec.rtts[0], 7.0);
  EXPECT_EQ(session->engine().pingsSent(), 1u);
}

TEST_F(WsClientCodecTest, AnUnansweredPingIsAHeartbeatTimeoutClosedWith1001AtOnce) {
  accept();
  at(1'000);
  ASSERT_EQ(clientFrames().size(), 1u);
  at(2'999);
  EXPECT_FALSE(rec.closed);
  at(3'000);
  expectClosedWith(kGoingAway, SessionCloseReason::kHeartbeatTimeout);
  EXPECT_EQ(rec.closed->sinceLastRead, 3'000);
  EXPECT_TRUE(session->closed()) << "a silent peer is not waited for";
}

TEST_F(WsClientCodecTest, TheServersPingIsAnsweredWithItsPayloadAndCountsAsActivity) {
  accept();
  at(900);
  send(frame(Opcode::kPing, "abc"));
  std::vector<ClientFrame> frames = clientFrames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, Opcode::kPong);
  EXPECT_EQ(frames[0].payload, "abc");
  EXPECT_TRUE(frames[0].masked);
  at(1'899);
  EXPECT_EQ(rec.pingsSent, 0) << "the server's ping reset our silence clock";
  at(1'900);
  EXPECT_EQ(rec.pingsSent, 1);
}

TEST_F(WsClientCodecTest, MessagesFragmentedSplitAndLargeCountAsData) {
  accept();
  std::string message = frame(Opcode::kText, "hel", false) + frame(Opcode::kPing, "p") +
                        frame(Opcode::kContinuation, "lo");
  for (char c : message) send(std::string(1, c));  // byte by byte
  std::string big(200'000, 'x');
  std::string bigFrame = frame(Opcode::kBinary, big);
  send(bigFrame.substr(0, 70'000));
  send(bigFrame.substr(70'000));
  EXPECT_EQ(session->dataBytesReceived(), 5u + big.size());
  EXPECT_FALSE(rec.closed);
  std::vector<ClientFrame> frames = clientFrames();
  ASSERT_EQ(frames.size(), 1u) << "the interleaved ping's pong";
  EXPECT_EQ(frames[0].opcode, Opcode::kPong);
}

TEST_F(WsClientCodecTest, TheServersCloseIsEchoedAndItsFinEndsTheSession) {
  accept();
  at(500);
  send(closeFrame(kGoingAway, "server shutting down"));
  std::vector<ClientFrame> frames = clientFrames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, Opcode::kClose);
  EXPECT_EQ(codeOf(frames[0]), kGoingAway) << "the code is echoed";
  EXPECT_FALSE(rec.closed) << "RFC 6455 §7.1.1: the server closes TCP first";
  ::close(server);
  server = -1;
  at(600);
  ASSERT_TRUE(rec.closed);
  EXPECT_EQ(rec.closed->reason, SessionCloseReason::kPeerClosed);
  EXPECT_EQ(rec.closed->detail,
            "the server closed the WebSocket: 1001 going away (server shutting down)");
  EXPECT_EQ(rec.closed->sinceLastRead, 0) << "measured when the close frame arrived";
}

TEST_F(WsClientCodecTest, AServerThatKeepsTheSocketAfterTheClosesIsDroppedAfterTheWait) {
  accept();
  send(closeFrame(kNormal, ""));
  at(HeartbeatSession::kGoodbyeAnswerWait - 1);
  EXPECT_FALSE(rec.closed);
  at(HeartbeatSession::kGoodbyeAnswerWait);
  ASSERT_TRUE(rec.closed);
  EXPECT_EQ(rec.closed->reason, SessionCloseReason::kPeerClosed);
}

TEST_F(WsClientCodecTest, A1008ForPingsIsTooManyPings) {
  accept();
  send(closeFrame(kPolicyViolation, "too many pings"));
  ::close(server);
  server = -1;
  run();
  ASSERT_TRUE(rec.closed);
  EXPECT_EQ(rec.closed->reason, SessionCloseReason::kTooManyPings);
}

TEST_F(WsClientCodecTest, OurGoodbyeIs1000AndWaitsForTheServersAnswer) {
  accept();
  at(100);
  session->closeWithGoodbye(liveness::wire::GoodbyeReason::kNormal, SessionCloseReason::kLocal,
                            "client done");
  std::vector<ClientFrame> frames = clientFrames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(codeOf(frames[0]), kNormal);
  EXPECT_EQ(frames[0].payload.substr(2), "client done");
  EXPECT_FALSE(rec.closed);
  at(1'500);
  EXPECT_EQ(rec.pingsSent, 0) << "no heartbeat while closing";
  send(frame(Opcode::kText, "late message"));  // ignored while closing
  send(closeFrame(kNormal, ""));
  ASSERT_TRUE(rec.closed);
  EXPECT_EQ(rec.closed->reason, SessionCloseReason::kLocal);
  EXPECT_EQ(rec.closed->detail, "client done");
}

TEST_F(WsClientCodecTest, OurGoodbyeGivesUpAfterTheWait) {
  accept();
  session->closeWithGoodbye(liveness::wire::GoodbyeReason::kNormal, SessionCloseReason::kLocal,
                            "client done");
  at(HeartbeatSession::kGoodbyeAnswerWait - 1);
  EXPECT_FALSE(rec.closed);
  at(HeartbeatSession::kGoodbyeAnswerWait);
  ASSERT_TRUE(rec.closed);
  EXPECT_EQ(rec.closed->reason, SessionCloseReason::kLocal);
}

TEST_F(WsClientCodecTest, AMaskedServerFrameIsAProtocolError1002) {
  accept();
  std::string masked;
  const std::uint8_t mask[4] = {1, 2, 3, 4};
  appendHeader(masked, Opcode::kText, true, 2, mask);
  masked += "hi";
  send(masked);
  expectClosedWith(kProtocolError, SessionCloseReason::kError);
}

TEST_F(WsClientCodecTest, InvalidUtf8IsClosedWith1007) {
  accept();
  send(frame(Opcode::kText, "\xC3", false));
  EXPECT_FALSE(rec.closed) << "a character may continue in the next fragment";
  send(frame(Opcode::kContinuation, "\x28"));
  expectClosedWith(kInvalidPayload, SessionCloseReason::kError);
}

TEST_F(WsClientCodecTest, AContinuationWithoutAMessageIsAProtocolError) {
  accept();
  send(frame(Opcode::kContinuation, "x"));
  expectClosedWith(kProtocolError, SessionCloseReason::kError);
}

TEST_F(WsClientCodecTest, AnInvalidCloseCodeIsAProtocolError) {
  accept();
  send(closeFrame(1004, "x"));  // reserved: never on the wire
  expectClosedWith(kProtocolError, SessionCloseReason::kError);
}

TEST_F(WsClientCodecTest, ARefusalIsAnErrorNamingTheStatusWithNoCloseFrame) {
  readServerSide();
  send("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
  ASSERT_TRUE(rec.closed);
  EXPECT_EQ(rec.closed->reason, SessionCloseReason::kError);
  EXPECT_EQ(rec.closed->detail,
            "the server answered 404 Not Found instead of 101 Switching Protocols");
  EXPECT_TRUE(readServerSide().empty()) << "no WebSocket, so no close frame";
}

TEST_F(WsClientCodecTest, AWrongAcceptKeyIsRefused) {
  readServerSide();
  send(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  ASSERT_TRUE(rec.closed);
  EXPECT_EQ(rec.closed->reason, SessionCloseReason::kError);
  EXPECT_EQ(rec.closed->detail, "the 101's Sec-WebSocket-Accept does not match our key");
}

TEST_F(WsClientCodecTest, AnExtensionThatWasNotOfferedIsRefused) {
  accept("Sec-WebSocket-Extensions: permessage-deflate\r\n");
  ASSERT_TRUE(rec.closed);
  EXPECT_EQ(rec.closed->detail, "the 101 names an extension that was not offered");
}

TEST_F(WsClientCodecTest, FramesInTheSameReadAsThe101AreDecoded) {
  std::string request = readServerSide();
  std::string key = request.substr(request.find("Sec-WebSocket-Key: ") + 19, 24);
  send(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      acceptKey(key) + "\r\n\r\n" + frame(Opcode::kPing, "now"));
  std::vector<ClientFrame> frames = clientFrames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, Opcode::kPong);
  EXPECT_EQ(frames[0].payload, "now");
}

}  // namespace
}  // namespace tether::http::ws
