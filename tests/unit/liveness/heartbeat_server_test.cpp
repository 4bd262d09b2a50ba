// HeartbeatServer with library clients (HeartbeatClient) on one loop over
// loopback TCP, in virtual time: it accepts and answers, pings its clients,
// closes a client that pings too often, says goodbye to everyone on shutdown
// and stops accepting. Closed sessions are destroyed after the loop iteration,
// never inside their own callbacks (ASan checks every close path here).
#include "tether/liveness/heartbeat_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <vector>

#include "heartbeat_net_fixture.h"
#include "net/net_test_util.h"
#include "tether/liveness/heartbeat_client.h"

namespace tether::liveness {
namespace {

struct ClientLog final : HeartbeatClientObserver {
  void onConnected(const ClientConnected& c) override { peer = std::string(c.peer); }
  void onPong(const ClientPong&) override { ++pongs; }
  void onClosed(const SessionClose& info) override { closed = info; }
  void onFinished(const ClientFinished& how) override { finished = how; }

  std::string peer;
  int pongs = 0;
  std::optional<SessionClose> closed;
  std::optional<ClientFinished> finished;
};

class HeartbeatServerTest : public testing::HeartbeatNetTest {
 protected:
  static HeartbeatSessionOptions session(Millis interval, Millis timeout) {
    HeartbeatSessionOptions o;
    o.heartbeat.interval = interval;
    o.heartbeat.timeout = timeout;
    return o;
  }

  // A client with its own log; both live until the test ends.
  ClientLog& connect(const HeartbeatSessionOptions& options) {
    logs.push_back(std::make_unique<ClientLog>());
    HeartbeatClientOptions o;
    o.address = serverAddress;
    o.session = options;
    clients.push_back(std::make_unique<HeartbeatClient>(loop, o, *logs.back()));
    clients.back()->start();
    return *logs.back();
  }

  std::vector<std::unique_ptr<ClientLog>> logs;
  std::vector<std::unique_ptr<HeartbeatClient>> clients;
};

TEST_F(HeartbeatServerTest, AcceptsAndAnswersPings) {
  startServer(quietServer());
  ClientLog& c = connect(session(1'000, 2'000));
  time.runTo(3'500);
  ASSERT_EQ(serverLog.connected.size(), 1u);
  EXPECT_EQ(serverLog.connected[0].rfind("127.0.0.1:", 0), 0u) << serverLog.connected[0];
  EXPECT_EQ(c.peer, serverAddress.toString());
  EXPECT_EQ(c.pongs, 3) << "pings at 1, 2 and 3 s, each answered at once";
  EXPECT_EQ(serverLog.pingsSent, 0) << "interval off: the server never pings";
  EXPECT_EQ(server->openSessions(), 1u);
  EXPECT_EQ(server->accepted(), 1u);
  EXPECT_FALSE(c.closed);
}

TEST_F(HeartbeatServerTest, PingsItsClientsAndMeasuresTheRtt) {
  startServer(session(1'000, 2'000));
  connect(session(0, 2'000));  // a client that never pings
  time.runTo(2'500);
  EXPECT_EQ(serverLog.pingsSent, 2);
  EXPECT_EQ(serverLog.pongs, (std::vector<double>{0.0, 0.0})) << "answered in the same instant";
}

TEST_F(HeartbeatServerTest, ClosesAClientThatPingsTooOften) {
  HeartbeatSessionOptions strict = quietServer();
  strict.heartbeat.minPingInterval = 1'000;
  strict.heartbeat.maxPingStrikes = 2;
  startServer(strict);
  ClientLog& flood = connect(session(10, 2'000));
  ClientLog& calm = connect(session(1'000, 2'000));
  time.runTo(100);
  ASSERT_EQ(serverLog.closed.size(), 1u);
  EXPECT_EQ(serverLog.closed[0].info.reason, SessionCloseReason::kTooManyPings);
  EXPECT_EQ(serverLog.closed[0].at, 40)
      << "pings at 10 (accepted), 20, 30 (strikes), 40 (one too many)";
  ASSERT_TRUE(flood.finished);
  EXPECT_EQ(flood.finished->end, ClientEnd::kClosed);
  EXPECT_EQ(flood.finished->reason, SessionCloseReason::kTooManyPings) << "the flooder hears why";
  EXPECT_FALSE(calm.closed) << "the other client stays";
  EXPECT_EQ(server->openSessions(), 1u);
}

TEST_F(HeartbeatServerTest, ShutdownSaysGoodbyeToEveryClientAndStopsAccepting) {
  startServer(quietServer());
  ClientLog& a = connect(session(1'000, 2'000));
  ClientLog& b = connect(session(1'000, 2'000));
  time.runTo(500);
  ASSERT_EQ(server->openSessions(), 2u);
  server->shutdown();
  ASSERT_EQ(serverLog.closed.size(), 2u) << "every close is reported before shutdown() returns";
  for (const auto& c : serverLog.closed) {
    EXPECT_EQ(c.info.reason, SessionCloseReason::kLocal);
    EXPECT_EQ(c.info.detail, "server shutting down");
  }
  time.runTo(501);
  EXPECT_EQ(server->openSessions(), 0u);
  for (ClientLog* c : {&a, &b}) {
    ASSERT_TRUE(c->closed);
    EXPECT_EQ(c->closed->reason, SessionCloseReason::kPeerClosed);
    EXPECT_EQ(c->closed->detail, "peer said goodbye: shutting_down (server shutting down)");
  }
  ClientLog& late = connect(session(1'000, 2'000));
  time.runTo(600);
  ASSERT_TRUE(late.finished);
  EXPECT_EQ(late.finished->end, ClientEnd::kConnectError) << "the listener is closed";
  EXPECT_EQ(late.finished->connectErrno, ECONNREFUSED);
  server->shutdown();  // idempotent
  EXPECT_EQ(serverLog.closed.size(), 2u);
}

// Each close here happens inside the session's own callback (a read, a timer);
// the server must keep the session alive until the iteration ends. Under ASan,
// destroying it earlier is a heap-use-after-free.
TEST_F(HeartbeatServerTest, ClosedSessionsDieAfterTheIterationNotInTheirCallback) {
  HeartbeatSessionOptions o = quietServer();
  o.heartbeat.interval = 1'000;
  o.heartbeat.timeout = 500;
  startServer(o);
  connect(session(0, 10'000));  // answers the server's pings
  connect(session(0, 10'000));  // will say goodbye: closed on a read
  // A raw peer that never answers (a hung process): closed on the heartbeat timer.
  net::testing::Fd hung(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(hung.fd, serverAddress.raw(), serverAddress.length), 0);
  time.runTo(100);
  ASSERT_EQ(server->openSessions(), 3u);
  clients[1]->stop();
  time.runTo(200);
  ASSERT_EQ(serverLog.closed.size(), 1u);
  EXPECT_EQ(serverLog.closed[0].info.reason, SessionCloseReason::kPeerClosed);
  EXPECT_EQ(server->openSessions(), 2u);
  time.runTo(2'000);
  ASSERT_EQ(serverLog.closed.size(), 2u);
  EXPECT_EQ(serverLog.closed[1].info.reason, SessionCloseReason::kHeartbeatTimeout);
  EXPECT_EQ(serverLog.closed[1].at, 1'500) << "accepted at 0: ping at 1 s, dead 0.5 s later";
  EXPECT_EQ(server->openSessions(), 1u);
  server.reset();  // the last session is destroyed with the server, silently
  EXPECT_EQ(serverLog.closed.size(), 2u);
}

}  // namespace
}  // namespace tether::liveness
