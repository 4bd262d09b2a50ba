// BenchConnection (through its BenchWorker, one connection) in virtual time: the worker's
// loop runs on a ManualClock, the test plays the server on a loopback socket. Latencies,
// timeouts and pacing are checked to the nanosecond or the millisecond of virtual time.
#include "tools/bench/bench_connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <memory>
#include <string>

#include "tools/bench/bench_worker.h"
#include "tools/scripted_peer.h"

namespace tether::tools::bench {
namespace {

using testing::ScriptedPeer;

constexpr Millis kStart = 1'000'000;
constexpr Millis kTimeout = 2'000;
constexpr std::uint64_t kMs = 1'000'000;  // ns
const std::string kRequest = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const std::string kClose = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

class BenchConnectionTest : public ::testing::Test {
 protected:
  ~BenchConnectionTest() override { worker.reset(); }

  // One connection with a budget of `requests` (-n), closed loop unless `rate` > 0.
  void begin(std::uint64_t requests, double rate = 0, bool keepTarget = false) {
    if (!keepTarget) config.target = server.address();
    config.request = kRequest;
    config.connections = 1;
    config.requests = requests;
    config.timeout = kTimeout;
    config.rate = rate;
    WorkerPlan plan;
    plan.config = &config;
    plan.connections = 1;
    plan.requests = requests;
    plan.rate = rate;
    plan.startNs = std::uint64_t(clock.nanos());
    worker = std::make_unique<BenchWorker>(plan, clock);
    worker->begin();
  }
  net::EventLoop& loop() { return worker->loop(); }
  const ThreadStats& stats() const { return worker->stats(); }
  // Moves virtual time to `at` ms after the start and runs one iteration.
  void runAt(Millis at) {
    clock.set(kStart + at);
    loop().runOnce(0);
  }
  bool runUntil(const std::function<bool()>& done) { return testing::runUntil(loop(), done); }
  bool responses(std::uint64_t n) {
    return runUntil([&] { return stats().requests >= n; }) && stats().requests == n;
  }
  // Accepts the connection and checks it sent one request.
  void acceptAndRead() {
    ASSERT_TRUE(server.accept(loop()));
    EXPECT_EQ(server.readUntil(loop(), "\r\n\r\n"), kRequest);
  }

  core::ManualClock clock{kStart};
  ScriptedPeer server;
  BenchConfig config;
  std::unique_ptr<BenchWorker> worker;
};

TEST_F(BenchConnectionTest, KeepAliveReusesOneConnectionAndLatencyIsOnTheLoopClock) {
  begin(3);
  ASSERT_TRUE(server.accept(loop()));
  for (std::uint64_t i = 1; i <= 3; ++i) {
    EXPECT_EQ(server.readUntil(loop(), "\r\n\r\n"), kRequest) << "request " << i;
    clock.advance(7);  // the server takes 7 virtual ms
    server.write(kOk);
    ASSERT_TRUE(responses(i));
  }
  EXPECT_TRUE(worker->finished());
  EXPECT_EQ(stats().connectionsOpened, 1u);
  EXPECT_EQ(stats().connectionsUsed, 1u);
  EXPECT_EQ(stats().reusedRequests, 2u);
  EXPECT_EQ(stats().statusClasses[2], 3u);
  EXPECT_EQ(stats().errors.total(), 0u);
  EXPECT_EQ(stats().bytesWritten, 3 * kRequest.size());
  EXPECT_EQ(stats().bytesRead, 3 * kOk.size());
  EXPECT_EQ(stats().latency.count(), 3u);
  EXPECT_EQ(stats().latency.min(), 7 * kMs);
  EXPECT_EQ(stats().latency.max(), 7 * kMs);
  EXPECT_FALSE(server.pendingConnection(loop())) << "no second connection";
}

TEST_F(BenchConnectionTest, ConnectionCloseWaitsForTheServersFinThenReconnects) {
  begin(2);
  acceptAndRead();
  server.write(kClose);
  ASSERT_TRUE(responses(1));
  EXPECT_FALSE(server.pendingConnection(loop())) << "bench waits for the server to close first";
  EXPECT_EQ(server.readNow(), "") << "nothing more on a connection the server closes";
  server.close();
  acceptAndRead();  // the reconnect
  server.write(kOk);
  ASSERT_TRUE(responses(2));
  EXPECT_EQ(stats().connectionsOpened, 2u);
  EXPECT_EQ(stats().connectionsUsed, 2u);
  EXPECT_EQ(stats().reusedRequests, 0u);
  EXPECT_EQ(stats().errors.total(), 0u);
  EXPECT_TRUE(worker->finished());
}

TEST_F(BenchConnectionTest, AServerThatNeverClosesIsLeftAtTheTimeoutWithoutAnError) {
  begin(2);
  acceptAndRead();
  server.write(kClose);
  ASSERT_TRUE(responses(1));
  runAt(kTimeout - 1);
  EXPECT_FALSE(server.pendingConnection(loop()));
  runAt(kTimeout);
  EXPECT_TRUE(server.pendingConnection(loop())) << "closed and reconnected at the drain timeout";
  EXPECT_EQ(stats().errors.total(), 0u);
  acceptAndRead();
  server.write(kOk);
  ASSERT_TRUE(responses(2));
}

TEST_F(BenchConnectionTest, EofMidResponseIsAReadError) {
  begin(1);
  acceptAndRead();
  server.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  server.close();
  ASSERT_TRUE(runUntil([&] { return stats().errors.total() > 0; }));
  EXPECT_EQ(stats().errors.read, 1u);
  EXPECT_EQ(stats().errors.total(), 1u);
  EXPECT_EQ(stats().requests, 0u);
  EXPECT_TRUE(worker->finished()) << "-n 1: the failed request used the budget";
}

TEST_F(BenchConnectionTest, ResetMidResponseIsAReset) {
  begin(1);
  acceptAndRead();
  server.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  server.reset();
  ASSERT_TRUE(runUntil([&] { return stats().errors.total() > 0; }));
  EXPECT_EQ(stats().errors.reset, 1u);
  EXPECT_EQ(stats().errors.total(), 1u);
}

TEST_F(BenchConnectionTest, CloseDelimitedBodyEndsAtTheFin) {
  begin(1);
  acceptAndRead();
  server.write("HTTP/1.1 200 OK\r\n\r\nuntil the end");
  server.close();
  ASSERT_TRUE(responses(1));
  EXPECT_EQ(stats().errors.total(), 0u);
}

TEST_F(BenchConnectionTest, TimeoutCountsFromTheIssueToTheMillisecond) {
  begin(1);
  acceptAndRead();
  runAt(kTimeout - 1);
  EXPECT_EQ(stats().errors.timeout, 0u);
  EXPECT_FALSE(worker->finished());
  runAt(kTimeout);
  EXPECT_EQ(stats().errors.timeout, 1u);
  EXPECT_EQ(stats().errors.total(), 1u);
  EXPECT_TRUE(worker->finished());
}

TEST_F(BenchConnectionTest, PipelinedBatchIsOneWriteAndACloseMidBatchSendsTheRestAgain) {
  config.pipeline = 3;
  begin(3);
  ASSERT_TRUE(server.accept(loop()));
  EXPECT_EQ(server.readUntil(loop(), "\r\n\r\n", 3), kRequest + kRequest + kRequest);
  // The second response closes: the third request must not have been processed
  // (RFC 9112 §9.6), so it goes back to the budget, not to the errors.
  server.write(kOk + kClose);
  ASSERT_TRUE(responses(2));
  EXPECT_EQ(stats().reusedRequests, 1u);
  server.close();
  acceptAndRead();  // only the one request left
  server.write(kOk);
  ASSERT_TRUE(responses(3));
  EXPECT_EQ(stats().errors.total(), 0u);
  EXPECT_EQ(stats().connectionsOpened, 2u);
  EXPECT_TRUE(worker->finished());
}

TEST_F(BenchConnectionTest, ARefusedConnectIsAnErrorThenBacksOffTenVirtualMs) {
  // A port bound but not listening refuses at once.
  testing::Fd bound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  net::SocketAddress any = *net::parseSocketAddress("127.0.0.1:0");
  ASSERT_EQ(::bind(bound.fd, any.raw(), any.length), 0);
  config.target = net::localAddress(bound.fd);
  begin(1, 0, /*keepTarget=*/true);
  ASSERT_TRUE(runUntil([&] { return stats().errors.connect > 0; }));
  EXPECT_EQ(stats().errors.connect, 1u);
  EXPECT_EQ(stats().errors.total(), 1u);
  runAt(9);
  EXPECT_FALSE(worker->finished()) << "still backing off";
  runAt(10);
  EXPECT_TRUE(worker->finished()) << "-n 1 spent: no new attempt after the backoff";
}

TEST_F(BenchConnectionTest, RatePacesOnTheLoopClockAndCountsFromTheIntendedTime) {
  begin(3, 100.0);  // intended starts: 0, 10, 20 ms
  acceptAndRead();
  clock.set(kStart + 1);
  server.write(kOk);
  ASSERT_TRUE(responses(1));  // 1 ms
  runAt(9);
  EXPECT_EQ(server.readNow(), "") << "the second request is not due before 10 ms";
  runAt(10);
  EXPECT_EQ(server.readUntil(loop(), "\r\n\r\n"), kRequest);
  // The server stalls until 35 ms: the third request (due at 20) waits for the
  // connection, and its latency still counts from 20 ms (no coordinated omission).
  clock.set(kStart + 35);
  server.write(kOk);
  ASSERT_TRUE(responses(2));  // 25 ms
  EXPECT_EQ(server.readUntil(loop(), "\r\n\r\n"), kRequest) << "late: sent at once";
  clock.set(kStart + 36);
  server.write(kOk);
  ASSERT_TRUE(responses(3));  // 16 ms
  EXPECT_EQ(stats().latency.min(), 1 * kMs);
  EXPECT_EQ(stats().latency.max(), 25 * kMs);
  EXPECT_DOUBLE_EQ(stats().latency.mean(), double(1 + 25 + 16) * double(kMs) / 3);
  EXPECT_TRUE(worker->finished());
}

// The worker's loop reads its clock when it is made, on the driving thread; the run
// still ends `duration` after the common start when the worker's thread begins late
// (thread start-up is slow under ThreadSanitizer).
TEST_F(BenchConnectionTest, DurationEndsOnTimeWhenTheThreadBeginsLate) {
  config.target = server.address();
  config.request = kRequest;
  config.connections = 1;
  config.requests = 0;
  config.duration = 300;
  config.timeout = kTimeout;
  WorkerPlan plan;
  plan.config = &config;
  plan.startNs = std::uint64_t(clock.nanos());
  worker = std::make_unique<BenchWorker>(plan, clock);
  clock.advance(70);
  worker->begin();
  runAt(299);
  EXPECT_FALSE(worker->finished());
  runAt(300);
  EXPECT_TRUE(worker->finished());
}

}  // namespace
}  // namespace tether::tools::bench
