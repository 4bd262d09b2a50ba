// Bracket narrowing of the idle-timeout discovery against simulated paths.
#include "tether/liveness/idle_discovery.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace tether::liveness {
namespace {

using Outcome = IdleDiscovery::Outcome;

DiscoverySettings settings(Millis max, int probes) {
  DiscoverySettings s;
  s.max = max;
  s.probes = probes;
  return s;
}

// Runs the search against a path that keeps idle flows for `timeout` ms
// (an idle of exactly `timeout` dies, as conntrack expires at the deadline).
// Returns the number of probes used.
int runAgainst(IdleDiscovery& d, Millis timeout) {
  int probes = 0;
  for (int round = 0; round < 20 && !d.finished(); ++round) {
    std::vector<Millis> idles = d.nextRound();
    EXPECT_FALSE(idles.empty());
    for (Millis idle : idles) {
      d.onResult(idle, idle < timeout);
      ++probes;
    }
  }
  return probes;
}

TEST(IdleDiscoveryTest, FirstRoundSpreadsEvenlyUpToMaxIncluded) {
  IdleDiscovery d(settings(16'000, 4));
  EXPECT_EQ(d.nextRound(), (std::vector<Millis>{4000, 8000, 12'000, 16'000}));
  EXPECT_EQ(d.rounds(), 1);
}

TEST(IdleDiscoveryTest, SecondRoundNarrowsTheBracketToTheResolution) {
  IdleDiscovery d(settings(16'000, 4));
  d.nextRound();
  d.onResult(4000, true);
  d.onResult(8000, false);
  d.onResult(12'000, false);  // a driver may cancel these: known to die
  EXPECT_TRUE(d.knownToDie(12'000));
  EXPECT_FALSE(d.knownToDie(7999));
  EXPECT_FALSE(d.finished());
  // (4, 8]: one probe in the middle makes both halves 2 s wide.
  EXPECT_EQ(d.nextRound(), (std::vector<Millis>{6000}));
  d.onResult(6000, true);
  EXPECT_EQ(d.outcome(), Outcome::kFound);
  EXPECT_EQ(d.survivedMax(), 6000);
  EXPECT_EQ(d.diedMin(), 8000);
  EXPECT_EQ(d.estimate(), 7000);
  EXPECT_EQ(d.recommendedInterval(), 5400);  // 90% of 6 s
  EXPECT_TRUE(d.nextRound().empty());
}

TEST(IdleDiscoveryTest, FindsEveryTimeoutWithinPlusMinusOneSecond) {
  for (Millis timeout = 1500; timeout <= 600'000; timeout += 7919) {
    IdleDiscovery d(settings(600'000, 8));
    runAgainst(d, timeout);
    ASSERT_EQ(d.outcome(), Outcome::kFound) << timeout;
    EXPECT_LE(std::abs(*d.estimate() - timeout), 1000) << timeout;
    EXPECT_LT(*d.recommendedInterval(), timeout) << timeout;
    EXPECT_LE(d.rounds(), 4) << timeout;  // 600 s / 8 -> 75 s -> 8.3 s -> 0.9 s
  }
}

TEST(IdleDiscoveryTest, SmallMaxNeedsOneRoundAndFewProbes) {
  IdleDiscovery d(settings(12'000, 6));
  int probes = runAgainst(d, 5000);  // 2,4,6,8,10,12: bracket (4, 6]
  EXPECT_EQ(d.rounds(), 1);
  EXPECT_EQ(probes, 6);
  EXPECT_EQ(d.estimate(), 5000);
}

TEST(IdleDiscoveryTest, NoTimeoutUpToMax) {
  IdleDiscovery d(settings(3000, 3));
  runAgainst(d, 1'000'000);
  EXPECT_EQ(d.outcome(), Outcome::kNoTimeout);
  EXPECT_EQ(d.rounds(), 1);
  EXPECT_EQ(d.survivedMax(), 3000);
  EXPECT_FALSE(d.estimate());
  EXPECT_FALSE(d.recommendedInterval());
}

TEST(IdleDiscoveryTest, TimeoutBelowTheShortestProbeIsSearchedFromZero) {
  IdleDiscovery d(settings(40'000, 4));  // 10, 20, 30, 40 s
  runAgainst(d, 2500);
  ASSERT_EQ(d.outcome(), Outcome::kFound);
  EXPECT_LE(std::abs(*d.estimate() - 2500), 1000);
}

TEST(IdleDiscoveryTest, ContradictingResultsAreReportedNotGuessed) {
  IdleDiscovery d(settings(8000, 4));
  d.nextRound();
  d.onResult(2000, false);  // a lost ping, not an idle timeout
  d.onResult(4000, true);
  EXPECT_EQ(d.outcome(), Outcome::kInconsistent);
  EXPECT_FALSE(d.estimate());
  EXPECT_TRUE(d.nextRound().empty());
}

TEST(IdleDiscoveryTest, GivesUpAfterMaxRoundsWithTheBracket) {
  DiscoverySettings s = settings(600'000, 1);
  s.maxRounds = 2;
  IdleDiscovery d(s);
  runAgainst(d, 100'000);
  EXPECT_EQ(d.outcome(), Outcome::kUnresolved);
  EXPECT_EQ(d.rounds(), 2);
  EXPECT_TRUE(d.estimate());  // the bracket is still reported
}

TEST(IdleDiscoveryTest, Validation) {
  EXPECT_TRUE(validateDiscoverySettings(settings(3000, 4)).empty());
  EXPECT_FALSE(validateDiscoverySettings(settings(500, 4)).empty());
  EXPECT_FALSE(validateDiscoverySettings(settings(3000, 0)).empty());
  EXPECT_FALSE(validateDiscoverySettings(settings(3000, 65)).empty());
}

}  // namespace
}  // namespace tether::liveness
