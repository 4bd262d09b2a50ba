#include "keepalive_advice.h"

#include <cmath>

namespace tether::http {
namespace {

double percent(std::uint64_t part, std::uint64_t whole) {
  return std::round(1000.0 * static_cast<double>(part) / static_cast<double>(whole)) / 10.0;
}

// Observations in the buckets whose upper bound is at most `limitMs` (the
// candidates are bucket bounds, so no bucket straddles them).
std::uint64_t coveredBy(const HistogramSpec& spec, const HistogramSnapshot& h,
                        core::Millis limitMs) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < spec.size; ++i) {
    if (static_cast<core::Millis>(spec.bounds[i]) > limitMs) break;
    n += h.buckets[i];
  }
  return n;
}

}  // namespace

KeepaliveAdvice adviseKeepalive(const HistogramSnapshot& gaps, core::Millis currentTimeout) {
  const HistogramSpec& spec = histogramSpec(Distribution::kIdleGapSeconds);
  KeepaliveAdvice a;
  a.reuses = gaps.count;
  if (gaps.count == 0) return a;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < spec.size; ++i) {
    cumulative += gaps.buckets[i];
    if (cumulative * 100 >= gaps.count * 99) {
      a.timeoutFor99 = static_cast<core::Millis>(spec.bounds[i]);
      a.keptAt99 = percent(cumulative, gaps.count);
      break;
    }
  }
  for (core::Millis t : {1'000, 5'000, 15'000, 30'000, 60'000}) {
    if (t >= currentTimeout) break;
    a.shorter.push_back({t, percent(coveredBy(spec, gaps, t), gaps.count)});
  }
  return a;
}

}  // namespace tether::http
