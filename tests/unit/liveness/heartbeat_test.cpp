// The heartbeat engine on a manual clock: a TimerWheel advanced by hand.
#include "tether/liveness/heartbeat.h"

#include <gtest/gtest.h>

#include <vector>

namespace tether::liveness {
namespace {

using core::Millis;
using Verdict = HeartbeatEngine::PingVerdict;

struct FakeHost : HeartbeatHost {
  virtual ~FakeHost() = default;
  void heartbeatSendPing(std::uint64_t opaque) override {
    pings.push_back(opaque);
    pingTimes.push_back(*clock);
  }
  void heartbeatPeerDead() override {
    ++deaths;
    deathTime = *clock;
  }
  const Millis* clock = nullptr;
  std::vector<std::uint64_t> pings;
  std::vector<Millis> pingTimes;
  int deaths = 0;
  Millis deathTime = -1;
};

class HeartbeatTest : public ::testing::Test {
 protected:
  HeartbeatConfig config(Millis interval, Millis timeout) {
    HeartbeatConfig c;
    c.interval = interval;
    c.timeout = timeout;
    return c;
  }
  // Moves the clock to `t` one millisecond at a time, like a loop that wakes often.
  void runTo(Millis t) {
    while (now < t) {
      ++now;
      wheel.advance(now);
    }
  }
  Millis now = 0;
  core::TimerWheel wheel{0};
  FakeHost host;
  void SetUp() override { host.clock = &now; }
};

TEST_F(HeartbeatTest, PingsOnlyAfterIntervalOfSilence) {
  HeartbeatEngine e(wheel, host, config(1000, 500), 1);
  e.start(now);
  runTo(999);
  EXPECT_TRUE(host.pings.empty());
  runTo(1000);
  ASSERT_EQ(host.pings.size(), 1u);
  EXPECT_EQ(host.pingTimes[0], 1000);
  EXPECT_TRUE(e.awaitingReply());
}

TEST_F(HeartbeatTest, BatchedPingsGoOutOnTheGridSoManyConnectionsShareAWakeUp) {
  HeartbeatConfig c = config(1000, 500);
  c.batch = 250;
  // Three connections whose silence began at 10, 130 and 260 ms.
  HeartbeatEngine a(wheel, host, c, 1), b(wheel, host, c, 2), d(wheel, host, c, 3);
  a.start(10);
  runTo(130);
  b.start(now);
  runTo(260);
  d.start(now);
  runTo(1249);
  EXPECT_TRUE(host.pings.empty()) << "1010 and 1130 round up to 1250";
  runTo(1250);
  EXPECT_EQ(host.pingTimes, (std::vector<Millis>{1250, 1250})) << "one wake-up, two pings";
  runTo(1499);
  EXPECT_EQ(host.pings.size(), 2u) << "1260 rounds up to 1500";
  runTo(1500);
  EXPECT_EQ(host.pings.size(), 3u);
  // The timeout counts from the ping, unrounded: at most `batch` added to the bound.
  runTo(1749);
  EXPECT_EQ(host.deaths, 0);
  runTo(1750);
  EXPECT_EQ(host.deaths, 2);
  EXPECT_LE(host.deathTime - 10, 1000 + 500 + c.batch);
}

TEST_F(HeartbeatTest, AnyReceivedDataResetsTheSilenceClock) {
  HeartbeatEngine e(wheel, host, config(1000, 500), 1);
  e.start(now);
  // Data every 600 ms: never 1 s of silence, so never a ping.
  for (Millis t = 600; t <= 6000; t += 600) {
    runTo(t);
    e.onBytesRead(now);
  }
  EXPECT_TRUE(host.pings.empty());
  runTo(6999);
  EXPECT_TRUE(host.pings.empty());
  runTo(7000);
  EXPECT_EQ(host.pings.size(), 1u);
  EXPECT_LE(wheel.size(), 1u);  // one timer entry, however many reads
}

TEST_F(HeartbeatTest, SilentPeerIsDeadExactlyAtTimeoutAfterThePing) {
  HeartbeatEngine e(wheel, host, config(1000, 500), 1);
  e.start(now);
  runTo(1499);
  EXPECT_EQ(host.deaths, 0);
  runTo(1500);
  EXPECT_EQ(host.deaths, 1);
  EXPECT_EQ(host.deathTime, 1500);  // interval + timeout after the last read
  EXPECT_FALSE(e.running());
  runTo(5000);
  EXPECT_EQ(host.deaths, 1);
  EXPECT_EQ(host.pings.size(), 1u);
  EXPECT_TRUE(wheel.empty());
}

TEST_F(HeartbeatTest, AnyByteAfterThePingKeepsThePeerAliveAndRestartsTheInterval) {
  HeartbeatEngine e(wheel, host, config(300, 5000), 1);
  e.start(now);
  runTo(300);
  ASSERT_EQ(host.pings.size(), 1u);
  runTo(350);
  e.onBytesRead(now);  // not the pong, but data: the peer is alive
  EXPECT_FALSE(e.awaitingReply());
  // The next ping comes interval after that read, long before ping + timeout.
  runTo(649);
  EXPECT_EQ(host.pings.size(), 1u);
  runTo(650);
  EXPECT_EQ(host.pings.size(), 2u);
  EXPECT_EQ(host.deaths, 0);
}

TEST_F(HeartbeatTest, MissedPingsAllowedExtendTheBound) {
  HeartbeatConfig c = config(1000, 400);
  c.missedPingsAllowed = 2;
  HeartbeatEngine e(wheel, host, c, 1);
  e.start(now);
  runTo(2199);
  EXPECT_EQ(host.deaths, 0);
  EXPECT_EQ(host.pings.size(), 3u);  // at 1000, 1400, 1800
  runTo(2200);                       // interval + 3 * timeout
  EXPECT_EQ(host.deaths, 1);
}

TEST_F(HeartbeatTest, IntervalOffNeverPingsButStillAnswersAndEnforces) {
  HeartbeatEngine e(wheel, host, config(0, 500), 1);
  e.start(now);
  runTo(100000);
  EXPECT_TRUE(host.pings.empty());
  EXPECT_EQ(host.deaths, 0);
  EXPECT_TRUE(wheel.empty());
  EXPECT_EQ(e.onPingReceived(now), Verdict::kAnswer);
}

TEST_F(HeartbeatTest, RttIsMeasuredFromPingToTheMatchingPong) {
  HeartbeatEngine e(wheel, host, config(1000, 5000), 1);
  e.start(now);
  runTo(1000);
  ASSERT_EQ(host.pings.size(), 1u);
  runTo(1037);
  e.onBytesRead(now);
  EXPECT_FALSE(e.onPongReceived(host.pings[0] + 1, now).has_value());  // not ours
  auto rtt = e.onPongReceived(host.pings[0], now);
  ASSERT_TRUE(rtt.has_value());
  EXPECT_EQ(*rtt, 37);
  EXPECT_FALSE(e.onPongReceived(host.pings[0], now).has_value());  // a duplicate
}

TEST_F(HeartbeatTest, JitterStaysInRangeAndIsDeterministicPerSeed) {
  HeartbeatConfig c = config(1000, 100000);
  c.jitterPercent = 20;
  std::vector<Millis> gaps[2];
  for (int run = 0; run < 2; ++run) {
    core::TimerWheel w(0);
    FakeHost h;
    Millis t = 0;
    h.clock = &t;
    HeartbeatEngine e(w, h, c, 42);
    e.start(t);
    Millis lastRead = 0;
    while (h.pings.size() < 200) {
      w.advance(++t);
      if (!h.pings.empty() && e.awaitingReply()) {
        gaps[run].push_back(h.pingTimes.back() - lastRead);
        e.onBytesRead(t);  // answer at once
        lastRead = t;
      }
    }
  }
  EXPECT_EQ(gaps[0], gaps[1]);
  Millis lo = 100000, hi = 0;
  for (Millis g : gaps[0]) {
    EXPECT_GE(g, 800);
    EXPECT_LE(g, 1200);
    lo = std::min(lo, g);
    hi = std::max(hi, g);
  }
  EXPECT_LT(lo, 900);  // the spread is used, not a constant
  EXPECT_GT(hi, 1100);
}

TEST_F(HeartbeatTest, EarlyPingsAreStrikesAndTooManyCloses) {
  HeartbeatConfig c = config(0, 500);
  c.minPingInterval = 1000;
  c.maxPingStrikes = 2;
  HeartbeatEngine e(wheel, host, c, 1);
  e.start(now);
  EXPECT_EQ(e.onPingReceived(0), Verdict::kAnswer);         // first: valid
  EXPECT_EQ(e.onPingReceived(10), Verdict::kAnswer);        // strike 1
  EXPECT_EQ(e.onPingReceived(20), Verdict::kAnswer);        // strike 2
  EXPECT_EQ(e.onPingReceived(30), Verdict::kTooManyPings);  // strike 3 > 2
  EXPECT_EQ(e.strikes(), 3);
}

TEST_F(HeartbeatTest, PingsAtTheAllowedRateNeverStrike) {
  HeartbeatConfig c = config(0, 500);
  c.minPingInterval = 1000;
  HeartbeatEngine e(wheel, host, c, 1);
  e.start(now);
  for (Millis t = 0; t < 100000; t += 1000) EXPECT_EQ(e.onPingReceived(t), Verdict::kAnswer);
  EXPECT_EQ(e.strikes(), 0);
}

TEST_F(HeartbeatTest, SendingDataForgivesStrikes) {
  HeartbeatConfig c = config(0, 500);
  c.minPingInterval = 1000;
  c.maxPingStrikes = 1;
  HeartbeatEngine e(wheel, host, c, 1);
  e.start(now);
  for (Millis t = 0; t < 1000; t += 10) {
    e.onDataSent();  // we stream data: the peer may ping as it likes (A8)
    EXPECT_EQ(e.onPingReceived(t), Verdict::kAnswer);
  }
  EXPECT_EQ(e.onPingReceived(1000), Verdict::kAnswer);  // strike 1 (last valid at 990)
  EXPECT_EQ(e.onPingReceived(1001), Verdict::kTooManyPings);
}

TEST_F(HeartbeatTest, ZeroLimitsDisableEnforcement) {
  HeartbeatConfig c = config(0, 500);
  c.minPingInterval = 1000;
  c.maxPingStrikes = 0;  // unlimited strikes
  HeartbeatEngine e(wheel, host, c, 1);
  for (Millis t = 0; t < 100; ++t) EXPECT_EQ(e.onPingReceived(t), Verdict::kAnswer);
  c.maxPingStrikes = 2;
  c.minPingInterval = 0;  // no minimum interval
  HeartbeatEngine f(wheel, host, c, 1);
  for (Millis t = 0; t < 100; ++t) EXPECT_EQ(f.onPingReceived(t), Verdict::kAnswer);
}

TEST_F(HeartbeatTest, SetIntervalTakesEffectForTheCurrentSilence) {
  HeartbeatEngine e(wheel, host, config(10000, 500), 1);
  e.start(now);
  runTo(3000);
  e.setInterval(2000);  // already 3 s silent: due now
  runTo(3001);
  ASSERT_EQ(host.pings.size(), 1u);
  e.onBytesRead(now);
  e.setInterval(5000);  // longer: found by the lazy re-check
  runTo(8000);
  EXPECT_EQ(host.pings.size(), 1u);
  runTo(8001);
  EXPECT_EQ(host.pings.size(), 2u);
}

TEST_F(HeartbeatTest, StopUnlinksAndHostMayStopInsideItsCallback) {
  struct ClosingHost final : FakeHost {
    HeartbeatEngine* engine = nullptr;
    void heartbeatSendPing(std::uint64_t opaque) override {
      FakeHost::heartbeatSendPing(opaque);
      engine->stop();  // the write failed and the connection closed
    }
  } closing;
  closing.clock = &now;
  HeartbeatEngine e(wheel, closing, config(100, 100), 1);
  closing.engine = &e;
  e.start(now);
  runTo(1000);
  EXPECT_EQ(closing.pings.size(), 1u);
  EXPECT_EQ(closing.deaths, 0);
  EXPECT_TRUE(wheel.empty());
}

}  // namespace
}  // namespace tether::liveness
