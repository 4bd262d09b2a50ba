// Shared fixtures for the TimerWheel tests (test-only header).
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include "tether/core/timer_wheel.h"

namespace tether::core::wheel_testing {

inline constexpr Millis kNever = TimerWheel::kNever;
inline constexpr Millis kRange = TimerWheel::kRange;
inline constexpr Millis kDay = 24 * 60 * 60 * 1000;
inline constexpr Millis kYear = 365 * kDay;

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

inline std::vector<int> ids(const Log& log) {
  std::vector<int> out;
  for (const auto& f : log.fired) out.push_back(f.first);
  return out;
}

}  // namespace tether::core::wheel_testing
