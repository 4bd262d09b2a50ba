#include "tools/bench/bench_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace tether::tools::bench {
namespace {

TEST(BenchHistogram, SmallValuesAreExact) {
  for (std::uint64_t v = 0; v < 2 * LatencyHistogram::kSubBuckets; ++v) {
    EXPECT_EQ(LatencyHistogram::upperEdge(LatencyHistogram::indexOf(v)), v);
  }
}

TEST(BenchHistogram, BucketsAreContiguousAndWithinOnePercent) {
  // Walk bucket edges: every index is reachable, edges increase, and a value
  // maps to a bucket whose upper edge is >= it and less than 1 % above it.
  std::uint64_t prevEdge = 0;
  for (std::size_t i = 1; i < LatencyHistogram::kBuckets; ++i) {
    std::uint64_t edge = LatencyHistogram::upperEdge(i);
    ASSERT_GT(edge, prevEdge) << i;
    ASSERT_EQ(LatencyHistogram::indexOf(prevEdge + 1), i) << i;
    ASSERT_EQ(LatencyHistogram::indexOf(edge), i) << i;
    std::uint64_t low = prevEdge + 1;
    ASSERT_LE(double(edge - low), double(low) / 128.0 + 1e-9) << i;
    prevEdge = edge;
  }
  EXPECT_EQ(prevEdge, LatencyHistogram::kMaxValue);
  EXPECT_EQ(LatencyHistogram::indexOf(UINT64_MAX), LatencyHistogram::kBuckets - 1);
}

TEST(BenchHistogram, PercentilesMatchSortedSamples) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(12.0, 1.5);  // ~160 us median, long tail
  LatencyHistogram h;
  std::vector<std::uint64_t> samples;
  for (int i = 0; i < 100'000; ++i) {
    auto v = static_cast<std::uint64_t>(dist(rng));
    samples.push_back(v);
    h.record(v);
  }
  std::sort(samples.begin(), samples.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    auto rank = static_cast<std::size_t>(std::ceil(p / 100 * double(samples.size())));
    std::uint64_t exact = samples[rank - 1];
    std::uint64_t got = h.percentile(p);
    EXPECT_GE(got, exact) << p;
    EXPECT_LE(double(got), double(exact) * 1.008 + 1) << p;
  }
  EXPECT_EQ(h.max(), samples.back());
  EXPECT_EQ(h.min(), samples.front());
  EXPECT_EQ(h.percentile(100), samples.back());
  EXPECT_EQ(h.count(), samples.size());
}

TEST(BenchHistogram, MergeEqualsRecordingEverything) {
  LatencyHistogram a, b, all;
  for (std::uint64_t v = 1; v < 50'000; v += 7) {
    (v % 2 ? a : b).record(v * 13);
    all.record(v * 13);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double p : {1.0, 50.0, 99.0, 99.99}) EXPECT_EQ(a.percentile(p), all.percentile(p));
}

TEST(BenchHistogram, EmptyAndHugeValues) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.max(), 0u);
  h.record(UINT64_MAX / 2);  // beyond the range: last bucket, exact max
  EXPECT_EQ(h.max(), UINT64_MAX / 2);
  EXPECT_EQ(h.percentile(50), UINT64_MAX / 2);  // capped by max (the bucket edge is smaller)
}

}  // namespace
}  // namespace tether::tools::bench
