#include "tools/bench/bench_percentiles.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace tether::tools::bench {
namespace {

// HdrHistogram's next reporting level after `level` (percent): the ticks per
// half distance double each time the remaining distance to 100 % halves.
double nextLevel(double level, int ticksPerHalfDistance) {
  double halvings = std::floor(std::log2(100.0 / (100.0 - level))) + 1;
  double ticks = ticksPerHalfDistance * std::pow(2.0, halvings);
  return level + 100.0 / ticks;
}

}  // namespace

std::vector<BenchResult::PercentilePoint> percentileDistribution(const LatencyHistogram& h,
                                                                 int ticksPerHalfDistance) {
  std::vector<BenchResult::PercentilePoint> out;
  const std::uint64_t total = h.count();
  if (total == 0) return out;
  double level = 0;
  std::uint64_t cumulative = 0;
  bool done = false;
  h.forEachBucket([&](std::size_t index, std::uint64_t count) {
    if (done) return;
    cumulative += count;
    std::uint64_t value = std::min(LatencyHistogram::upperEdge(index), h.max());
    double reached = 100.0 * double(cumulative) / double(total);
    // As HdrHistogram: the bucket holding the last sample reports one level,
    // then the run ends with 100 % (the levels only approach it).
    while (level <= reached) {
      out.push_back({value, level / 100.0, cumulative});
      level = nextLevel(level, ticksPerHalfDistance);
      if (cumulative == total) break;
    }
    done = cumulative == total;
  });
  out.push_back({h.max(), 1.0, total});
  return out;
}

std::string formatPercentileTable(const BenchResult& r) {
  std::string out = fmt::format("{:>12} {:>12} {:>12} {:>12}\n\n", "Value", "Percentile",
                                "TotalCount", "1/(1-Percentile)");
  auto ms = [](double ns) { return ns / 1e6; };
  for (const BenchResult::PercentilePoint& p : r.latencyDistribution) {
    double inverse =
        p.percentile < 1.0 ? 1.0 / (1.0 - p.percentile) : std::numeric_limits<double>::infinity();
    out += fmt::format("{:>12.3f} {:>12.6f} {:>12} {:>12.2f}\n", ms(double(p.valueNs)),
                       p.percentile, p.totalCount, inverse);
  }
  const LatencySummary& l = r.latency;
  out +=
      fmt::format("#[Mean    = {:12.3f}, StdDeviation   = {:12.3f}]\n", ms(l.mean), ms(l.stddev));
  out += fmt::format("#[Max     = {:12.3f}, Total count    = {:12}]\n", ms(double(l.max)), l.count);
  out += fmt::format("#[Buckets = {:12}, SubBuckets     = {:12}]\n",
                     LatencyHistogram::kBuckets / LatencyHistogram::kSubBuckets,
                     LatencyHistogram::kSubBuckets);
  return out;
}

}  // namespace tether::tools::bench
