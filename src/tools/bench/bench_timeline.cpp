#include "tools/bench/bench_timeline.h"

namespace tether::tools::bench {

BenchResult::Second& Timeline::at(std::uint64_t sinceNs) {
  std::size_t second = static_cast<std::size_t>(sinceNs / kSecondNs);
  if (second >= seconds_.size()) seconds_.resize(second + 1);
  return seconds_[second];
}

void Timeline::mergeInto(std::vector<BenchResult::Second>& out) const {
  if (seconds_.size() > out.size()) out.resize(seconds_.size());
  for (std::size_t i = 0; i < seconds_.size(); ++i) {
    out[i].requests += seconds_[i].requests;
    out[i].connectionsOpened += seconds_[i].connectionsOpened;
  }
}

}  // namespace tether::tools::bench
