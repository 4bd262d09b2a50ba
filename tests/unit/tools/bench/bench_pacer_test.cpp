#include "tools/bench/bench_pacer.h"

#include <gtest/gtest.h>

namespace tether::tools::bench {
namespace {

TEST(BenchPacer, IntendedTimesFollowTheRateNotTheResponses) {
  RatePacer p(1'000'000'000, 1000.0);  // one request per ms
  EXPECT_TRUE(p.due(1'000'000'000));
  EXPECT_EQ(p.take(), 1'000'000'000u);
  EXPECT_FALSE(p.due(1'000'500'000));
  EXPECT_EQ(p.nextNs(), 1'001'000'000u);
  // A 10 ms stall: the backlog keeps its intended times (coordinated omission
  // would restart the schedule at the stall's end).
  std::uint64_t now = 1'011'000'000;
  int issued = 0;
  while (p.due(now)) {
    EXPECT_EQ(p.take(), 1'000'000'000u + std::uint64_t(issued + 1) * 1'000'000u);
    ++issued;
  }
  EXPECT_EQ(issued, 11);
  EXPECT_EQ(p.issued(), 12u);
}

TEST(BenchPacer, FractionalIntervalsDoNotDrift) {
  RatePacer p(0, 3.0);  // 333.33 ms
  for (int i = 0; i < 3000; ++i) p.take();
  EXPECT_NEAR(double(p.nextNs()), 1000.0 * 1e9, 1.0);
}

}  // namespace
}  // namespace tether::tools::bench
