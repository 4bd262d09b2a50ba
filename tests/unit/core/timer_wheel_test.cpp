// Deterministic tests for TimerWheel: no clock, no sleeps; time is whatever we pass to advance().
#include "tether/core/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "timer_wheel_fixtures.h"

namespace tether::core {
namespace {

using namespace tether::core::wheel_testing;

TEST(TimerWheel, EmptyWheel) {
  TimerWheel w(1000);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.size(), 0U);
  EXPECT_EQ(w.now(), 1000);
  EXPECT_EQ(w.nextWakeup(), kNever);
  EXPECT_EQ(w.advance(5000), 0U);
  EXPECT_EQ(w.now(), 5000);
  EXPECT_EQ(w.advance(10), 0U) << "going back is treated as now()";
  EXPECT_EQ(w.now(), 5000);
  EXPECT_EQ(w.advance(kNever), 0U);
  EXPECT_EQ(w.now(), kNever);
  w.validate();
}

TEST(TimerWheel, FiresAtExactDeadlineNotBefore) {
  Log log;
  TimerWheel w(1000);
  log.wheel = &w;
  Probe p(log, 1);
  w.link(p.entry, 1050);
  EXPECT_TRUE(p.entry.linked());
  EXPECT_EQ(p.entry.deadline(), 1050);
  EXPECT_EQ(w.size(), 1U);
  EXPECT_EQ(w.advance(1049), 0U);
  EXPECT_TRUE(log.fired.empty());
  EXPECT_EQ(w.advance(1050), 1U);
  ASSERT_EQ(log.fired.size(), 1U);
  EXPECT_EQ(log.fired[0].second, 1050);
  EXPECT_FALSE(p.entry.linked());
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.advance(100000), 0U) << "fires only once";
  w.validate();
}

TEST(TimerWheel, CallbackSeesDeadlineAsNowWhenJumpingPast) {
  Log log;
  TimerWheel w(0);
  log.wheel = &w;
  Probe a(log, 1), b(log, 2);
  w.link(a.entry, 10);
  w.link(b.entry, 5000);
  EXPECT_EQ(w.advance(1'000'000), 2U);
  EXPECT_EQ(log.fired, (std::vector<std::pair<int, Millis>>{{1, 10}, {2, 5000}}));
  EXPECT_EQ(w.now(), 1'000'000);
}

TEST(TimerWheel, UnlinkPreventsFiring) {
  Log log;
  TimerWheel w(7);
  log.wheel = &w;
  Probe p(log, 1), q(log, 2);
  w.unlink(p.entry);  // not linked: no-op
  w.link(p.entry, 100);
  w.link(q.entry, 100);
  w.unlink(p.entry);
  w.unlink(p.entry);
  EXPECT_FALSE(p.entry.linked());
  EXPECT_EQ(w.size(), 1U);
  w.validate();
  EXPECT_EQ(w.advance(1000), 1U);
  EXPECT_EQ(ids(log), std::vector<int>{2});
}

TEST(TimerWheel, RelinkMovesDeadline) {
  Log log;
  TimerWheel w(0);
  log.wheel = &w;
  Probe p(log, 1);
  w.link(p.entry, 10'000);
  w.link(p.entry, 50);  // earlier
  EXPECT_EQ(w.size(), 1U);
  EXPECT_EQ(w.advance(49), 0U);
  EXPECT_EQ(w.advance(50), 1U);
  w.link(p.entry, 60);
  w.link(p.entry, 70'000);  // later
  EXPECT_EQ(w.size(), 1U);
  w.validate();
  EXPECT_EQ(w.advance(69'999), 0U);
  EXPECT_EQ(w.advance(70'000), 1U);
  EXPECT_EQ(log.fired, (std::vector<std::pair<int, Millis>>{{1, 50}, {1, 70'000}}));
}

TEST(TimerWheel, DeadlineNotAfterNowFiresOnNextAdvance) {
  Log log;
  TimerWheel w(500);
  log.wheel = &w;
  Probe past(log, 1), now(log, 2), farPast(log, 3);
  w.link(past.entry, 499);
  w.link(now.entry, 500);
  w.link(farPast.entry, -kYear);
  // Past deadlines are stored as now(): that keeps the firing order sorted.
  EXPECT_EQ(past.entry.deadline(), 500);
  EXPECT_EQ(farPast.entry.deadline(), 500);
  EXPECT_EQ(w.nextWakeup(), 500);
  w.validate();
  EXPECT_EQ(w.advance(500), 3U) << "advance(now()) fires what is due";
  EXPECT_EQ(ids(log), (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(w.empty());
}

TEST(TimerWheel, NextWakeup) {
  Log log;
  TimerWheel w(1'000'003);  // digit 0 of now is 3
  log.wheel = &w;
  Probe a(log, 1), b(log, 2);
  w.link(a.entry, 1'000'010);  // same 64 ms block as now(): exact
  EXPECT_EQ(w.nextWakeup(), 1'000'010);
  w.unlink(a.entry);
  w.link(b.entry, 1'000'003 + kDay);  // far: a lower bound (a slot start)
  const Millis wake = w.nextWakeup();
  EXPECT_GT(wake, w.now());
  EXPECT_LE(wake, 1'000'003 + kDay);
  // The event-loop pattern: sleep until nextWakeup(), advance, repeat. Never fires early,
  // converges in at most one wake-up per level.
  int wakeups = 0;
  while (log.fired.empty()) {
    const Millis next = w.nextWakeup();
    ASSERT_LE(next, 1'000'003 + kDay);
    EXPECT_EQ(w.advance(next - 1), 0U);
    w.advance(next);
    ++wakeups;
  }
  EXPECT_LE(wakeups, TimerWheel::kLevels);
  EXPECT_EQ(log.fired[0].second, 1'000'003 + kDay);
  EXPECT_EQ(w.nextWakeup(), kNever);
}

TEST(TimerWheel, NextWakeupAcrossA64msBlockIsTheBlockStart) {
  // Documented limitation: exactness needs the deadline in now()'s 64-aligned block.
  Log log;
  TimerWheel w(60);
  log.wheel = &w;
  Probe p(log, 1);
  w.link(p.entry, 70);
  EXPECT_EQ(w.nextWakeup(), 64);
  EXPECT_EQ(w.advance(64), 0U);
  EXPECT_EQ(w.nextWakeup(), 70);
  w.unlink(p.entry);  // an entry must not be destroyed while linked
}

TEST(TimerWheel, SizeCountsLinkedEntries) {
  Log log;
  TimerWheel w(0);
  log.wheel = &w;
  std::vector<std::unique_ptr<Probe>> probes;
  for (int i = 0; i < 10; ++i) {
    probes.push_back(std::make_unique<Probe>(log, i));
    w.link(probes.back()->entry, i * 1000);
    EXPECT_EQ(w.size(), static_cast<std::size_t>(i + 1));
  }
  w.link(probes[3]->entry, 5);  // re-link does not count twice
  EXPECT_EQ(w.size(), 10U);
  w.unlink(probes[4]->entry);
  EXPECT_EQ(w.size(), 9U);
  EXPECT_EQ(w.advance(2000), 4U);  // 0, 5 (probe 3), 1000, 2000
  EXPECT_EQ(w.size(), 5U);
  w.validate();
  EXPECT_EQ(w.advance(kNever), 5U);
  EXPECT_TRUE(w.empty());
}

TEST(TimerWheel, FiresInDeadlineOrder) {
  Log log;
  TimerWheel w(12345);
  log.wheel = &w;
  const std::array<Millis, 8> deadlines = {12345 + 70'000, 12346, 12345 + 64,     12345 + 4096,
                                           12345 + 63,     12400, 12345 + 70'000, 12345 + kDay};
  std::vector<std::unique_ptr<Probe>> probes;
  for (std::size_t i = 0; i < deadlines.size(); ++i) {
    probes.push_back(std::make_unique<Probe>(log, static_cast<int>(i)));
    w.link(probes.back()->entry, deadlines[i]);
  }
  EXPECT_EQ(w.advance(12345 + 2 * kDay), deadlines.size());
  ASSERT_EQ(log.fired.size(), deadlines.size());
  for (std::size_t i = 0; i < log.fired.size(); ++i) {
    EXPECT_EQ(log.fired[i].second, deadlines[static_cast<std::size_t>(log.fired[i].first)]);
    if (i > 0) {
      EXPECT_LE(log.fired[i - 1].second, log.fired[i].second);
    }
  }
}

TEST(TimerWheel, ALimitFiresTheEarliestAndLeavesTheRestDue) {
  Log log;
  TimerWheel w(1'000);
  log.wheel = &w;
  // Across a 64 ms block and a level boundary, two sharing a deadline.
  const std::array<Millis, 7> deadlines = {1'070, 1'001, 1'001, 5'000, 1'063, 1'200, 9'999};
  std::vector<std::unique_ptr<Probe>> probes;
  for (std::size_t i = 0; i < deadlines.size(); ++i) {
    probes.push_back(std::make_unique<Probe>(log, static_cast<int>(i)));
    w.link(probes.back()->entry, deadlines[i]);
  }
  w.link(probes.back()->entry, 20'000);  // the last one is not due at 6,000
  EXPECT_EQ(w.advance(6'000, 2), 2U);
  EXPECT_EQ(ids(log), (std::vector<int>{1, 2}));
  EXPECT_EQ(w.nextWakeup(), w.now()) << "what the limit left is due now";
  EXPECT_LT(w.now(), 6'000);
  w.validate();
  EXPECT_EQ(w.advance(6'000, 3), 3U);
  EXPECT_EQ(w.nextWakeup(), w.now());
  EXPECT_EQ(w.advance(6'000, 3), 1U) << "the rest, and the limit not reached";
  EXPECT_EQ(w.now(), 6'000);
  EXPECT_GT(w.nextWakeup(), 6'000) << "only the entry not due is left";
  EXPECT_LE(w.nextWakeup(), 20'000);
  ASSERT_EQ(log.fired.size(), 6U);
  for (std::size_t i = 0; i < log.fired.size(); ++i) {
    EXPECT_EQ(log.fired[i].second, deadlines[static_cast<std::size_t>(log.fired[i].first)])
        << "each callback sees its own deadline as now()";
    if (i > 0) {
      EXPECT_LE(log.fired[i - 1].second, log.fired[i].second);
    }
  }
  EXPECT_EQ(w.advance(6'000, 0), 0U) << "a limit of 0 fires nothing";
  EXPECT_EQ(w.size(), 1U);
  w.validate();
  w.unlink(probes.back()->entry);
}

TEST(TimerWheel, EntriesLinkedAsDueDuringALimitedAdvanceFireAfterTheOlderOnes) {
  Log log;
  TimerWheel w(100);
  log.wheel = &w;
  Probe a(log, 1), b(log, 2), c(log, 3), late(log, 4);
  w.link(a.entry, 100);
  w.link(b.entry, 100);
  w.link(c.entry, 100);
  // a re-links `late` for now: it goes behind b and c, which the limit held back.
  a.arg = &late;
  a.hook = [](Probe& self) {
    self.log->wheel->link(static_cast<Probe*>(self.arg)->entry, self.log->wheel->now());
  };
  EXPECT_EQ(w.advance(100, 1), 1U);
  EXPECT_EQ(ids(log), (std::vector<int>{1})) << "late waits for the next advance";
  EXPECT_EQ(w.advance(100, 10), 3U);
  EXPECT_EQ(ids(log), (std::vector<int>{1, 2, 3, 4})) << "what the limit held back goes first";
  EXPECT_TRUE(w.empty());
}

TEST(TimerWheel, ClampsDeadlinesBeyondRange) {
  Log log;
  TimerWheel w(3);
  log.wheel = &w;
  Probe p(log, 1), q(log, 2);
  w.link(p.entry, Millis{1} << 50);
  w.link(q.entry, kNever);
  EXPECT_EQ(p.entry.deadline(), 3 + kRange - 1);
  EXPECT_EQ(q.entry.deadline(), 3 + kRange - 1);
  w.validate();
  EXPECT_EQ(w.advance(3 + kRange - 2), 0U);
  EXPECT_EQ(w.advance(3 + kRange - 1), 2U);
}

TEST(TimerWheel, DestructorDetachesLinkedEntries) {
  Log log;
  Probe p(log, 1), q(log, 2);  // outlive the wheel
  {
    TimerWheel w(0);
    log.wheel = &w;
    w.link(p.entry, 100);
    w.link(q.entry, 0);
  }
  EXPECT_FALSE(p.entry.linked());
  EXPECT_FALSE(q.entry.linked());
}

#ifndef NDEBUG
TEST(TimerWheelDeathTest, DestroyingALinkedEntryAsserts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        TimerWheel w(0);
        auto e = std::make_unique<TimerEntry>(+[](TimerEntry&) {});
        w.link(*e, 10);
        e.reset();
      },
      "linked");
}
#endif

// --- Callbacks -------------------------------------------------------------------------------

TEST(TimerWheel, PeriodicTimerRelinksItself) {
  Log log;
  TimerWheel w(1'000'003);
  log.wheel = &w;
  Probe p(log, 1);
  p.hook = [](Probe& self) { self.log->wheel->link(self.entry, self.log->wheel->now() + 10); };
  w.link(p.entry, 1'000'013);
  for (Millis t = 1'000'013; t < 1'000'013 + 200; t += 10) {
    EXPECT_EQ(w.advance(t - 1), 0U);
    EXPECT_EQ(w.advance(t), 1U) << "once per step";
  }
  log.fired.clear();
  // A step longer than the period fires it once per period, each at its own deadline.
  const Millis start = w.now();
  EXPECT_EQ(w.advance(start + 35), 3U);
  EXPECT_EQ(log.fired, (std::vector<std::pair<int, Millis>>{
                           {1, start + 10}, {1, start + 20}, {1, start + 30}}));
  EXPECT_TRUE(p.entry.linked());
  w.unlink(p.entry);
}

TEST(TimerWheel, TimerRelinkingItselfForNowFiresOncePerAdvance) {
  Log log;
  TimerWheel w(0);
  log.wheel = &w;
  Probe p(log, 1);
  p.hook = [](Probe& self) { self.log->wheel->link(self.entry, self.log->wheel->now()); };
  w.link(p.entry, 5);
  EXPECT_EQ(w.advance(5), 1U) << "no infinite loop";
  EXPECT_EQ(w.nextWakeup(), 5);
  EXPECT_EQ(w.advance(5), 1U);
  EXPECT_EQ(w.advance(1000), 1U);
  // A due entry fires before time moves on: its callback still sees the old now().
  EXPECT_EQ(log.fired.back().second, 5);
  EXPECT_EQ(w.advance(1000), 1U);
  EXPECT_EQ(log.fired.back().second, 1000);
  w.unlink(p.entry);
}

// Two entries due in the same tick each unlink the other: exactly one fires, whichever goes
// first (order among equal deadlines is unspecified).
void unlinkPeer(Probe& self) { self.log->wheel->unlink(static_cast<Probe*>(self.arg)->entry); }

TEST(TimerWheel, CallbackUnlinksAnotherEntryDueInTheSameTick) {
  for (const Millis start : {Millis{0}, Millis{1'000'003}, Millis{50}}) {
    Log log;
    TimerWheel w(start);
    log.wheel = &w;
    Probe a(log, 1), b(log, 2);
    a.hook = b.hook = unlinkPeer;
    a.arg = &b;
    b.arg = &a;
    // One linked from far away (cascaded down), one linked late from nearby.
    w.link(a.entry, start + 5000);
    w.advance(start + 4990);
    w.link(b.entry, start + 5000);
    EXPECT_EQ(w.advance(start + 6000), 1U);
    EXPECT_EQ(log.fired.size(), 1U);
    EXPECT_TRUE(w.empty());
    w.validate();
  }
}

TEST(TimerWheel, CallbackRelinksAnEntryThatWasAboutToFire) {
  Log log;
  TimerWheel w(0);
  log.wheel = &w;
  Probe a(log, 1), b(log, 2);
  a.hook = [](Probe& self) {
    TimerWheel& wheel = *self.log->wheel;
    wheel.validate();  // consistent from inside a callback, with b still pending
    wheel.link(static_cast<Probe*>(self.arg)->entry, wheel.now() + 100);
    wheel.validate();
  };
  a.arg = &b;
  w.link(a.entry, 10);
  w.link(b.entry, 10);
  EXPECT_EQ(w.advance(10), 1U);
  EXPECT_EQ(b.entry.deadline(), 110);
  EXPECT_EQ(w.advance(109), 0U);
  EXPECT_EQ(w.advance(110), 1U);
  EXPECT_EQ(log.fired, (std::vector<std::pair<int, Millis>>{{1, 10}, {2, 110}}));
}

TEST(TimerWheel, CallbackLinksNewEntries) {
  Log log;
  TimerWheel w(0);
  log.wheel = &w;
  Probe a(log, 1), pastEntry(log, 2), futureEntry(log, 3);
  a.hook = [](Probe& self) {
    auto* others = static_cast<std::pair<Probe*, Probe*>*>(self.arg);
    TimerWheel& wheel = *self.log->wheel;
    wheel.link(others->first->entry, wheel.now() - 50);   // past: next advance()
    wheel.link(others->second->entry, wheel.now() + 50);  // future: still in this advance()
  };
  std::pair<Probe*, Probe*> others{&pastEntry, &futureEntry};
  a.arg = &others;
  w.link(a.entry, 100);
  EXPECT_EQ(w.advance(200), 2U);
  EXPECT_EQ(log.fired, (std::vector<std::pair<int, Millis>>{{1, 100}, {3, 150}}));
  EXPECT_TRUE(pastEntry.entry.linked());
  EXPECT_EQ(pastEntry.entry.deadline(), 100);
  EXPECT_EQ(w.nextWakeup(), 200);
  EXPECT_EQ(w.advance(200), 1U);
  EXPECT_EQ(log.fired.back(), (std::pair<int, Millis>{2, 200}));
}

TEST(TimerWheel, CallbackMayDestroyOwners) {
  Log log;
  TimerWheel w(0);
  log.wheel = &w;
  auto self = std::make_unique<Probe>(log, 1);
  std::optional<Probe> other;
  other.emplace(log, 2);
  struct Ctx {
    std::unique_ptr<Probe>* self;
    std::optional<Probe>* other;
  } ctx{&self, &other};
  self->arg = &ctx;
  self->hook = [](Probe& p) {
    auto* c = static_cast<Ctx*>(p.arg);
    p.log->wheel->unlink((*c->other)->entry);  // unlink first, then destroy
    c->other->reset();
    c->self->reset();  // its own entry is already unlinked; touch nothing after this
  };
  w.link(self->entry, 10);
  w.link(other->entry, 10);
  EXPECT_EQ(w.advance(10), 1U);
  EXPECT_FALSE(self);
  EXPECT_FALSE(other.has_value());
  EXPECT_TRUE(w.empty());
  w.validate();
}

TEST(TimerWheel, EmbeddedInOwner) {
  TimerWheel w(1'000'003);
  std::array<Conn, 5> conns;
  for (std::size_t i = 0; i < conns.size(); ++i) {
    conns[i].id = static_cast<int>(i);
    conns[i].wheel = &w;
    w.link(conns[i].timer, 1'000'003 + 30'000 * static_cast<Millis>(i + 1));
  }
  w.unlink(conns[2].timer);  // e.g. the connection saw traffic
  EXPECT_EQ(w.advance(1'000'003 + 5 * 30'000), 4U);
  for (const Conn& c : conns) {
    EXPECT_EQ(c.timeouts, c.id == 2 ? 0 : 1) << c.id;
    if (c.id != 2) {
      EXPECT_EQ(c.firedAt, 1'000'003 + 30'000 * (c.id + 1));
    }
  }
}

// --- Level boundaries ------------------------------------------------------------------------

// Links one entry at `at` (> start), walks time up to it in irregular steps, and checks that it
// fires on exactly the first advance() that reaches `at`. Returns false on failure.

}  // namespace
}  // namespace tether::core
