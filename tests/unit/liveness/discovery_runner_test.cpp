// DiscoveryRunner against a quiet HeartbeatServer behind a NAT model with an
// idle timeout T, on one loop in virtual time: the rounds IdleDiscovery plans,
// each probe's verdict at the instant the path gives it, the cancellation of
// probes known to die, a result that brackets T within the resolution, and
// "no timeout up to max" when T is above the max.
#include "tether/liveness/discovery_runner.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "heartbeat_net_fixture.h"
#include "nat_model.h"

namespace tether::liveness {
namespace {

using testing::NatModel;
using Outcome = IdleDiscovery::Outcome;

struct RunnerLog final : DiscoveryObserver {
  // (round, idle, verdict, reason, loop time)
  using Probe = std::tuple<int, Millis, ProbeVerdict, std::string, Millis>;

  explicit RunnerLog(net::EventLoop& l) : loop(l) {}
  void onRound(const DiscoveryRound& r) override {
    rounds.push_back(r.idles);
    roundStarts.push_back(loop.now());
  }
  void onProbe(const ProbeReport& p) override {
    probes.emplace_back(p.round, p.idle, p.verdict, std::string(p.reason), loop.now());
  }
  void onProbeCancelled(const ProbeReport& p) override {
    cancelled.emplace_back(p.round, p.idle, p.verdict, std::string(p.reason), loop.now());
  }
  void onFinished(const DiscoveryResult& r) override {
    result = r;
    finishedAt = loop.now();
  }

  net::EventLoop& loop;
  std::vector<std::vector<Millis>> rounds;
  std::vector<Millis> roundStarts;
  std::vector<Probe> probes, cancelled;
  std::optional<DiscoveryResult> result;
  Millis finishedAt = -1;
};

class DiscoveryRunnerTest : public testing::HeartbeatNetTest {
 protected:
  static constexpr Millis kTimeout = 1'000;  // heartbeat timeout: a blackholed ping's verdict
  static constexpr Millis kResolution = 500;

  // Probes of up to 8 s, 4 per round, a bracket of 0.5 s.
  static DiscoveryOptions options(const net::SocketAddress& to) {
    DiscoveryOptions o;
    o.address = to;
    o.heartbeat.timeout = kTimeout;
    o.search.max = 8'000;
    o.search.probes = 4;
    o.search.resolution = kResolution;
    o.search.maxRounds = 6;
    return o;
  }

  void start(const net::SocketAddress& to) {
    EXPECT_EQ(validateDiscoverySettings(options(to).search), "");
    runner = std::make_unique<DiscoveryRunner>(loop, options(to), log);
    runner->start();
  }

  void startBehindNat(Millis natTimeout, NatModel::Expiry expiry) {
    startServer(quietServer());
    nat = std::make_unique<NatModel>(loop, serverAddress, natTimeout, expiry);
    start(nat->address());
  }

  bool finished() const { return log.result.has_value(); }

  RunnerLog log{loop};
  std::unique_ptr<NatModel> nat;
  std::unique_ptr<DiscoveryRunner> runner;
};

class DiscoveryRunnerNatTest : public DiscoveryRunnerTest,
                               public ::testing::WithParamInterface<NatModel::Expiry> {};

TEST_P(DiscoveryRunnerNatTest, FindsTheNatTimeoutAndCancelsProbesKnownToDie) {
  const bool reset = GetParam() == NatModel::Expiry::kReset;
  startBehindNat(4'200, GetParam());
  ASSERT_TRUE(time.runUntil([&] { return finished(); }, 120'000));

  // A reset is a verdict at the ping, a blackholed ping one timeout later.
  const Millis seen = reset ? 0 : kTimeout;
  const std::string died = reset ? "peer_reset" : "heartbeat_timeout";
  const Millis round2 = 6'000 + seen;
  EXPECT_EQ(log.rounds, (std::vector<std::vector<Millis>>{{2'000, 4'000, 6'000, 8'000},
                                                          {4'500, 5'000, 5'500}}));
  EXPECT_EQ(log.roundStarts, (std::vector<Millis>{0, round2}))
      << "round 2 starts at round 1's death, not after its 8 s probe";
  EXPECT_EQ(log.probes, (std::vector<RunnerLog::Probe>{
                            {1, 2'000, ProbeVerdict::kSurvived, "pong", 2'000},
                            {1, 4'000, ProbeVerdict::kSurvived, "pong", 4'000},
                            {1, 6'000, ProbeVerdict::kDied, died, 6'000 + seen},
                            {2, 4'500, ProbeVerdict::kDied, died, round2 + 4'500 + seen},
                        }));
  const Millis end = round2 + 4'500 + seen;
  EXPECT_EQ(log.cancelled, (std::vector<RunnerLog::Probe>{
                               {1, 8'000, ProbeVerdict::kCancelled, "known to die", round2},
                               {2, 5'000, ProbeVerdict::kCancelled, "known to die", end},
                               {2, 5'500, ProbeVerdict::kCancelled, "known to die", end},
                           }));

  ASSERT_TRUE(log.result);
  const DiscoveryResult& r = *log.result;
  EXPECT_EQ(r.end, DiscoveryEnd::kSearched);
  EXPECT_EQ(r.outcome, Outcome::kFound);
  EXPECT_EQ(r.rounds, 2);
  EXPECT_EQ(r.survivedMax, 4'000);
  EXPECT_EQ(r.diedMin, 4'500);
  EXPECT_EQ(r.estimate, 4'250);
  EXPECT_EQ(r.recommendedInterval, 3'600);
  EXPECT_EQ(log.finishedAt, end);
  EXPECT_TRUE(runner->finished());
}

TEST_P(DiscoveryRunnerNatTest, NoTimeoutUpToMaxWhenTheNatKeepsFlowsLonger) {
  startBehindNat(10'000, GetParam());
  ASSERT_TRUE(time.runUntil([&] { return finished(); }, 120'000));
  EXPECT_EQ(log.rounds.size(), 1u);
  EXPECT_EQ(log.probes.size(), 4u);
  for (const auto& p : log.probes) EXPECT_EQ(std::get<2>(p), ProbeVerdict::kSurvived);
  EXPECT_TRUE(log.cancelled.empty());
  const DiscoveryResult& r = *log.result;
  EXPECT_EQ(r.end, DiscoveryEnd::kSearched);
  EXPECT_EQ(r.outcome, Outcome::kNoTimeout);
  EXPECT_EQ(r.survivedMax, 8'000);
  EXPECT_FALSE(r.diedMin);
  EXPECT_FALSE(r.estimate);
  EXPECT_EQ(log.finishedAt, 8'000);
  EXPECT_EQ(nat->expired(), 0);
}

INSTANTIATE_TEST_SUITE_P(Nat, DiscoveryRunnerNatTest,
                         ::testing::Values(NatModel::Expiry::kReset, NatModel::Expiry::kDrop),
                         testing::expiryName);

TEST_F(DiscoveryRunnerTest, TheResultBracketsTheTimeoutWithinTheResolution) {
  for (Millis natTimeout : {700, 2'100, 4'200, 6'100, 7'999}) {
    SCOPED_TRACE(natTimeout);
    log.result.reset();
    runner.reset();
    nat.reset();
    server.reset();
    startBehindNat(natTimeout, NatModel::Expiry::kReset);
    ASSERT_TRUE(time.runUntil([&] { return finished(); }, time.now() + 120'000));
    const DiscoveryResult& r = *log.result;
    EXPECT_EQ(r.outcome, Outcome::kFound);
    ASSERT_TRUE(r.diedMin && r.estimate);
    EXPECT_LE(r.survivedMax, natTimeout) << "an idle that survived is within the timeout";
    EXPECT_GT(*r.diedMin, natTimeout) << "an idle that died is beyond it";
    EXPECT_LE(*r.diedMin - r.survivedMax, kResolution);
    EXPECT_LE(std::abs(*r.estimate - natTimeout), kResolution / 2);
  }
}

TEST_F(DiscoveryRunnerTest, AProbeThatCannotConnectEndsTheRunWithItsErrno) {
  net::SocketAddress closed;
  {
    auto any = net::parseSocketAddress("127.0.0.1:0");
    int fd = net::listenTcp(*any, 1, &closed);
    ASSERT_GE(fd, 0);
    ::close(fd);  // nobody listens there any more: connects are refused
  }
  start(closed);
  ASSERT_TRUE(time.runUntil([&] { return finished(); }, 10'000));
  EXPECT_EQ(log.result->end, DiscoveryEnd::kConnectError);
  EXPECT_EQ(log.result->connectErrno, ECONNREFUSED);
  EXPECT_TRUE(log.probes.empty());
  time.runTo(20'000);
  EXPECT_EQ(log.rounds.size(), 1u) << "no round after the error";
}

TEST_F(DiscoveryRunnerTest, StopCancelsThePendingProbes) {
  startServer(quietServer());
  start(serverAddress);
  time.runTo(3'000);  // the 2 s probe survived; three are idling
  ASSERT_EQ(log.probes.size(), 1u);
  runner->stop();
  ASSERT_TRUE(log.result);
  EXPECT_EQ(log.result->end, DiscoveryEnd::kStopped);
  time.runTo(3'001);
  // The server heard each pending probe say goodbye.
  int cancelled = 0;
  for (const auto& c : serverLog.closed) {
    cancelled += c.info.detail == "peer said goodbye: normal (probe cancelled)";
  }
  EXPECT_EQ(cancelled, 3);
  time.runTo(20'000);
  EXPECT_EQ(log.probes.size(), 1u);
  EXPECT_EQ(log.rounds.size(), 1u);
}

}  // namespace
}  // namespace tether::liveness
