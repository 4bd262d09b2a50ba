// Mars' smart-heartbeat state machine on a manual clock (times in ms).
#include "tether/liveness/adaptive_interval.h"

#include <gtest/gtest.h>

namespace tether::liveness {
namespace {

using Change = AdaptiveInterval::Change;
using State = AdaptiveInterval::State;

// Small numbers with Mars' shape: min 10, max 100, step 20, margin 5.
AdaptiveSettings small() {
  AdaptiveSettings s;
  s.min = 10;
  s.max = 100;
  s.step = 20;
  s.margin = 5;
  s.successesPerStep = 3;
  s.failuresAllowed = 2;
  s.warmupSuccesses = 2;
  s.reprobeAfter = 1000;
  return s;
}

// Reports successes at next() until the interval moves; returns the change.
Change succeedUntilChange(AdaptiveInterval& a, Millis& now, int limit = 20) {
  for (int i = 0; i < limit; ++i) {
    now += a.next();
    Change c = a.onSuccess(a.next(), now);
    if (c != Change::kNone) return c;
  }
  return Change::kNone;
}

// Warm-up at min, then successes until the adaptive value is `target`.
void climbTo(AdaptiveInterval& a, Millis& now, Millis target) {
  while (!a.warm()) a.onSuccess(a.next(), now += a.next());
  for (int i = 0; i < 20 && a.current() != target; ++i) succeedUntilChange(a, now);
  ASSERT_EQ(a.current(), target);
}

TEST(AdaptiveIntervalTest, DefaultsAreMarsConstants) {
  AdaptiveSettings s;
  EXPECT_EQ(s.min, 210'000);
  EXPECT_EQ(s.max, 600'000);
  EXPECT_EQ(s.step, 60'000);
  EXPECT_EQ(s.margin, 20'000);
  EXPECT_EQ(s.successesPerStep, 5);
  EXPECT_EQ(s.failuresAllowed, 2);
  EXPECT_EQ(s.warmupSuccesses, 3);
  EXPECT_EQ(s.reprobeAfter, 7LL * 24 * 3600 * 1000);
  EXPECT_TRUE(validateAdaptiveSettings(s).empty());
  AdaptiveInterval a(s, 0);
  EXPECT_EQ(a.cap(), 580'000);  // Max - SuccessStep
}

TEST(AdaptiveIntervalTest, ValidationNamesTheBadField) {
  AdaptiveSettings s = small();
  s.min = 0;
  EXPECT_NE(validateAdaptiveSettings(s).find("min"), std::string_view::npos);
  s = small();
  s.max = 12;  // 12 - 5 < 10
  EXPECT_NE(validateAdaptiveSettings(s).find("max"), std::string_view::npos);
  s = small();
  s.step = 0;
  EXPECT_FALSE(validateAdaptiveSettings(s).empty());
  s = small();
  s.failuresAllowed = 0;
  EXPECT_FALSE(validateAdaptiveSettings(s).empty());
}

TEST(AdaptiveIntervalTest, WarmUpUsesMinAndTrainsNothing) {
  AdaptiveInterval a(small(), 0);
  EXPECT_EQ(a.next(), 10);
  EXPECT_FALSE(a.warm());
  EXPECT_EQ(a.onSuccess(10, 10), Change::kNone);
  EXPECT_EQ(a.onSuccess(10, 20), Change::kNone);  // warm now; current is still min
  EXPECT_TRUE(a.warm());
  EXPECT_EQ(a.successes(), 0);                    // warm-up successes are not search successes
  EXPECT_EQ(a.onFailure(10, 30), Change::kNone);  // failure at min: ignored
  EXPECT_EQ(a.next(), 10);
}

TEST(AdaptiveIntervalTest, StepsUpAfterConsecutiveSuccessesUpToTheCapThenStable) {
  AdaptiveInterval a(small(), 0);
  Millis now = 0;
  a.onSuccess(10, now += 10);
  a.onSuccess(10, now += 10);
  std::vector<Millis> seen;
  for (int i = 0; i < 10 && a.state() == State::kSearching; ++i) {
    Change c = succeedUntilChange(a, now);
    ASSERT_NE(c, Change::kNone);
    seen.push_back(a.current());
  }
  // 10 -> 30 -> 50 -> 70 -> 90 -> 95 (cap = max - margin) -> stable at the cap.
  EXPECT_EQ(seen, (std::vector<Millis>{30, 50, 70, 90, 95, 95}));
  EXPECT_EQ(a.state(), State::kStable);
  EXPECT_EQ(a.next(), 95);
}

TEST(AdaptiveIntervalTest, ASuccessStreakIsBrokenByAFailure) {
  AdaptiveInterval a(small(), 0);
  Millis now = 20;
  a.onSuccess(10, 10);
  a.onSuccess(10, 20);
  ASSERT_EQ(succeedUntilChange(a, now), Change::kStepUp);  // now at 30
  a.onSuccess(30, 100);
  a.onSuccess(30, 130);
  EXPECT_EQ(a.onFailure(30, 160), Change::kNone);  // first failure: tolerated
  EXPECT_EQ(a.successes(), 0);
  a.onSuccess(30, 190);
  a.onSuccess(30, 220);
  EXPECT_EQ(a.current(), 30);  // only 2 in a row since the failure
  EXPECT_EQ(a.onSuccess(30, 250), Change::kStepUp);
  EXPECT_EQ(a.current(), 50);
}

TEST(AdaptiveIntervalTest, FailuresSettleOneStepPlusMarginBelowTheFailingInterval) {
  AdaptiveInterval a(small(), 0);
  Millis now = 0;
  climbTo(a, now, 50);
  EXPECT_EQ(a.onFailure(50, now += 50), Change::kNone);
  EXPECT_EQ(a.failures(), 1);
  // The driver reconnects: warm-up at min again, and min results do not count.
  a.onConnected();
  EXPECT_EQ(a.next(), 10);
  EXPECT_EQ(a.onFailure(10, now += 10), Change::kNone);
  a.onSuccess(10, now += 10);
  EXPECT_EQ(a.onSuccess(10, now += 10), Change::kWarmedUp);
  EXPECT_EQ(a.next(), 50);
  EXPECT_EQ(a.failures(), 1);  // the earlier failure at 50 still counts
  EXPECT_EQ(a.onFailure(50, now += 50), Change::kSettled);
  EXPECT_EQ(a.current(), 50 - 20 - 5);  // below the last good interval (30) by the margin
  EXPECT_EQ(a.state(), State::kStable);
  // Stable: successes change nothing until the re-probe period.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.onSuccess(25, now += 25), Change::kNone);
  EXPECT_EQ(a.current(), 25);
}

TEST(AdaptiveIntervalTest, BackOffIsClampedToMin) {
  AdaptiveInterval a(small(), 0);
  Millis now = 0;
  climbTo(a, now, 30);
  a.onFailure(30, now += 30);
  EXPECT_EQ(a.onFailure(30, now += 30), Change::kSettled);
  EXPECT_EQ(a.current(), 10);  // 30 - 20 - 5 < min
}

TEST(AdaptiveIntervalTest, ResultsForAnotherIntervalAreIgnored) {
  AdaptiveInterval a(small(), 0);
  Millis now = 0;
  climbTo(a, now, 30);
  EXPECT_EQ(a.onFailure(70, now), Change::kNone);
  EXPECT_EQ(a.onFailure(70, now), Change::kNone);
  EXPECT_EQ(a.failures(), 0);
  EXPECT_EQ(a.current(), 30);
}

TEST(AdaptiveIntervalTest, StableReprobesUpwardByTheMarginAfterThePeriod) {
  AdaptiveInterval a(small(), 0);
  Millis now = 0;
  climbTo(a, now, 50);
  a.onFailure(50, now += 50);
  ASSERT_EQ(a.onFailure(50, now += 50), Change::kSettled);  // 25, stable at `now`
  const Millis settledAt = now;
  EXPECT_EQ(a.onSuccess(25, settledAt + 999), Change::kNone);
  EXPECT_EQ(a.onSuccess(25, settledAt + 1000), Change::kReprobe);
  EXPECT_EQ(a.current(), 30);
  EXPECT_EQ(a.state(), State::kSearching);
  // The search continues from there; two failures settle again below it.
  a.onFailure(30, settledAt + 1100);
  EXPECT_EQ(a.onFailure(30, settledAt + 1200), Change::kSettled);
  EXPECT_EQ(a.current(), 10);
}

TEST(AdaptiveIntervalTest, NoReprobeAtTheCap) {
  AdaptiveInterval a(small(), 0);
  Millis now = 0;
  climbTo(a, now, 95);
  ASSERT_EQ(succeedUntilChange(a, now), Change::kSettled);  // 3 successes at the cap
  EXPECT_EQ(a.current(), 95);
  EXPECT_EQ(a.onSuccess(95, now + 100'000), Change::kNone);
  EXPECT_EQ(a.current(), 95);
}

TEST(AdaptiveIntervalTest, StableValueThatFailsRestartsTheSearchFromMin) {
  AdaptiveInterval a(small(), 0);
  Millis now = 0;
  climbTo(a, now, 95);
  ASSERT_EQ(succeedUntilChange(a, now), Change::kSettled);  // 3 successes at the cap
  ASSERT_EQ(a.current(), 95);
  EXPECT_EQ(a.onFailure(95, now += 95), Change::kNone);
  EXPECT_EQ(a.onFailure(95, now += 95), Change::kRecalc);
  EXPECT_EQ(a.current(), 10);
  EXPECT_EQ(a.state(), State::kSearching);
}

TEST(AdaptiveIntervalTest, MinEqualToCapStaysPut) {
  AdaptiveSettings s = small();
  s.max = 15;  // cap = 10 = min
  s.warmupSuccesses = 0;
  AdaptiveInterval a(s, 0);
  Millis now = 0;
  EXPECT_EQ(succeedUntilChange(a, now), Change::kSettled);
  EXPECT_EQ(a.current(), 10);
  EXPECT_EQ(a.onFailure(10, now), Change::kNone);
}

TEST(AdaptiveIntervalTest, Names) {
  EXPECT_EQ(adaptiveStateName(State::kStable), "stable");
  EXPECT_EQ(adaptiveChangeName(Change::kSettled), "settled");
  EXPECT_EQ(adaptiveChangeName(Change::kReprobe), "reprobe");
}

}  // namespace
}  // namespace tether::liveness
