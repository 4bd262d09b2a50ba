// The probes of `tether inspect` in virtual time: a Probe on a loop with a ManualClock
// against a scripted server on a loopback socket. Close timings are measured on the loop's
// clock, so a server that closes N virtual ms after its response measures N.
#include "tools/inspect/inspect_probe.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tools/scripted_peer.h"

namespace tether::tools::inspect {
namespace {

using testing::ScriptedPeer;

constexpr Millis kStart = 5'000'000;
constexpr Millis kRequestTimeout = 5'000;
const std::string kGet = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=5\r\n\r\nok";
const std::string kLast = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

class InspectProbeTest : public ::testing::Test {
 protected:
  ~InspectProbeTest() override { probe.reset(); }

  static ProbeScript single(std::string request, Millis waitForClose) {
    ProbeScript s;
    s.first = std::move(request);
    s.headFlags = {false};
    s.waitForClose = waitForClose;
    s.requestTimeout = kRequestTimeout;
    return s;
  }
  // The max-requests probe: the same GET again after each response, at most `cap`.
  static ProbeScript maxRequests(std::uint64_t cap) {
    ProbeScript s = single(kGet, kRequestTimeout);
    s.again = kGet;
    s.cap = cap;
    return s;
  }
  void start(ProbeScript script) {
    probe =
        std::make_unique<Probe>(loop, server.address(), std::move(script), [this] { ++doneCalls; });
    probe->start();
    ASSERT_TRUE(server.accept(loop));
  }
  void runAt(Millis at) {
    clock.set(kStart + at);
    loop.runOnce(0);
  }
  bool runUntilDone() {
    return testing::runUntil(loop, [this] { return doneCalls > 0; }) && doneCalls == 1;
  }
  bool runUntilResponses(std::uint64_t n) {
    return testing::runUntil(loop, [&] { return outcome().responseCount >= n; }) &&
           outcome().responseCount == n;
  }
  const ProbeOutcome& outcome() const { return probe->outcome(); }

  core::ManualClock clock{kStart};
  net::EventLoop loop{clock};
  ScriptedPeer server;
  std::unique_ptr<Probe> probe;
  int doneCalls = 0;
};

// The idle probe: the server closes N virtual ms after its response.
TEST_F(InspectProbeTest, IdleCloseIsTimedFromTheLastResponseOnTheLoopClock) {
  start(single(kGet, 120'000));
  EXPECT_EQ(server.readUntil(loop, "\r\n\r\n"), kGet);
  clock.set(kStart + 100);
  server.write(kOk);
  ASSERT_TRUE(runUntilResponses(1));
  runAt(100 + 4'999);
  EXPECT_EQ(doneCalls, 0);
  clock.set(kStart + 100 + 5'000);
  server.close();
  ASSERT_TRUE(runUntilDone());
  EXPECT_EQ(outcome().error, "");
  EXPECT_EQ(outcome().close, CloseStyle::kFin);
  EXPECT_NEAR(outcome().closeAfterMs, 5'000, 1.0);  // within the loop's 1 ms tick
  ASSERT_EQ(outcome().responses.size(), 1u);
  EXPECT_EQ(outcome().responses[0].keepAliveTimeout, 5);
  EXPECT_TRUE(outcome().responses[0].reusable);
}

TEST_F(InspectProbeTest, AResetIsToldApartFromAFin) {
  start(single(kGet, 120'000));
  server.readUntil(loop, "\r\n\r\n");
  server.write(kOk);
  ASSERT_TRUE(runUntilResponses(1));
  clock.set(kStart + 750);
  server.reset();
  ASSERT_TRUE(runUntilDone());
  EXPECT_EQ(outcome().close, CloseStyle::kRst);
  EXPECT_NEAR(outcome().closeAfterMs, 750, 1.0);
  EXPECT_EQ(outcome().error, "");
}

TEST_F(InspectProbeTest, NoCloseWithinTheWaitLeavesTheConnectionOpen) {
  start(single(kGet, 500));
  server.readUntil(loop, "\r\n\r\n");
  server.write(kOk);
  ASSERT_TRUE(runUntilResponses(1));
  runAt(499);
  EXPECT_EQ(doneCalls, 0);
  runAt(500);
  EXPECT_EQ(doneCalls, 1);
  EXPECT_EQ(outcome().close, CloseStyle::kOpen);
  EXPECT_EQ(outcome().waitedMs, 500);
  EXPECT_EQ(outcome().closeAfterMs, -1);
  EXPECT_EQ(outcome().error, "");
}

TEST_F(InspectProbeTest, RequestTimeoutInVirtualTime) {
  start(single(kGet, 500));
  server.readUntil(loop, "\r\n\r\n");
  runAt(kRequestTimeout - 1);
  EXPECT_EQ(doneCalls, 0);
  runAt(kRequestTimeout);
  EXPECT_EQ(doneCalls, 1);
  EXPECT_EQ(outcome().error, "request timed out");
}

TEST_F(InspectProbeTest, MaxRequestsCountsResponsesUntilTheServerCloses) {
  start(maxRequests(100));
  for (int i = 1; i <= 4; ++i) {
    EXPECT_EQ(server.readUntil(loop, "\r\n\r\n"), kGet) << "request " << i;
    server.write(i < 4 ? kOk : kLast);
    ASSERT_TRUE(runUntilResponses(std::uint64_t(i)));
  }
  server.close();
  ASSERT_TRUE(runUntilDone());
  EXPECT_EQ(outcome().responseCount, 4u);
  ASSERT_EQ(outcome().responses.size(), 2u) << "the first and the last";
  EXPECT_FALSE(outcome().responses[0].connectionClose);
  EXPECT_TRUE(outcome().responses[1].connectionClose);
  EXPECT_EQ(outcome().close, CloseStyle::kFin);
  EXPECT_EQ(outcome().error, "");
}

TEST_F(InspectProbeTest, MaxRequestsStopsAtItsCapWithTheConnectionOpen) {
  start(maxRequests(3));
  for (int i = 1; i <= 3; ++i) {
    server.readUntil(loop, "\r\n\r\n");
    server.write(kOk);
    ASSERT_TRUE(runUntilResponses(std::uint64_t(i)));
  }
  EXPECT_EQ(doneCalls, 1);
  EXPECT_EQ(outcome().close, CloseStyle::kOpen);
  EXPECT_EQ(outcome().error, "");
  EXPECT_EQ(server.readNow(), "") << "no request beyond the cap";
}

TEST_F(InspectProbeTest, PipelinedRequestsAreAnsweredInOrderWithAHeadWithoutBody) {
  const std::string missing = "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n";
  const std::string head = "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n";
  ProbeScript s = single(kGet + missing + head, 500);
  s.headFlags = {false, false, true};
  start(s);
  EXPECT_EQ(server.readUntil(loop, "\r\n\r\n", 3), kGet + missing + head) << "one write";
  server.write(kOk + "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n" +
               "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
  ASSERT_TRUE(runUntilResponses(3));
  clock.set(kStart + 3);
  server.close();
  ASSERT_TRUE(runUntilDone());
  ASSERT_EQ(outcome().responses.size(), 3u);
  EXPECT_EQ(outcome().responses[0].status, 200);
  EXPECT_EQ(outcome().responses[1].status, 404);
  EXPECT_EQ(outcome().responses[2].status, 200);
  EXPECT_EQ(outcome().responses[2].bodyBytes, 0u);
  EXPECT_EQ(outcome().unexpectedBytes, 0u);
  EXPECT_EQ(outcome().close, CloseStyle::kFin);
  EXPECT_NEAR(outcome().closeAfterMs, 3, 1.0);
}

// The lingering probe: the server answers the first request with `Connection: close` and
// closes with the second one unread, so its kernel resets; the response must survive.
TEST_F(InspectProbeTest, LingeringProbeSeesTheWholeResponseThenTheReset) {
  const std::string close = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  const std::string post =
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 65536\r\n\r\n" + std::string(65536, 'x');
  start(single(close + post, kRequestTimeout));
  std::string got = server.readSome(loop, close.size());
  EXPECT_EQ(got, close);
  server.write(kLast);
  server.close();  // unread data: the kernel sends RST
  ASSERT_TRUE(runUntilDone());
  ASSERT_EQ(outcome().responses.size(), 1u);
  EXPECT_EQ(outcome().responses[0].status, 200);
  EXPECT_TRUE(outcome().responses[0].connectionClose);
  EXPECT_EQ(outcome().close, CloseStyle::kRst);
  EXPECT_EQ(outcome().error, "");
}

TEST_F(InspectProbeTest, ACloseMidResponseOrBeforeAnyIsReported) {
  start(single(kGet, 500));
  server.readUntil(loop, "\r\n\r\n");
  server.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  server.close();
  ASSERT_TRUE(runUntilDone());
  EXPECT_TRUE(outcome().closedMidResponse);
  EXPECT_FALSE(outcome().closedWithRequestPending);
  EXPECT_EQ(outcome().responseCount, 0u);

  doneCalls = 0;
  start(single(kGet, 500));
  server.readUntil(loop, "\r\n\r\n");
  server.close();
  ASSERT_TRUE(runUntilDone());
  EXPECT_TRUE(outcome().closedWithRequestPending);
  EXPECT_FALSE(outcome().closedMidResponse);
  EXPECT_EQ(outcome().close, CloseStyle::kFin);
}

}  // namespace
}  // namespace tether::tools::inspect
