#include "tether/core/time.h"

#include <ctime>

namespace tether::core {

Nanos MonotonicClock::nanos() const noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return Nanos{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Clock& monotonicClock() noexcept {
  static MonotonicClock clock;  // stateless: safe to share between threads
  return clock;
}

}  // namespace tether::core
