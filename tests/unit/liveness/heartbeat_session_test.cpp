// HeartbeatSession end to end over a socket pair, both sides on one loop in
// virtual time: hello, ping/pong with RTT, a hung peer found at the timeout to
// the millisecond, goodbyes, ping floods, protocol errors and a vanished peer.
#include "tether/liveness/heartbeat_session.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <vector>

#include "session_recorder.h"

namespace tether::liveness {
namespace {

using Recorder = testing::SessionRecorder;

class HeartbeatSessionTest : public ::testing::Test {
 protected:
  static HeartbeatSessionOptions options(Millis interval, Millis timeout) {
    HeartbeatSessionOptions o;
    o.heartbeat.interval = interval;
    o.heartbeat.timeout = timeout;
    o.heartbeat.minPingInterval = 0;
    return o;
  }
  // Opens `a` (and `b` unless it plays a raw peer) on the two ends of a pair.
  void open(const HeartbeatSessionOptions& oa, const HeartbeatSessionOptions* ob) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    a = std::make_unique<HeartbeatSession>(loop, sv[0], oa, ra, 1);
    a->start();
    if (ob != nullptr) {
      b = std::make_unique<HeartbeatSession>(loop, sv[1], *ob, rb, 2);
      b->start();
    } else {
      raw = sv[1];
    }
    loop.runOnce(0);
  }
  void at(Millis t) {
    clock.set(t);
    for (int i = 0; i < 4; ++i) loop.runOnce(0);  // bytes cross the pair within an iteration
  }
  ~HeartbeatSessionTest() override {
    a.reset();
    b.reset();
    if (raw >= 0) ::close(raw);
  }

  core::ManualClock clock{0};
  net::EventLoop loop{clock};
  Recorder ra, rb;
  std::unique_ptr<HeartbeatSession> a, b;
  int raw = -1;
};

TEST_F(HeartbeatSessionTest, SilenceBringsAPingAndThePongMeasuresTheRtt) {
  auto o = options(1'000, 2'000);
  open(o, &o);
  at(999);
  EXPECT_EQ(ra.pingsSent, 0);
  at(1'000);
  EXPECT_EQ(ra.pingsSent, 1) << "the first ping after `interval` of read silence";
  ASSERT_EQ(ra.rtts.size(), 1u) << "the peer answered within the same virtual instant";
  EXPECT_DOUBLE_EQ(ra.rtts[0], 0.0);
  EXPECT_FALSE(ra.closed || rb.closed);
  EXPECT_EQ(a->engine().pingsSent(), 1u);
}

TEST_F(HeartbeatSessionTest, HungPeerIsDeadExactlyAtTheTimeoutAfterThePing) {
  auto o = options(1'000, 2'000);
  open(o, nullptr);  // the raw end never answers: a hung process whose kernel still ACKs
  at(1'000);
  ASSERT_EQ(ra.pingsSent, 1);
  at(2'999);
  EXPECT_FALSE(ra.closed);
  at(3'000);
  ASSERT_TRUE(ra.closed);
  EXPECT_EQ(ra.closed->reason, SessionCloseReason::kHeartbeatTimeout);
  EXPECT_EQ(ra.closed->sinceLastRead, 3'000);
  EXPECT_TRUE(a->closed());
}

TEST_F(HeartbeatSessionTest, GoodbyeClosesBothSidesWithTheirReasons) {
  auto o = options(1'000, 2'000);
  open(o, &o);
  a->closeWithGoodbye(wire::GoodbyeReason::kShuttingDown, SessionCloseReason::kLocal, "bye");
  at(1);
  ASSERT_TRUE(ra.closed && rb.closed);
  EXPECT_EQ(ra.closed->reason, SessionCloseReason::kLocal);
  EXPECT_EQ(rb.closed->reason, SessionCloseReason::kPeerClosed);
  EXPECT_NE(rb.closed->detail.find("bye"), std::string::npos) << rb.closed->detail;
}

TEST_F(HeartbeatSessionTest, APeerPingingTooOftenIsClosedAsTooManyPings) {
  auto flood = options(10, 100'000);
  auto strict = options(0, 100'000);  // never pings itself
  strict.heartbeat.minPingInterval = 1'000;
  strict.heartbeat.maxPingStrikes = 2;
  open(flood, &strict);
  for (Millis t = 10; t <= 100 && !rb.closed; t += 10) at(t);
  ASSERT_TRUE(rb.closed);
  EXPECT_EQ(rb.closed->reason, SessionCloseReason::kTooManyPings);
  ASSERT_TRUE(ra.closed) << "the flooder hears why";
  EXPECT_EQ(ra.closed->reason, SessionCloseReason::kTooManyPings);
}

TEST_F(HeartbeatSessionTest, AMuteSessionSeesThePeersPingsAndAnswersNone) {
  auto o = options(0, 2'000);
  o.answerPings = false;
  open(o, nullptr);
  EXPECT_FALSE(ra.opened);
  std::string bytes;
  wire::appendHello(bytes);
  ASSERT_EQ(::write(raw, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  at(1);
  EXPECT_TRUE(ra.opened) << "the peer's hello";
  char drain[64];
  while (::read(raw, drain, sizeof drain) > 0) {
  }
  bytes.clear();
  for (int i = 0; i < 5; ++i) wire::appendPing(bytes, 7);  // no strikes either
  ASSERT_EQ(::write(raw, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  at(2);
  EXPECT_EQ(ra.peerPings, 5);
  EXPECT_EQ(::read(raw, drain, sizeof drain), -1) << "no pong went out";
  EXPECT_FALSE(ra.closed);
}

TEST_F(HeartbeatSessionTest, GarbageIsAProtocolError) {
  auto o = options(1'000, 2'000);
  open(o, nullptr);
  ASSERT_EQ(::write(raw, "GET / HTTP/1.1\r\n\r\n", 18), 18);
  at(1);
  ASSERT_TRUE(ra.closed);
  EXPECT_EQ(ra.closed->reason, SessionCloseReason::kError);
}

TEST_F(HeartbeatSessionTest, EndOfStreamIsPeerClosed) {
  auto o = options(1'000, 2'000);
  open(o, nullptr);
  ::shutdown(raw, SHUT_WR);
  at(1);
  ASSERT_TRUE(ra.closed);
  EXPECT_EQ(ra.closed->reason, SessionCloseReason::kPeerClosed);
}

TEST_F(HeartbeatSessionTest, APeerVanishingWithOurBytesUnreadIsAReset) {
  auto o = options(1'000, 2'000);
  open(o, nullptr);
  ::close(raw);  // our hello still unread there: the kernel reports a reset
  raw = -1;
  at(1);
  ASSERT_TRUE(ra.closed);
  EXPECT_EQ(ra.closed->reason, SessionCloseReason::kPeerReset);
}

TEST_F(HeartbeatSessionTest, DataStreamsAtTheConfiguredRate) {
  auto sender = options(0, 10'000);
  sender.sendRate = 100'000;  // bytes per second
  auto receiver = options(0, 10'000);
  open(sender, &receiver);
  at(1'000);
  EXPECT_GT(a->dataBytesSent(), 80'000u);
  EXPECT_LE(a->dataBytesSent(), 100'000u + 10'000u + wire::kMaxPayload) << "bucket bound";
  EXPECT_EQ(b->dataBytesReceived(), a->dataBytesSent()) << "everything queued arrived";
}

}  // namespace
}  // namespace tether::liveness
