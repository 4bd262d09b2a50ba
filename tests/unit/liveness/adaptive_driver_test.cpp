// AdaptiveDriver against a quiet HeartbeatServer behind a NAT model with an idle
// timeout, all on one loop in virtual time: the interval steps up, fails above
// the NAT's timeout, reconnects, and settles below it at the exact values the
// AdaptiveInterval state machine prescribes; a path that kills every connection
// before its first PONG is retried after the pause; stop() says goodbye.
#include "tether/liveness/adaptive_driver.h"

#include <gtest/gtest.h>

#include <optional>
#include <tuple>
#include <vector>

#include "heartbeat_net_fixture.h"
#include "nat_model.h"

namespace tether::liveness {
namespace {

using testing::NatModel;
using Change = AdaptiveInterval::Change;
using State = AdaptiveInterval::State;

struct DriverLog final : AdaptiveDriverObserver {
  explicit DriverLog(net::EventLoop& l) : loop(l) {}
  void onConnected(const ClientConnected& c) override {
    connectedAt.push_back(loop.now());
    connectedInterval.push_back(c.interval);
    warmingUp.push_back(c.warmingUp);
  }
  void onPong(const ClientPong& p) override { pongIntervals.push_back(p.interval); }
  void onIntervalChanged(const IntervalChange& c) override { changes.push_back(c); }
  void onClosed(const SessionClose& info) override {
    closedAt.push_back(loop.now());
    closeReasons.push_back(info.reason);
  }
  void onFinished(const ClientFinished& how) override { finished = how; }

  net::EventLoop& loop;
  std::vector<Millis> connectedAt, connectedInterval, pongIntervals, closedAt;
  std::vector<bool> warmingUp;
  std::vector<IntervalChange> changes;
  std::vector<SessionCloseReason> closeReasons;
  std::optional<ClientFinished> finished;
};

// (change, previous, interval, adaptive value, state) of one IntervalChange.
using Step = std::tuple<Change, Millis, Millis, Millis, State>;
std::vector<Step> steps(const std::vector<IntervalChange>& changes) {
  std::vector<Step> out;
  for (const IntervalChange& c : changes) {
    out.emplace_back(c.change, c.previous, c.interval, c.adaptive, c.state);
  }
  return out;
}

class AdaptiveDriverTest : public testing::HeartbeatNetTest {
 protected:
  static constexpr Millis kTimeout = 1'000;  // heartbeat timeout

  // min 1 s, step 2 s, margin 0.5 s, max 10 s (cap 9.5 s); 2 successes per
  // step, 2 failures to react, the default warm-up of 3 pings at min.
  static AdaptiveDriverOptions options(const net::SocketAddress& to) {
    AdaptiveDriverOptions o;
    o.client.address = to;
    o.client.session.heartbeat.timeout = kTimeout;
    o.adaptive.min = 1'000;
    o.adaptive.max = 10'000;
    o.adaptive.step = 2'000;
    o.adaptive.margin = 500;
    o.adaptive.successesPerStep = 2;
    o.adaptive.failuresAllowed = 2;
    o.retryPause = 1'000;
    return o;
  }

  void start(Millis natTimeout, NatModel::Expiry expiry) {
    startServer(quietServer());
    nat = std::make_unique<NatModel>(loop, serverAddress, natTimeout, expiry);
    EXPECT_EQ(validateAdaptiveSettings(options(nat->address()).adaptive), "");
    driver = std::make_unique<AdaptiveDriver>(loop, options(nat->address()), log);
    driver->start();
  }

  DriverLog log{loop};
  std::unique_ptr<NatModel> nat;
  std::unique_ptr<AdaptiveDriver> driver;
};

// The NAT either resets an expired flow or blackholes it.
class AdaptiveDriverNatTest : public AdaptiveDriverTest,
                              public ::testing::WithParamInterface<NatModel::Expiry> {};

TEST_P(AdaptiveDriverNatTest, SettlesBelowTheNatIdleTimeout) {
  const Millis natTimeout = 4'200;
  const bool reset = GetParam() == NatModel::Expiry::kReset;
  start(natTimeout, GetParam());
  time.runTo(60'000);

  // Connection 1: warm-up at 1 s (3 pongs), 2 pongs at 1 s -> 3 s, 2 at 3 s ->
  // 5 s; the ping after 5 s idle meets an expired NAT entry: failure 1.
  // Connection 2: warm-up at 1 s, back to 5 s, fails again: failure 2 settles
  // at 5 - 2 - 0.5 = 2.5 s, stable. Connection 3: warm-up, then 2.5 s for good.
  EXPECT_EQ(steps(log.changes),
            (std::vector<Step>{{Change::kStepUp, 1'000, 3'000, 3'000, State::kSearching},
                               {Change::kStepUp, 3'000, 5'000, 5'000, State::kSearching},
                               {Change::kWarmedUp, 1'000, 5'000, 5'000, State::kSearching},
                               {Change::kSettled, 5'000, 2'500, 2'500, State::kStable},
                               {Change::kWarmedUp, 1'000, 2'500, 2'500, State::kStable}}));
  EXPECT_EQ(driver->adaptive().current(), 2'500);
  EXPECT_EQ(driver->adaptive().state(), State::kStable);
  EXPECT_EQ(driver->interval(), 2'500);
  EXPECT_LT(driver->interval(), natTimeout);

  // Two path failures, each at the ping after 5 s of silence; a reset is seen
  // at once, a blackholed ping one heartbeat timeout later.
  const SessionCloseReason failure =
      reset ? SessionCloseReason::kPeerReset : SessionCloseReason::kHeartbeatTimeout;
  EXPECT_EQ(log.closeReasons, (std::vector<SessionCloseReason>{failure, failure}));
  const Millis seen = reset ? 0 : kTimeout;
  // Connection 1 pings at 1..5 s (1 s apart), 8 and 11 s (3 s), then 16 s.
  // Connection 2 connects at once, warms up at +1..+3 s, pings at +8 s.
  const Millis fail1 = 16'000 + seen, fail2 = fail1 + 8'000 + seen;
  EXPECT_EQ(log.closedAt, (std::vector<Millis>{fail1, fail2}));
  EXPECT_EQ(log.connectedAt, (std::vector<Millis>{0, fail1, fail2}))
      << "a connection that had PONGs is replaced at once";
  EXPECT_EQ(log.connectedInterval, (std::vector<Millis>{1'000, 1'000, 1'000}));
  EXPECT_EQ(log.warmingUp, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(driver->connects(), 3);
  EXPECT_EQ(nat->expired(), 2);
  ASSERT_FALSE(log.pongIntervals.empty());
  EXPECT_EQ(log.pongIntervals.back(), 2'500);
  EXPECT_FALSE(log.finished);
}

TEST_P(AdaptiveDriverNatTest, AConnectionWithoutAPongIsRetriedAfterThePause) {
  // The NAT forgets a flow after 0.5 s: even the warm-up ping at min (1 s) dies.
  const bool reset = GetParam() == NatModel::Expiry::kReset;
  start(500, GetParam());
  time.runUntil([&] { return log.connectedAt.size() >= 3; }, 60'000);

  const Millis seen = reset ? 0 : kTimeout;
  const Millis fail1 = 1'000 + seen, retry1 = fail1 + 1'000;
  const Millis fail2 = retry1 + 1'000 + seen, retry2 = fail2 + 1'000;
  EXPECT_EQ(log.closedAt, (std::vector<Millis>{fail1, fail2}));
  EXPECT_EQ(log.connectedAt, (std::vector<Millis>{0, retry1, retry2}))
      << "no PONG on the connection: reconnect only after the retry pause";
  EXPECT_TRUE(log.changes.empty()) << "failures at min change nothing";
  EXPECT_EQ(driver->adaptive().current(), 1'000);
  EXPECT_TRUE(log.pongIntervals.empty());
}

TEST_P(AdaptiveDriverNatTest, StopSaysGoodbyeAndFinishes) {
  start(60'000, GetParam());  // the NAT never interferes
  time.runTo(5'500);
  ASSERT_EQ(log.connectedAt.size(), 1u);
  driver->stop();
  time.runTo(6'000);
  ASSERT_TRUE(log.finished);
  EXPECT_EQ(log.finished->end, ClientEnd::kClosed);
  EXPECT_EQ(log.finished->reason, SessionCloseReason::kLocal);
  ASSERT_EQ(serverLog.closed.size(), 1u);
  EXPECT_EQ(serverLog.closed[0].info.reason, SessionCloseReason::kPeerClosed);
  EXPECT_EQ(serverLog.closed[0].info.detail, "peer said goodbye: normal (client done)");
  time.runTo(20'000);
  EXPECT_EQ(driver->connects(), 1) << "a stopped driver does not reconnect";
}

TEST_P(AdaptiveDriverNatTest, StopDuringTheRetryPauseCancelsTheReconnect) {
  start(500, GetParam());
  time.runUntil([&] { return !log.closedAt.empty(); }, 10'000);
  ASSERT_EQ(log.closedAt.size(), 1u);
  driver->stop();
  ASSERT_TRUE(log.finished);
  EXPECT_EQ(log.finished->end, ClientEnd::kStopped);
  time.runTo(20'000);
  EXPECT_EQ(driver->connects(), 1);
}

TEST_F(AdaptiveDriverTest, APeerThatClosesFinishesTheDriver) {
  start(60'000, NatModel::Expiry::kReset);
  time.runTo(2'500);
  server->shutdown();
  time.runTo(3'000);
  ASSERT_TRUE(log.finished);
  EXPECT_EQ(log.finished->end, ClientEnd::kClosed);
  EXPECT_EQ(log.finished->reason, SessionCloseReason::kPeerClosed) << "not a path failure";
  time.runTo(10'000);
  EXPECT_EQ(driver->connects(), 1);
}

TEST_F(AdaptiveDriverTest, PathFailuresAreTimeoutsAndResets) {
  EXPECT_TRUE(isPathFailure(SessionCloseReason::kHeartbeatTimeout));
  EXPECT_TRUE(isPathFailure(SessionCloseReason::kKeepaliveTimeout));
  EXPECT_TRUE(isPathFailure(SessionCloseReason::kUserTimeout));
  EXPECT_TRUE(isPathFailure(SessionCloseReason::kPeerReset));
  EXPECT_FALSE(isPathFailure(SessionCloseReason::kPeerClosed));
  EXPECT_FALSE(isPathFailure(SessionCloseReason::kTooManyPings));
  EXPECT_FALSE(isPathFailure(SessionCloseReason::kError));
  EXPECT_FALSE(isPathFailure(SessionCloseReason::kLocal));
}

INSTANTIATE_TEST_SUITE_P(Nat, AdaptiveDriverNatTest,
                         ::testing::Values(NatModel::Expiry::kReset, NatModel::Expiry::kDrop),
                         testing::expiryName);

}  // namespace
}  // namespace tether::liveness
