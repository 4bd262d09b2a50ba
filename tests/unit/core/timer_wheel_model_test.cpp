// TimerWheel against boundaries, exhaustive small offsets and a randomized reference model.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tether/core/timer_wheel.h"
#include "timer_wheel_fixtures.h"

namespace tether::core {
namespace {

using namespace tether::core::wheel_testing;

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

// A wheel advanced with limits, call after call until one fires fewer than its limit, must fire
// what one unlimited advance() fires: the same entries at the same now(), in deadline order.
// One-shot entries and periodic ones (period >= 1: a period of 0 re-links for "now", which
// waits for the next advance() by contract, so a repeated call would differ by design).
class LimitedTwin {
 public:
  explicit LimitedTwin(std::uint64_t seed) : rng_(seed), whole_(0), sliced_(0) {
    wholeLog_.wheel = &whole_;
    slicedLog_.wheel = &sliced_;
    for (int id = 0; id < kEntries; ++id) {
      whole_probes_.push_back(std::make_unique<Probe>(wholeLog_, id));
      sliced_probes_.push_back(std::make_unique<Probe>(slicedLog_, id));
      for (auto* p : {whole_probes_.back().get(), sliced_probes_.back().get()}) {
        p->arg = &periods_[static_cast<std::size_t>(id)];
        p->hook = [](Probe& self) {
          const Millis period = *static_cast<Millis*>(self.arg);
          if (period > 0) self.log->wheel->link(self.entry, self.log->wheel->now() + period);
        };
      }
    }
  }
  ~LimitedTwin() {
    for (auto& p : whole_probes_) whole_.unlink(p->entry);
    for (auto& p : sliced_probes_) sliced_.unlink(p->entry);
  }

  void step() {
    const auto id = static_cast<std::size_t>(pick(kEntries));
    const int op = pick(100);
    if (op < 50) {
      // Periodic entries stop after a while: unlinked by the ops below.
      periods_[id] = pick(5) == 0 ? 1 + pick(300) : 0;
      const Millis at = whole_.now() + pick(3000) - 200;
      whole_.link(whole_probes_[id]->entry, at);
      sliced_.link(sliced_probes_[id]->entry, at);
    } else if (op < 65) {
      whole_.unlink(whole_probes_[id]->entry);
      sliced_.unlink(sliced_probes_[id]->entry);
    } else {
      advance(whole_.now() + pick(op < 90 ? 200 : 4000));
    }
  }

  void advance(Millis to) {
    wholeLog_.fired.clear();
    slicedLog_.fired.clear();
    const std::size_t fired = whole_.advance(to);
    std::size_t total = 0;
    for (;;) {
      const auto limit = static_cast<std::size_t>(1 + pick(4));
      const std::size_t some = sliced_.advance(to, limit);
      ASSERT_LE(some, limit);
      total += some;
      if (some < limit) break;
      ASSERT_EQ(sliced_.nextWakeup(), sliced_.now()) << "at its limit, the rest is due now";
    }
    ASSERT_EQ(total, fired);
    ASSERT_EQ(sliced_.now(), to);
    ASSERT_EQ(sliced_.size(), whole_.size());
    ASSERT_EQ(sliced_.nextWakeup(), whole_.nextWakeup());
    auto byTime = [](const auto& a, const auto& b) { return a.second < b.second; };
    ASSERT_TRUE(std::is_sorted(slicedLog_.fired.begin(), slicedLog_.fired.end(), byTime));
    auto sorted = [](std::vector<std::pair<int, Millis>> v) {
      std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
        return std::tie(a.second, a.first) < std::tie(b.second, b.first);
      });
      return v;
    };
    ASSERT_EQ(sorted(slicedLog_.fired), sorted(wholeLog_.fired));
  }

  TimerWheel& sliced() { return sliced_; }

 private:
  static constexpr int kEntries = 48;
  int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }

  std::mt19937_64 rng_;
  TimerWheel whole_, sliced_;
  Log wholeLog_, slicedLog_;
  std::array<Millis, kEntries> periods_{};
  std::vector<std::unique_ptr<Probe>> whole_probes_, sliced_probes_;
};

TEST(TimerWheel, LimitedAdvancesFireWhatOneAdvanceFires) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    LimitedTwin twin(seed);
    for (int i = 0; i < 3000; ++i) {
      twin.step();
      if (testing::Test::HasFatalFailure()) return;
      if (i % 16 == 0) twin.sliced().validate();
    }
  }
}

}  // namespace
}  // namespace tether::core
