#include "tools/bench/bench_histogram.h"

#include <cmath>

namespace tether::tools::bench {

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  if (other.count_ != 0) {
    if (other.max_ > max_) max_ = other.max_;
    if (other.min_ < min_) min_ = other.min_;
  }
}

void LatencyHistogram::reset() noexcept { *this = LatencyHistogram(); }

std::uint64_t LatencyHistogram::upperEdge(std::size_t index) noexcept {
  // Blocks 0 and 1 hold the exact values 0 .. 2 kSubBuckets - 1; block b >= 2 holds
  // the values v with v >> (b - 1) = kSubBuckets + (index % kSubBuckets).
  std::size_t block = index >> kSubBits;
  if (block <= 1) return index;
  std::size_t shift = block - 1;
  std::uint64_t lower = (kSubBuckets + (index & (kSubBuckets - 1))) << shift;
  return lower + (std::uint64_t{1} << shift) - 1;
}

double LatencyHistogram::stddev() const noexcept {
  if (count_ == 0) return 0;
  double mu = mean(), squares = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    if (counts_[i] == 0) continue;
    std::uint64_t lower = i == 0 ? 0 : upperEdge(i - 1) + 1;
    double d = (double(lower) + double(upperEdge(i))) / 2 - mu;
    squares += d * d * double(counts_[i]);
  }
  return std::sqrt(squares / double(count_));
}

std::uint64_t LatencyHistogram::percentile(double percent) const noexcept {
  if (count_ == 0) return 0;
  if (percent >= 100) return max_;
  if (percent < 0) percent = 0;
  // The rank of the sample to report (1-based), as HdrHistogram computes it.
  auto rank = static_cast<std::uint64_t>(std::ceil(percent / 100.0 * double(count_)));
  if (rank == 0) rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      std::uint64_t edge = upperEdge(i);
      if (edge > max_) edge = max_;
      return edge < min_ ? min_ : edge;
    }
  }
  return max_;
}

}  // namespace tether::tools::bench
