// HeartbeatClient over loopback TCP on one loop in virtual time: a connect
// error carries its errno, and each way a connection ends finishes the client
// with its reason: the peer's goodbye, a silent peer (heartbeat timeout to the
// millisecond), a reset, the duration, stop() before and after connecting.
#include "tether/liveness/heartbeat_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <vector>

#include "heartbeat_net_fixture.h"
#include "net/net_test_util.h"

namespace tether::liveness {
namespace {

using net::testing::Fd;

struct ClientLog final : HeartbeatClientObserver {
  explicit ClientLog(net::EventLoop& l) : loop(l) {}
  void onConnected(const ClientConnected& c) override {
    connected = true;
    interval = c.interval;
  }
  void onPingSent(std::uint64_t) override { ++pings; }
  void onPong(const ClientPong& p) override { pongIntervals.push_back(p.interval); }
  void onClosed(const SessionClose& info) override {
    closed = info;
    closedAt = loop.now();
  }
  void onFinished(const ClientFinished& how) override { finished = how; }

  net::EventLoop& loop;
  bool connected = false;
  Millis interval = -1;
  int pings = 0;
  std::vector<Millis> pongIntervals;
  std::optional<SessionClose> closed;
  Millis closedAt = -1;
  std::optional<ClientFinished> finished;
};

class HeartbeatClientTest : public testing::HeartbeatNetTest {
 protected:
  void start(const net::SocketAddress& to, Millis duration = 0) {
    HeartbeatClientOptions o;
    o.address = to;
    o.session.heartbeat.interval = 1'000;
    o.session.heartbeat.timeout = 2'000;
    o.duration = duration;
    client = std::make_unique<HeartbeatClient>(loop, o, log);
    client->start();
  }
  // A listener that accepts nothing: the kernel completes the handshake, and
  // nobody ever reads or answers (a hung server).
  net::SocketAddress hungServer() {
    net::SocketAddress at;
    listener.emplace(net::testing::loopbackListener(&at));
    return at;
  }
  bool finished() const { return log.finished.has_value(); }

  std::optional<Fd> listener;
  ClientLog log{loop};
  std::unique_ptr<HeartbeatClient> client;
};

TEST_F(HeartbeatClientTest, AConnectErrorIsReportedWithItsErrno) {
  net::SocketAddress closed = hungServer();
  listener.reset();  // closed: nobody listens on that port now
  start(closed);
  ASSERT_TRUE(time.runUntil([&] { return finished(); }, 10'000));
  EXPECT_EQ(log.finished->end, ClientEnd::kConnectError);
  EXPECT_EQ(log.finished->connectErrno, ECONNREFUSED);
  EXPECT_FALSE(log.connected);
  EXPECT_EQ(client->session(), nullptr);
}

TEST_F(HeartbeatClientTest, PongsCarryTheInterval) {
  startServer(quietServer());
  start(serverAddress);
  time.runTo(3'000);
  EXPECT_TRUE(log.connected);
  EXPECT_EQ(log.interval, 1'000);
  EXPECT_EQ(log.pongIntervals, (std::vector<Millis>{1'000, 1'000, 1'000}));
  EXPECT_FALSE(log.finished);
}

TEST_F(HeartbeatClientTest, ThePeersGoodbyeIsPeerClosed) {
  startServer(quietServer());
  start(serverAddress);
  time.runTo(500);
  server->shutdown();
  time.runTo(501);
  ASSERT_TRUE(log.finished);
  EXPECT_EQ(log.finished->end, ClientEnd::kClosed);
  EXPECT_EQ(log.finished->reason, SessionCloseReason::kPeerClosed);
  EXPECT_EQ(log.closed->detail, "peer said goodbye: shutting_down (server shutting down)");
}

TEST_F(HeartbeatClientTest, ASilentPeerIsAHeartbeatTimeoutToTheMillisecond) {
  start(hungServer());
  ASSERT_TRUE(time.runUntil([&] { return finished(); }, 10'000));
  EXPECT_EQ(log.finished->reason, SessionCloseReason::kHeartbeatTimeout);
  EXPECT_EQ(log.closedAt, 3'000) << "ping at 1 s, nothing within the 2 s timeout";
  EXPECT_EQ(log.closed->sinceLastRead, 3'000);
  EXPECT_EQ(log.pings, 1);
  ASSERT_NE(client->session(), nullptr) << "kept after the close, for its counters";
  EXPECT_EQ(client->session()->engine().pingsSent(), 1u);
}

TEST_F(HeartbeatClientTest, AResetIsPeerReset) {
  net::SocketAddress at = hungServer();
  start(at);
  time.runTo(10);
  ASSERT_TRUE(log.connected);
  Fd accepted(::accept4(listener->fd, nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_GE(accepted.fd, 0);
  net::setLingerReset(accepted.fd);
  ::close(accepted.release());  // RST
  time.runTo(1'500);            // the next ping meets the reset, if the read did not already
  ASSERT_TRUE(log.finished);
  EXPECT_EQ(log.finished->reason, SessionCloseReason::kPeerReset);
}

TEST_F(HeartbeatClientTest, TheDurationEndsWithAGoodbye) {
  startServer(quietServer());
  start(serverAddress, 2'500);
  ASSERT_TRUE(time.runUntil([&] { return finished(); }, 10'000));
  EXPECT_EQ(log.closedAt, 2'500);
  EXPECT_EQ(log.finished->end, ClientEnd::kClosed);
  EXPECT_EQ(log.finished->reason, SessionCloseReason::kLocal);
  EXPECT_EQ(log.closed->detail, "client done");
  time.runTo(2'501);
  ASSERT_EQ(serverLog.closed.size(), 1u);
  EXPECT_EQ(serverLog.closed[0].info.detail, "peer said goodbye: normal (client done)");
}

TEST_F(HeartbeatClientTest, StopBeforeTheConnectionIsUpAbandonsTheConnect) {
  startServer(quietServer());
  start(serverAddress);  // a non-blocking connect is still in progress here
  client->stop();
  ASSERT_TRUE(log.finished);
  EXPECT_EQ(log.finished->end, ClientEnd::kStopped);
  time.runTo(5'000);
  EXPECT_FALSE(log.connected);
  EXPECT_EQ(client->session(), nullptr);
  client->stop();  // no-op once finished
}

}  // namespace
}  // namespace tether::liveness
