#include "http/keepalive_advice.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace tether::http {
namespace {

// A gap histogram with `n` observations of `ms` each.
void add(HistogramSnapshot& h, std::uint64_t ms, std::uint64_t n) {
  const HistogramSpec& spec = histogramSpec(Distribution::kIdleGapSeconds);
  auto end = spec.bounds.begin() + static_cast<std::ptrdiff_t>(spec.size);
  h.buckets[static_cast<std::size_t>(std::lower_bound(spec.bounds.begin(), end, ms) -
                                     spec.bounds.begin())] += n;
  h.count += n;
  h.sum += ms * n;
}

TEST(KeepaliveAdvice, NoGapsNoAdvice) {
  KeepaliveAdvice a = adviseKeepalive(HistogramSnapshot{}, 75'000);
  EXPECT_EQ(a.reuses, 0u);
  EXPECT_FALSE(a.timeoutFor99.has_value());
  EXPECT_TRUE(a.shorter.empty());
}

TEST(KeepaliveAdvice, TimeoutFor99AndWhatShorterTimeoutsWouldHaveKept) {
  HistogramSnapshot h;
  add(h, 200, 900);   // browsers clicking around: <= 250 ms
  add(h, 4'000, 95);  // <= 5 s
  add(h, 40'000, 5);  // <= 60 s
  KeepaliveAdvice a = adviseKeepalive(h, 75'000);
  EXPECT_EQ(a.reuses, 1000u);
  ASSERT_TRUE(a.timeoutFor99.has_value());
  EXPECT_EQ(*a.timeoutFor99, 5'000);  // 995 of 1000 by 5 s
  EXPECT_DOUBLE_EQ(a.keptAt99, 99.5);
  ASSERT_EQ(a.shorter.size(), 5u);
  EXPECT_EQ(a.shorter[0].timeout, 1'000);
  EXPECT_DOUBLE_EQ(a.shorter[0].percent, 90.0);
  EXPECT_DOUBLE_EQ(a.shorter[1].percent, 99.5);   // 5 s
  EXPECT_DOUBLE_EQ(a.shorter[3].percent, 99.5);   // 30 s
  EXPECT_DOUBLE_EQ(a.shorter[4].percent, 100.0);  // 60 s
}

TEST(KeepaliveAdvice, OnlyTimeoutsShorterThanTheCurrentOneAreOffered) {
  HistogramSnapshot h;
  add(h, 3'000, 10);
  KeepaliveAdvice a = adviseKeepalive(h, 5'000);
  ASSERT_EQ(a.shorter.size(), 1u);
  EXPECT_EQ(a.shorter[0].timeout, 1'000);
  EXPECT_DOUBLE_EQ(a.shorter[0].percent, 0.0);
  EXPECT_EQ(*a.timeoutFor99, 5'000);
  EXPECT_TRUE(adviseKeepalive(h, 0).shorter.empty());  // keep-alive off
}

}  // namespace
}  // namespace tether::http
