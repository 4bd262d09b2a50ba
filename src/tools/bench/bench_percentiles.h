// The latency distribution in HdrHistogram's percentile-table form: the steps
// its PercentileIterator reports (5 ticks per half distance: 0, 10, 20 .. 50,
// 55 .. 75, 77.5 .. %), each with the value reached there and how many
// samples lie at or below it; printed as outputPercentileDistribution does
// (wrk2's --latency table), the input of HdrHistogram's plotter. Pure.
#pragma once

#include <string>
#include <vector>

#include "tether/tools/bench.h"
#include "tools/bench/bench_histogram.h"

namespace tether::tools::bench {

inline constexpr int kTicksPerHalfDistance = 5;

/// The steps for `h`, ending with percentile 1.0 at max(). Empty when `h` is.
std::vector<BenchResult::PercentilePoint> percentileDistribution(
    const LatencyHistogram& h, int ticksPerHalfDistance = kTicksPerHalfDistance);

}  // namespace tether::tools::bench
