// Reading a Worker's close counters in unit tests.
#pragma once

#include <cstdint>

#include "http/worker.h"

namespace tether::http::testing {

inline std::uint64_t closeCount(const Worker& w, CloseReason r) {
  return w.stats().closes[static_cast<std::size_t>(r)].load();
}

inline std::uint64_t allCloses(const Worker& w) {
  std::uint64_t n = 0;
  for (const auto& c : w.stats().closes) n += c.load();
  return n;
}

}  // namespace tether::http::testing
