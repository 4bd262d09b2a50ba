// ws::Session in virtual time: a Worker on a ManualClock, a WebSocket echo
// route, the client end of a socket pair writing masked frames. Heartbeat,
// idle and close deadlines are checked to the millisecond (open at d - 1,
// acted at d); every protocol violation gets its close code and reason.
#include "http/websocket/session.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "http/websocket/frame.h"
#include "http/worker.h"
#include "http/worker_test_util.h"
#include "tether/http/server.h"

namespace tether::http::ws {
namespace {

constexpr Millis kPing = 30'000, kPingTimeout = 10'000, kClose = 5'000, kIdle = 120'000;
const std::uint8_t kMask[4] = {1, 2, 3, 4};

ServerOptions wsOptions() {
  ServerOptions o;
  o.workers = 1;
  o.maxConnections = 100;
  o.ws.pingInterval = kPing;
  o.ws.pingTimeout = kPingTimeout;
  o.ws.closeTimeout = kClose;
  o.ws.minPingInterval = 1'000;
  o.ws.maxPingStrikes = 2;
  o.ws.maxMessageSize = 64 * 1024;
  o.lingeringClose = LingeringClose::kOff;  // the TCP close is visible at once
  return o;
}

class Echo final : public WebSocketHandler {
 public:
  explicit Echo(std::vector<std::uint16_t>* closes) : closes_(closes) {}
  void onMessage(WebSocket& ws, std::string_view data, bool text) override {
    if (data == "close please") return ws.close(4000, "asked");
    ws.send(data, text);
  }
  void onClose(WebSocket&, std::uint16_t code) override { closes_->push_back(code); }

 private:
  std::vector<std::uint16_t>* closes_;
};

std::string frame(Opcode op, std::string_view payload, bool fin = true) {
  std::string out;
  appendHeader(out, op, fin, payload.size(), kMask);
  std::size_t at = out.size();
  out.append(payload);
  unmask(out.data() + at, payload.size(), kMask, 0);
  return out;
}

std::string closeFrame(std::uint16_t code, std::string_view reason = {}) {
  std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  return frame(Opcode::kClose, payload.append(reason));
}

struct Frame {
  Opcode op;
  std::string payload;
  std::uint16_t code() const {  // of a close frame
    return static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                      static_cast<std::uint8_t>(payload[1]));
  }
};

constexpr std::string_view kHandshake =
    "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

class SessionTest : public testing::WorkerHarness {
 protected:
  explicit SessionTest(ServerOptions o = wsOptions()) : WorkerHarness(std::move(o)) {
    server.handle("/ws", "GET", webSocket([this](const Request&, Response&) {
                    return std::make_unique<Echo>(&handlerCloses);
                  }));
  }
  ~SessionTest() override { disconnect(); }

  // Connects and upgrades; `after` rides in the same write as the handshake.
  void open(std::string_view after = {}) {
    connect();
    send(std::string(kHandshake).append(after));
    std::string head = receive();
    std::size_t end = head.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos) << head;
    ASSERT_EQ(head.substr(0, 34), "HTTP/1.1 101 Switching Protocols\r\n");
    ASSERT_NE(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
              std::string::npos);
    ASSERT_NE(head.find("Connection: Upgrade\r\n"), std::string::npos);
    pending = head.substr(end + 4);
  }
  // Whole frames the server sent since the last call.
  std::vector<Frame> frames() {
    pending += receive();
    std::vector<Frame> out;
    for (;;) {
      HeaderResult r = decodeHeader(pending, false);
      if (r.status != HeaderStatus::kComplete) {
        EXPECT_NE(r.status, HeaderStatus::kError) << r.problem;
        break;
      }
      if (pending.size() < r.header.headerSize + r.header.length) break;
      out.push_back({r.header.opcode, pending.substr(r.header.headerSize, r.header.length)});
      pending.erase(0, r.header.headerSize + r.header.length);
    }
    return out;
  }
  // The server's close frame (code) and TCP close, for `reason`.
  void expectClosedWith(std::uint16_t code, CloseReason reason) {
    std::vector<Frame> f = frames();
    ASSERT_FALSE(f.empty());
    EXPECT_EQ(f.back().op, Opcode::kClose);
    EXPECT_EQ(f.back().code(), code);
    EXPECT_TRUE(closedSeen) << "the TCP connection is closed";
    EXPECT_EQ(closes(reason), 1u) << closeReasonName(reason);
    EXPECT_EQ(allCloses(), 1u);
  }

  std::vector<std::uint16_t> handlerCloses;
  std::string pending;
};

TEST_F(SessionTest, UpgradesEchoesAndHoldsNoBufferWhileIdle) {
  open();
  EXPECT_EQ(worker.stats().websockets.load(), 1u);
  EXPECT_EQ(worker.stats().wsOpened.load(), 1u);
  send(frame(Opcode::kText, "hello"));
  std::vector<Frame> f = frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].op, Opcode::kText);
  EXPECT_EQ(f[0].payload, "hello");
  send(frame(Opcode::kBinary, std::string("\0\1\2", 3)));
  f = frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].op, Opcode::kBinary);
  EXPECT_EQ(worker.buffersInUse(), 0u) << "an idle WebSocket holds no buffer";
}

TEST_F(SessionTest, FramesSentWithTheHandshakeAreNotLost) {
  open(frame(Opcode::kText, "early"));
  std::vector<Frame> f = frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].payload, "early");
}

TEST_F(SessionTest, JoinsFragmentsAroundAPingAndAnswersThePingFirst) {
  open();
  send(frame(Opcode::kText, "frag", false) + frame(Opcode::kPing, "p1") +
       frame(Opcode::kContinuation, "ment", false));
  std::vector<Frame> f = frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].op, Opcode::kPong);
  EXPECT_EQ(f[0].payload, "p1");
  send(frame(Opcode::kContinuation, "ed"));
  f = frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].payload, "fragmented");
}

TEST_F(SessionTest, StreamsAMessageLargerThanTheReadBuffer) {
  open();
  std::string big(60'000, 'x');
  for (std::size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
  std::string wire = frame(Opcode::kBinary, big);
  for (std::size_t at = 0; at < wire.size(); at += 9'000) send(wire.substr(at, 9'000));
  std::string echoed;
  for (int i = 0; i < 20 && echoed.empty(); ++i) {
    worker.loop().runOnce(0);
    for (const Frame& x : frames()) echoed += x.payload;
  }
  EXPECT_EQ(echoed, big);
}

TEST_F(SessionTest, PingsAfterTheIntervalAndClosesWhenNothingAnswers) {
  open();
  runAt(kPing - 1);
  EXPECT_TRUE(frames().empty());
  runAt(kPing);
  std::vector<Frame> f = frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].op, Opcode::kPing);
  EXPECT_EQ(f[0].payload.size(), 8u);
  EXPECT_EQ(worker.stats().wsPingsSent.load(), 1u);
  runAt(kPing + kPingTimeout - 1);
  EXPECT_EQ(allCloses(), 0u);
  runAt(kPing + kPingTimeout);
  expectClosedWith(kGoingAway, CloseReason::kWsPingTimeout);
  EXPECT_EQ(handlerCloses, std::vector<std::uint16_t>{kGoingAway});
}

TEST_F(SessionTest, AnyFrameFromThePeerKeepsItAliveAndAPongMeasuresTheRoundTrip) {
  open();
  runAt(kPing);
  std::vector<Frame> f = frames();
  ASSERT_EQ(f.size(), 1u);
  runAt(kPing + 40);
  send(frame(Opcode::kPong, f[0].payload));
  EXPECT_EQ(worker.stats().wsPongsReceived.load(), 1u);
  const auto& rtt =
      worker.stats().histograms[static_cast<std::size_t>(Distribution::kWsPingRttSeconds)];
  HistogramSnapshot h;
  rtt.addTo(h);
  EXPECT_EQ(h.count, 1u);
  EXPECT_EQ(h.sum, 40u) << "ms";
  // The next ping is an interval after the pong; a text frame (or an
  // unsolicited pong) moves it on the same way.
  runAt(kPing + 40 + kPing - 1);
  EXPECT_TRUE(frames().empty());
  send(frame(Opcode::kPong, "unsolicited"));
  runAt(kPing + 40 + kPing + kPingTimeout);
  EXPECT_TRUE(frames().empty());
  EXPECT_EQ(allCloses(), 0u);
}

TEST_F(SessionTest, APeerPingingTooOftenIsClosedWith1008) {
  open();
  send(frame(Opcode::kPing, "1"));  // the first is fine
  send(frame(Opcode::kPing, "2"));  // strike 1
  send(frame(Opcode::kPing, "3"));  // strike 2
  EXPECT_EQ(allCloses(), 0u);
  send(frame(Opcode::kPing, "4"));  // strike 3 > 2
  expectClosedWith(kPolicyViolation, CloseReason::kWsTooManyPings);
}

TEST_F(SessionTest, PingsSpacedBeyondTheMinimumAreNoStrikes) {
  open();
  for (int i = 1; i <= 6; ++i) {
    runAt(i * 1'000);
    send(frame(Opcode::kPing, "ok"));
  }
  EXPECT_EQ(allCloses(), 0u);
  EXPECT_EQ(frames().size(), 6u) << "six pongs";
}

TEST_F(SessionTest, ThePeersCloseIsEchoedAndTheServerClosesFirst) {
  open();
  send(closeFrame(1000, "bye"));
  expectClosedWith(1000, CloseReason::kWsClosed);
  EXPECT_EQ(handlerCloses, std::vector<std::uint16_t>{1000});
  EXPECT_EQ(worker.stats().wsCloseCodes[wsCloseCodeIndex(1000)].load(), 1u);
  EXPECT_EQ(worker.stats().websockets.load(), 0u);
}

TEST_F(SessionTest, AnEmptyCloseIsAnsweredWithAnEmptyClose) {
  open();
  send(frame(Opcode::kClose, ""));
  std::vector<Frame> f = frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].op, Opcode::kClose);
  EXPECT_EQ(f[0].payload, "");
  EXPECT_EQ(handlerCloses, std::vector<std::uint16_t>{kNoStatus});
}

TEST_F(SessionTest, TheHandlersCloseWaitsForTheAnswerThenTimesOut) {
  open();
  send(frame(Opcode::kText, "close please"));
  std::vector<Frame> f = frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code(), 4000);
  send(frame(Opcode::kText, "dropped while closing"));
  EXPECT_TRUE(frames().empty());
  runAt(kClose - 1);
  EXPECT_EQ(allCloses(), 0u);
  runAt(kClose);
  EXPECT_EQ(closes(CloseReason::kWsCloseTimeout), 1u);
}

TEST_F(SessionTest, BadInputGetsTheRfcsCloseCode) {
  struct Case {
    std::string bytes;
    std::uint16_t code;
  };
  std::string unmasked;
  appendFrame(unmasked, Opcode::kText, "x");
  for (const Case& c : std::vector<Case>{
           {unmasked, kProtocolError},
           {frame(Opcode::kText, "\xC0\xAF"), kInvalidPayload},
           {frame(Opcode::kText, "ok", false) + frame(Opcode::kContinuation, "\xE2\x82"),
            kInvalidPayload},
           {frame(Opcode::kContinuation, "x"), kProtocolError},
           {frame(Opcode::kText, "a", false) + frame(Opcode::kText, "b"), kProtocolError},
           {frame(Opcode::kBinary, std::string(64 * 1024 + 1, 'b')), kMessageTooBig},
           {closeFrame(1005), kProtocolError},
           {closeFrame(1000, "\xFF"), kInvalidPayload},
           {frame(Opcode::kClose, "x"), kProtocolError},
           {std::string("\x83\x80\1\2\3\4", 6), kProtocolError},
       }) {
    SCOPED_TRACE(::testing::PrintToString(c.bytes.substr(0, 16)));
    pending.clear();
    std::uint64_t before = closes(CloseReason::kWsProtocolError);
    open();
    send(c.bytes);
    std::vector<Frame> f = frames();
    ASSERT_FALSE(f.empty());
    EXPECT_EQ(f.back().op, Opcode::kClose);
    EXPECT_EQ(f.back().code(), c.code);
    EXPECT_TRUE(closedSeen);
    EXPECT_EQ(closes(CloseReason::kWsProtocolError), before + 1);
    worker.loop().runOnce(0);  // the peer's FIN of the previous round, if any
  }
}

TEST_F(SessionTest, ShutdownSendsGoingAwayAndWaitsForTheAnswer) {
  open();
  worker.requestShutdown();
  worker.loop().runOnce(0);
  std::vector<Frame> f = frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code(), kGoingAway);
  send(closeFrame(kGoingAway));
  receive();
  EXPECT_TRUE(closedSeen);
  EXPECT_EQ(closes(CloseReason::kShutdown), 1u);
}

TEST_F(SessionTest, RefusedHandshakesStayPlainHttp) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  peer = sv[1];
  static_cast<net::Acceptor::Owner&>(worker).onAccepted(sv[0]);
  send(
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n"
      "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = receive();
  EXPECT_EQ(out.substr(0, 24), "HTTP/1.1 400 Bad Request");
  EXPECT_NE(out.find("HTTP/1.1 426 Upgrade Required"), std::string::npos) << out;
  EXPECT_NE(out.find("Sec-WebSocket-Version: 13"), std::string::npos);
  EXPECT_FALSE(closedSeen);
  EXPECT_EQ(worker.stats().wsOpened.load(), 0u);
}

class SessionIdleTest : public SessionTest {
 protected:
  static ServerOptions idleOptions() {
    ServerOptions o = wsOptions();
    o.ws.idleTimeout = kIdle;
    return o;
  }
  SessionIdleTest() : SessionTest(idleOptions()) {}
};

TEST_F(SessionIdleTest, ClosesAfterTheIdleTimeoutThoughPongsKeepComing) {
  open();
  for (Millis t = kPing; t < kIdle; t += kPing) {
    runAt(t);
    std::vector<Frame> f = frames();
    ASSERT_EQ(f.size(), 1u) << "ping at " << t;
    send(frame(Opcode::kPong, f[0].payload));
  }
  runAt(kIdle - 1);
  EXPECT_TRUE(frames().empty());
  runAt(kIdle);
  std::vector<Frame> f = frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code(), kGoingAway);
  send(closeFrame(kGoingAway));
  EXPECT_EQ(closes(CloseReason::kWsIdleTimeout), 1u);
}

}  // namespace
}  // namespace tether::http::ws
