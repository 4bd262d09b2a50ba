// Latency histogram in the HDR style: log-linear buckets, fixed memory, O(1)
// record, percentile queries, exact merge.
//
// Every power-of-two range [2^k, 2^(k+1)) is split into kSubBuckets linear
// buckets, so a bucket is never wider than 1/kSubBuckets of its values (< 0.8 %
// relative error); values below 2 * kSubBuckets are exact. Values above kMaxValue
// land in the last bucket (max() stays exact). Not thread-safe: one per thread,
// merged at the end.
#pragma once

#include <array>
#include <cstdint>

namespace tether::tools::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << kSubBits;  // 128
  static constexpr int kMaxBits = 42;                                         // 2^42 ns ~ 73 min
  static constexpr std::uint64_t kMaxValue = (std::uint64_t{1} << kMaxBits) - 1;
  static constexpr std::size_t kBuckets = (kMaxBits - kSubBits + 1) * kSubBuckets;

  void record(std::uint64_t value) noexcept {
    ++counts_[indexOf(value)];
    ++count_;
    sum_ += value;
    if (value > max_) max_ = value;
    if (value < min_) min_ = value;
  }
  void merge(const LatencyHistogram& other) noexcept;
  void reset() noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return count_ ? max_ : 0; }
  std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  double mean() const noexcept { return count_ ? double(sum_) / double(count_) : 0; }

  /// The smallest bucket upper edge (capped at max()) such that at least
  /// `percent` % of the samples are <= it. 0 when empty; percent >= 100 -> max().
  std::uint64_t percentile(double percent) const noexcept;
  /// Standard deviation, each sample taken as its bucket's middle value.
  double stddev() const noexcept;
  /// Calls fn(index, count) for every non-empty bucket, smallest values first.
  template <typename Fn>
  void forEachBucket(Fn fn) const {
    for (std::size_t i = 0; i < kBuckets; ++i) {
      if (counts_[i] != 0) fn(i, counts_[i]);
    }
  }

  /// Bucket index of `value`, and the largest value of bucket `index`.
  static std::size_t indexOf(std::uint64_t value) noexcept {
    if (value > kMaxValue) value = kMaxValue;
    // msb(value | kSubBuckets) >= kSubBits, so shift >= 0 and small values map to themselves.
    int msb = 63 - __builtin_clzll(value | kSubBuckets);
    int shift = msb - kSubBits;
    return (std::size_t(shift) << kSubBits) + std::size_t(value >> shift);
  }
  static std::uint64_t upperEdge(std::size_t index) noexcept;

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = UINT64_MAX;
};

}  // namespace tether::tools::bench
