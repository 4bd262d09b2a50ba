// ServerConnection's state machine in virtual time: a Worker on a ManualClock,
// connections handed in over socket pairs, the loop run one iteration at a
// time. Every row of the deadline table (docs/ARCHITECTURE.md) is checked to
// the millisecond: open at deadline - 1, closed (with its reason) at deadline.
#include "http/server_connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <string>
#include <utility>

#include "http/worker.h"
#include "http/worker_test_util.h"
#include "tether/http/server.h"

namespace tether::http {
namespace {

constexpr Millis kHeader = 10'000, kBody = 7'000, kSend = 9'000, kKeepalive = 5'000, kGrace = 1'000,
                 kLingerTime = 30'000, kLingerTimeout = 2'000;

ServerOptions testOptions() {
  ServerOptions o;
  o.workers = 1;
  o.maxConnections = 100;
  o.clientHeaderTimeout = kHeader;
  o.clientBodyTimeout = kBody;
  o.sendTimeout = kSend;
  o.keepaliveTimeout = kKeepalive;
  o.keepaliveGrace = kGrace;
  o.lingeringTime = kLingerTime;
  o.lingeringTimeout = kLingerTimeout;
  o.keepaliveJitterPercent = 0;
  return o;
}

class ServerConnectionTest : public ::testing::Test {
 protected:
  ServerConnectionTest() {
    server.handle("/", [](const Request&, Response& res) { res.setBody("ok"); });
    server.handle("/big",
                  [](const Request&, Response& res) { res.setBody(std::string(4 << 20, 'b')); });
  }
  ~ServerConnectionTest() override {
    if (peer >= 0) ::close(peer);
  }

  // A new connection; the test holds the client end (`peer`).
  void connect() {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    int small = 16 * 1024;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    peer = sv[1];
    static_cast<net::Acceptor::Owner&>(worker).onAccepted(sv[0]);  // as the acceptor does
    worker.loop().runOnce(0);
  }
  void send(std::string_view bytes) {
    ASSERT_EQ(::write(peer, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    worker.loop().runOnce(0);
  }
  // Moves virtual time to `at` (ms since the test's start) and runs one iteration.
  void runAt(Millis at) {
    clock.set(kStart + at);
    worker.loop().runOnce(0);
  }
  Millis now() const { return clock.millis() - kStart; }
  // What the peer can read now, and whether the server closed its end.
  std::string receive() {
    // On io_uring the server's writes reach the socket at the loop's next wait.
    worker.loop().runOnce(0);
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(peer, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    closedSeen = n == 0;
    return out;
  }
  bool closed() {
    receive();
    return closedSeen;
  }
  std::uint64_t closes(CloseReason r) const { return testing::closeCount(worker, r); }
  std::uint64_t allCloses() const { return testing::allCloses(worker); }
  // Open one millisecond before `deadline`, closed for `reason` at it, by the
  // server's own count (a lingering close counts when its drain ends). Reads
  // nothing from the peer: that would let the server write and move a deadline.
  void expectCloseAt(Millis deadline, CloseReason reason) {
    runAt(deadline - 1);
    EXPECT_EQ(allCloses(), 0u) << "closed before " << deadline << " ms";
    runAt(deadline);
    EXPECT_EQ(closes(reason), 1u) << closeReasonName(reason) << " not counted at " << deadline;
    EXPECT_EQ(allCloses(), 1u);
  }

  static constexpr Millis kStart = 1'000'000;
  core::ManualClock clock{kStart};
  Server server{testOptions()};
  SharedCounters shared;
  Worker worker{server, {}, shared, -1, clock};
  int peer = -1;
  bool closedSeen = false;
};

TEST_F(ServerConnectionTest, FreshConnectionThatSendsNothingClosesSilentlyAtHeaderTimeout) {
  connect();
  expectCloseAt(kHeader, CloseReason::kHeaderTimeout);
  EXPECT_EQ(receive(), "") << "no 408 for a connection that never spoke (as nginx)";
  EXPECT_TRUE(closedSeen);
}

TEST_F(ServerConnectionTest, KeepAliveIdleClosesAtTimeoutPlusGraceAfterTheResponse) {
  connect();
  runAt(300);
  send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string response = receive();
  EXPECT_NE(response.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(response.find("Keep-Alive: timeout=5"), std::string::npos) << response;
  expectCloseAt(300 + kKeepalive + kGrace, CloseReason::kIdleTimeout);
  EXPECT_TRUE(closed()) << "a plain FIN: nothing was left to drain";
}

TEST_F(ServerConnectionTest, HeaderTimeoutCountsFromTheFirstByteAndAnswers408) {
  connect();
  runAt(500);
  send("GET / HT");
  runAt(kHeader);  // the fresh connection's deadline passed: the request's counts now
  runAt(500 + kHeader - 1);
  EXPECT_EQ(receive(), "");
  runAt(500 + kHeader);
  std::string response = receive();
  EXPECT_EQ(response.rfind("HTTP/1.1 408", 0), 0u) << response;
  EXPECT_TRUE(closedSeen) << "408, then our FIN";
  // The request was cut short, so the client may still be sending: lingering close.
  EXPECT_EQ(allCloses(), 0u);
  runAt(500 + kHeader + kLingerTimeout);
  EXPECT_EQ(closes(CloseReason::kHeaderTimeout), 1u);
}

TEST_F(ServerConnectionTest, BodyTimeoutCountsFromTheLastRead) {
  connect();
  runAt(100);
  send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  runAt(2'000);
  send("de");
  runAt(2'000 + kBody - 1);
  EXPECT_EQ(receive(), "");
  runAt(2'000 + kBody);
  std::string response = receive();
  EXPECT_EQ(response.rfind("HTTP/1.1 408", 0), 0u) << response;
  EXPECT_TRUE(closedSeen);
  runAt(2'000 + kBody + kLingerTimeout - 1);
  EXPECT_EQ(allCloses(), 0u) << "draining the unread body";
  runAt(2'000 + kBody + kLingerTimeout);
  EXPECT_EQ(closes(CloseReason::kBodyTimeout), 1u);
}

TEST_F(ServerConnectionTest, SendTimeoutCountsFromTheLastWrite) {
  connect();
  runAt(100);
  send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n");  // 4 MiB: the socket fills at once
  runAt(3'000);
  std::string first = receive();  // the peer reads a little: the server writes again
  ASSERT_FALSE(first.empty());
  worker.loop().runOnce(0);
  expectCloseAt(3'000 + kSend, CloseReason::kSendTimeout);
}

TEST_F(ServerConnectionTest, LingeringCloseEndsAtTheLingeringTimeoutWithoutInput) {
  connect();
  runAt(100);
  // Connection: close with bytes after it: the client may still be sending, so
  // the server half-closes and drains instead of closing at once.
  send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHo");
  std::string response = receive();
  EXPECT_NE(response.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(closedSeen) << "the response, then our FIN";
  expectCloseAt(100 + kLingerTimeout, CloseReason::kClientRequested);
}

TEST_F(ServerConnectionTest, LingeringCloseIsBoundedByTheLingeringTime) {
  connect();
  runAt(100);
  send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nX");
  receive();
  // Input keeps coming just inside the lingering timeout: only the total bounds it.
  Millis t = 100;
  while (t + kLingerTimeout - 1 < 100 + kLingerTime) {
    t += kLingerTimeout - 1;
    runAt(t);
    EXPECT_EQ(allCloses(), 0u) << "input came within the lingering timeout, at " << t;
    send("x");
  }
  expectCloseAt(100 + kLingerTime, CloseReason::kClientRequested);
}

TEST_F(ServerConnectionTest, ShutdownGivesIdleConnectionsTheGraceOnly) {
  connect();
  runAt(100);
  send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  receive();
  runAt(1'000);
  worker.requestShutdown();  // queued: the next iteration begins the shutdown
  worker.loop().runOnce(0);
  expectCloseAt(1'000 + kGrace, CloseReason::kShutdown);
}

// The histograms in virtual time: exact gaps, the request count and the
// lifetime of a connection, and how long it waited before its idle close.
TEST_F(ServerConnectionTest, HistogramsRecordIdleGapsRequestsLifetimeAndIdleWait) {
  connect();
  for (Millis at : {100, 1600, 1800}) {  // gaps of 1500 and 200 ms after the responses
    runAt(at);
    send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_NE(receive().find("HTTP/1.1 200"), std::string::npos);
  }
  expectCloseAt(1800 + kKeepalive + kGrace, CloseReason::kIdleTimeout);
  ServerStatsSnapshot s;
  worker.stats().addTo(s);
  // Observations per bucket, keyed by the bucket's upper bound (recorded units;
  // ~0 for the one above the last bound), and the sum.
  using Buckets = std::map<std::uint64_t, std::uint64_t>;
  auto expect = [&](Distribution d, const Buckets& want, std::uint64_t sum) {
    const HistogramSpec& spec = histogramSpec(d);
    const HistogramSnapshot& h = s.histogram(d);
    Buckets got;
    for (std::size_t i = 0; i <= spec.size; ++i) {
      if (h.buckets[i] != 0) got[i < spec.size ? spec.bounds[i] : ~0ull] = h.buckets[i];
    }
    EXPECT_EQ(got, want) << spec.name;
    EXPECT_EQ(h.sum, sum) << spec.name;
  };
  expect(Distribution::kIdleGapSeconds, {{250, 1}, {2000, 1}}, 1700);
  expect(Distribution::kRequestsPerConnection, {{3, 1}}, 3);
  expect(Distribution::kConnectionSeconds, {{10000, 1}}, 7800);
  expect(Distribution::kIdleClosedSeconds, {{10000, 1}}, kKeepalive + kGrace);
  expect(Distribution::kRequestSeconds, {{1, 3}}, 0);
}

}  // namespace
}  // namespace tether::http
