// Per-second counts of one bench thread (BenchResult::timeline), kept by the
// thread as it counts, so the seconds add up exactly to the totals. Not
// thread-safe: one per thread, merged after the threads joined.
#pragma once

#include <cstdint>
#include <vector>

#include "tether/tools/bench.h"

namespace tether::tools::bench {

class Timeline {
 public:
  static constexpr std::uint64_t kSecondNs = 1'000'000'000;
  /// `sinceNs`: time since the measured window began.
  void addRequest(std::uint64_t sinceNs) { at(sinceNs).requests += 1; }
  void addConnection(std::uint64_t sinceNs) { at(sinceNs).connectionsOpened += 1; }
  void mergeInto(std::vector<BenchResult::Second>& out) const;

 private:
  BenchResult::Second& at(std::uint64_t sinceNs);
  std::vector<BenchResult::Second> seconds_;
};

}  // namespace tether::tools::bench
