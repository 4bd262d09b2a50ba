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

namespace tether::core {
namespace {

constexpr Millis kNever = TimerWheel::kNever;
constexpr Millis kRange = TimerWheel::kRange;
constexpr Millis kDay = 24 * 60 * 60 * 1000;
constexpr Millis kYear = 365 * kDay;

// The intended embedding pattern: the entry lives inside its owner, and the callback recovers
// the owner from the entry with offsetof (TimerEntry and Conn are standard-layout).
struct Conn {
  int id = 0;
  int timeouts = 0;
  Millis firedAt = -1;
  TimerWheel* wheel = nullptr;
  TimerEntry timer{&Conn::onTimer};

  static Conn& fromTimer(TimerEntry& e) {
    static_assert(std::is_standard_layout_v<Conn>);
    return *reinterpret_cast<Conn*>(reinterpret_cast<char*>(&e) - offsetof(Conn, timer));
  }
  static void onTimer(TimerEntry& e) {
    Conn& c = fromTimer(e);
    ++c.timeouts;
    c.firedAt = c.wheel->now();
  }
};

// A test timer: records every firing into a shared log and can run a hook from its callback.
struct Log {
  TimerWheel* wheel = nullptr;
  std::vector<std::pair<int, Millis>> fired;  // (probe id, wheel.now() inside the callback)
};

struct Probe {
  Probe(Log& l, int i) : log(&l), id(i) {}
  Log* log;
  int id;
  void (*hook)(Probe& self) = nullptr;
  void* arg = nullptr;  // for hooks
  TimerEntry entry{&Probe::onFire};

  static Probe& fromEntry(TimerEntry& e) {
    static_assert(std::is_standard_layout_v<Probe>);
    return *reinterpret_cast<Probe*>(reinterpret_cast<char*>(&e) - offsetof(Probe, entry));
  }
  static void onFire(TimerEntry& e) {
    Probe& p = fromEntry(e);
    EXPECT_FALSE(e.linked()) << "entries are unlinked before their callback";
    p.log->fired.emplace_back(p.id, p.log->wheel->now());
    if (p.hook != nullptr) p.hook(p);
  }
};

std::vector<int> ids(const Log& log) {
  std::vector<int> out;
  for (const auto& f : log.fired) out.push_back(f.first);
  return out;
}

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
  EXPECT_EQ(&Conn::fromTimer(conns[3].timer), &conns[3]);
}

// --- Level boundaries ------------------------------------------------------------------------

// Links one entry at `at` (> start), walks time up to it in irregular steps, and checks that it
// fires on exactly the first advance() that reaches `at`. Returns false on failure.
bool firesExactlyOnce(Millis start, Millis at, const std::vector<Millis>& steps) {
  Log log;
  TimerWheel w(start);
  log.wheel = &w;
  Probe p(log, 1);
  w.link(p.entry, at);
  if (w.nextWakeup() > at) return false;
  Millis t = start;
  for (std::size_t i = 0; t < at; ++i) {
    t = std::min(t + steps[i % steps.size()], at + 3);
    const std::size_t fired = w.advance(t);
    if (fired != (t >= at ? 1U : 0U) || log.fired.size() != fired) return false;
    if (fired == 1 && log.fired[0].second != at) return false;
    if (fired == 0 && w.nextWakeup() > at) return false;
  }
  w.validate();
  return w.empty();
}

TEST(TimerWheel, CascadesAcrossLevelBoundaries) {
  // Aligned and odd starts, next to a 2^36 boundary, next to epoch (top-level) boundaries, and
  // negative times.
  const std::vector<Millis> starts = {
      0, 1, 1'000'003, (Millis{1} << 36) - 7, kRange - 5, 3 * kRange - 12'345, -5, -kRange - 777};
  // Level boundaries (64^k) and their neighbours, then long real-world durations.
  std::vector<Millis> offsets = {kDay, kDay + 1, 30 * kDay, kYear, 10 * kYear, kRange - 1};
  for (const int bit : {6, 12, 18, 36, 41}) {
    for (const Millis delta : {-1, 0, 1}) offsets.push_back((Millis{1} << bit) + delta);
  }
  for (const Millis s : starts) {
    for (const Millis d : offsets) {
      // Absolute deadlines (aligned to boundaries) and relative ones (unaligned).
      for (const Millis at : {s + d, (s & ~Millis{63}) + d}) {
        if (at <= s || at - s >= kRange) continue;
        const Millis span = at - s;
        EXPECT_TRUE(firesExactlyOnce(s, at, {1, span / 3 + 1, span / 7 + 5, span}))
            << "start " << s << " deadline " << at;
        EXPECT_TRUE(firesExactlyOnce(s, at, {span}));
        EXPECT_TRUE(firesExactlyOnce(s, at, {span - 1, 1}));
      }
    }
  }
}

TEST(TimerWheel, ManyEntriesAcrossBoundaries) {
  Log log;
  const Millis start = 1'000'003;
  TimerWheel w(start);
  log.wheel = &w;
  const std::vector<Millis> offsets = {63,      64,   65,       4095,  4096,      4097, 262'143,
                                       262'144, kDay, 7 * kDay, kYear, 5 * kYear, 1};
  std::vector<std::unique_ptr<Probe>> probes;
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    probes.push_back(std::make_unique<Probe>(log, static_cast<int>(i)));
    w.link(probes.back()->entry, start + offsets[i]);
  }
  EXPECT_EQ(w.advance(start + 10 * kYear), offsets.size());
  for (std::size_t i = 0; i < log.fired.size(); ++i) {
    EXPECT_EQ(log.fired[i].second, start + offsets[static_cast<std::size_t>(log.fired[i].first)]);
    if (i > 0) {
      EXPECT_LE(log.fired[i - 1].second, log.fired[i].second);
    }
  }
}

TEST(TimerWheel, NearTheEndOfTime) {
  Log log;
  TimerWheel w(kNever - 100);
  log.wheel = &w;
  Probe p(log, 1), q(log, 2);
  w.link(p.entry, kNever);  // kNever - 100 + kRange - 1 would overflow: clamped to kNever
  w.link(q.entry, kNever - 1);
  EXPECT_EQ(p.entry.deadline(), kNever);
  w.validate();
  EXPECT_EQ(w.advance(kNever - 2), 0U);
  EXPECT_EQ(w.advance(kNever), 2U);
  EXPECT_EQ(ids(log), (std::vector<int>{2, 1}));
}

// Every start offset in [0, 130) against every delta in [1, 4200], i.e. across the first two
// level boundaries. The wheel is reused: moving an empty wheel to base + s, with base a multiple
// of 2^20, reproduces the low-bit pattern of a fresh wheel at s (s + d < 2^20, so no carries).
TEST(TimerWheel, ExhaustiveSmallOffsets) {
  constexpr Millis kBlock = Millis{1} << 20;
  const std::array<Millis, 8> steps = {1, 5, 64, 33, 400, 2, 1500, 129};
  Log log;
  Probe p(log, 1);
  Millis base = 0;
  for (Millis s = 0; s < 130; ++s) {
    TimerWheel w(s);
    log.wheel = &w;
    for (Millis d = 1; d <= 4200; ++d, base += kBlock) {
      w.advance(base + s);
      const Millis at = base + s + d;
      w.link(p.entry, at);
      std::size_t step = static_cast<std::size_t>(s + d) % steps.size();
      for (Millis t = base + s;;) {
        t += steps[step++ % steps.size()];
        const std::size_t fired = w.advance(t);
        if (fired != (t >= at ? 1U : 0U) || log.fired.size() != fired ||
            (fired == 1 && log.fired[0].second != at)) {
          FAIL() << "s=" << s << " d=" << d << " t=" << t - base << " fired=" << fired;
        }
        if (fired == 1) break;
      }
      log.fired.clear();
    }
    w.validate();
  }
}

// The same deltas, driven the way an event loop does it: sleep until nextWakeup(). Starts cover
// one turn of level 0 (every position of now() within its 64 ms block).
TEST(TimerWheel, ExhaustiveNextWakeup) {
  constexpr Millis kBlock = Millis{1} << 20;
  Log log;
  Probe p(log, 1);
  Millis base = 0;
  for (Millis s = 0; s < 64; ++s) {
    TimerWheel w(s);
    log.wheel = &w;
    for (Millis d = 1; d <= 4200; ++d, base += kBlock) {
      w.advance(base + s);
      const Millis at = base + s + d;
      w.link(p.entry, at);
      if ((at >> 6) == ((base + s) >> 6) && w.nextWakeup() != at) {
        FAIL() << "not exact in the current block: s=" << s << " d=" << d;
      }
      int wakeups = 0;
      while (log.fired.empty() && ++wakeups <= TimerWheel::kLevels) {
        const Millis next = w.nextWakeup();
        if (next > at || w.advance(next) != (next == at ? 1U : 0U)) {
          FAIL() << "s=" << s << " d=" << d << " next=" << next - base;
        }
      }
      if (log.fired.size() != 1 || log.fired[0].second != at) FAIL() << "s=" << s << " d=" << d;
      log.fired.clear();
    }
  }
}

// --- Randomized against a reference model ------------------------------------------------------

// Reference: a multimap of deadlines. Entries with a period re-link themselves period ms after
// each firing (period 0: "now", which fires on the next advance()), a few times each so that
// huge advances stay cheap.
class RandomizedHarness {
 public:
  static constexpr int kEntries = 48;

  RandomizedHarness(std::uint64_t seed, Millis start)
      : rng_(seed), wheel_(start), modelNow_(start) {
    log_.wheel = &wheel_;
    for (int i = 0; i < kEntries; ++i) {
      probes_.push_back(std::make_unique<Probe>(log_, i));
      probes_.back()->arg = this;
      periods_.push_back(-1);
      repeats_.push_back(0);
      modelRepeats_.push_back(0);
    }
  }
  ~RandomizedHarness() {
    for (auto& p : probes_) wheel_.unlink(p->entry);
  }

  void step() {
    const int op = pick(100);
    if (op < 45) {
      link(pick(kEntries), modelNow_ + randomDelta());
    } else if (op < 60) {
      unlink(pick(kEntries));
    } else if (op < 65) {
      checkWakeup();
    } else {
      advance(modelNow_ + randomAdvance());
    }
    if (op % 8 == 0) wheel_.validate();
  }

  void advance(Millis to) {
    const std::vector<std::pair<Millis, int>> expected = modelAdvance(to);
    log_.fired.clear();
    const std::size_t fired = wheel_.advance(to);
    ASSERT_EQ(fired, expected.size());
    ASSERT_EQ(wheel_.now(), modelNow_);
    // Actual firings must be in non-decreasing time order and, as a multiset, match the model.
    std::vector<std::pair<Millis, int>> actual;
    for (const auto& [id, at] : log_.fired) actual.emplace_back(at, id);
    ASSERT_TRUE(std::is_sorted(actual.begin(), actual.end(),
                               [](const auto& a, const auto& b) { return a.first < b.first; }));
    std::sort(actual.begin(), actual.end());
    ASSERT_EQ(actual, expected);
    ASSERT_EQ(wheel_.size(), model_.size());
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }
  Millis upTo(Millis max) { return static_cast<Millis>(rng_() % static_cast<std::uint64_t>(max)); }

  // Mostly near, some far, a few past and a few beyond kRange.
  Millis randomDelta() {
    const int r = pick(100);
    if (r < 5) return -upTo(1000);
    if (r < 50) return upTo(100);
    if (r < 70) return upTo(5000);
    if (r < 85) return upTo(Millis{1} << 20);
    if (r < 93) return upTo(Millis{1} << 32);
    if (r < 99) return upTo(Millis{1} << 40);
    return upTo(Millis{1} << 44);
  }

  Millis randomAdvance() {
    const int r = pick(100);
    if (r < 15) return 0;
    if (r < 55) return upTo(100);
    if (r < 75) return upTo(5000);
    if (r < 88) return upTo(Millis{1} << 24);
    if (r < 96) return upTo(Millis{1} << 36);
    return upTo(kRange);
  }

  Millis clampDeadline(Millis at) const {
    return std::clamp(at, modelNow_, modelNow_ + kRange - 1);
  }

  void link(int id, Millis at) {
    unlink(id);
    periods_[id] = pick(4) == 0 ? (pick(3) == 0 ? 0 : 1 + upTo(3000)) : -1;
    repeats_[id] = modelRepeats_[id] = pick(6);
    probes_[id]->hook = periods_[id] >= 0 ? &RandomizedHarness::onPeriodic : nullptr;
    wheel_.link(probes_[id]->entry, at);
    const Millis expected = clampDeadline(at);
    ASSERT_EQ(probes_[id]->entry.deadline(), expected);
    model_.emplace(expected, id);
  }

  void unlink(int id) {
    wheel_.unlink(probes_[id]->entry);
    for (auto it = model_.begin(); it != model_.end(); ++it) {
      if (it->second == id) {
        model_.erase(it);
        break;
      }
    }
  }

  static void onPeriodic(Probe& p) {
    auto* self = static_cast<RandomizedHarness*>(p.arg);
    TimerWheel& w = self->wheel_;
    if (self->repeats_[p.id]-- > 0) w.link(p.entry, w.now() + self->periods_[p.id]);
  }

  // Simulates advance(to); returns the sorted (time, id) firings and updates the model.
  std::vector<std::pair<Millis, int>> modelAdvance(Millis to) {
    to = std::max(to, modelNow_);
    std::vector<std::pair<Millis, int>> fired;
    std::multimap<Millis, int> deferred;  // linked as due during this advance(): wait
    while (!model_.empty() && model_.begin()->first <= to) {
      const auto [at, id] = *model_.begin();
      model_.erase(model_.begin());
      modelNow_ = std::max(modelNow_, at);
      fired.emplace_back(modelNow_, id);
      if (periods_[id] < 0 || modelRepeats_[id]-- <= 0) continue;
      const Millis next = clampDeadline(modelNow_ + periods_[id]);
      (next <= modelNow_ ? deferred : model_).emplace(next, id);
    }
    model_.merge(deferred);
    modelNow_ = to;
    std::sort(fired.begin(), fired.end());
    return fired;
  }

  void checkWakeup() {
    const Millis wake = wheel_.nextWakeup();
    if (model_.empty()) {
      ASSERT_EQ(wake, kNever);
      return;
    }
    // Entries re-linked as due by callbacks keep their deadline but fire at the next advance().
    const Millis earliest = std::max(model_.begin()->first, modelNow_);
    ASSERT_LE(wake, earliest);
    ASSERT_GE(wake, modelNow_);
    if ((earliest >> 6) == (modelNow_ >> 6)) {
      ASSERT_EQ(wake, earliest);
    }
    if (wake > modelNow_) {
      log_.fired.clear();
      ASSERT_EQ(wheel_.advance(wake - 1), 0U);
      modelNow_ = wake - 1;
    }
  }

  std::mt19937_64 rng_;
  Log log_;
  TimerWheel wheel_;
  Millis modelNow_;
  std::multimap<Millis, int> model_;  // deadline -> probe id
  std::vector<std::unique_ptr<Probe>> probes_;
  std::vector<Millis> periods_;    // -1: one-shot
  std::vector<int> repeats_;       // re-links left, decremented by the callbacks
  std::vector<int> modelRepeats_;  // the same, decremented by modelAdvance()
};

TEST(TimerWheel, RandomizedAgainstModel) {
  const std::array<Millis, 5> starts = {0, 1'000'003, kRange - 100'000, -(Millis{1} << 43) + 5,
                                        (Millis{1} << 50) + 12'345};
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    RandomizedHarness h(seed, starts[seed % starts.size()]);
    for (int i = 0; i < 4000; ++i) {
      h.step();
      if (testing::Test::HasFatalFailure()) return;
    }
  }
}

}  // namespace
}  // namespace tether::core
