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

// The intended embedding pattern: the owner holds a Timer naming its own method.
struct Conn {
  int id = 0;
  int timeouts = 0;
  Millis firedAt = -1;
  TimerWheel* wheel = nullptr;
  void onTimer() {
    ++timeouts;
    firedAt = wheel->now();
  }
  Timer<Conn, &Conn::onTimer> timer{this};
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
  void onFire() {
    EXPECT_FALSE(entry.linked()) << "entries are unlinked before their callback";
    log->fired.emplace_back(id, log->wheel->now());
    if (hook != nullptr) hook(*this);
  }
  Timer<Probe, &Probe::onFire> entry{this};
};

inline std::vector<int> ids(const Log& log) {
  std::vector<int> out;
  for (const auto& f : log.fired) out.push_back(f.first);
  return out;
}

}  // namespace tether::core::wheel_testing
