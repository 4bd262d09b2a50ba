#include "tools/bench/bench_percentiles.h"

#include <gtest/gtest.h>

#include <string>

#include "tools/bench/bench_html.h"
#include "tools/bench/bench_stats.h"
#include "tools/bench/bench_timeline.h"

namespace tether::tools::bench {
namespace {

// 1..100 ns: exact buckets (below 2 * kSubBuckets), so every step is known.
LatencyHistogram oneToHundred() {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  return h;
}

TEST(BenchPercentiles, HdrHistogramSteps) {
  auto points = percentileDistribution(oneToHundred());
  ASSERT_GE(points.size(), 10u);
  // 0 %, then 10 % steps to 50 %, 5 % steps to 75 %, 2.5 % steps to 87.5 % ...
  EXPECT_EQ(points[0].valueNs, 1u);
  EXPECT_DOUBLE_EQ(points[0].percentile, 0.0);
  EXPECT_EQ(points[0].totalCount, 1u);
  EXPECT_DOUBLE_EQ(points[1].percentile, 0.1);
  EXPECT_EQ(points[1].valueNs, 10u);
  EXPECT_EQ(points[5].valueNs, 50u);
  EXPECT_DOUBLE_EQ(points[5].percentile, 0.5);
  EXPECT_DOUBLE_EQ(points[6].percentile, 0.55);
  EXPECT_DOUBLE_EQ(points[11].percentile, 0.775);
  EXPECT_EQ(points[11].valueNs, 78u);  // the first value with >= 77.5 % at or below it
  EXPECT_EQ(points[11].totalCount, 78u);
  EXPECT_EQ(points.back().valueNs, 100u);
  EXPECT_DOUBLE_EQ(points.back().percentile, 1.0);
  EXPECT_EQ(points.back().totalCount, 100u);
  for (std::size_t i = 1; i < points.size(); ++i) {
    EXPECT_GE(points[i].valueNs, points[i - 1].valueNs);
    EXPECT_GT(points[i].percentile, points[i - 1].percentile);
  }
}

TEST(BenchPercentiles, EmptyHistogramHasNoSteps) {
  EXPECT_TRUE(percentileDistribution(LatencyHistogram{}).empty());
}

TEST(BenchPercentiles, TableInWrk2Format) {
  BenchResult r;
  LatencyHistogram h;
  h.record(2'000'000);  // 2 ms, in a bucket whose upper edge is 2.007 ms
  h.record(4'000'000);
  r.latencyDistribution = percentileDistribution(h);
  r.latency = summarize(h);
  std::string t = formatPercentileTable(r);
  EXPECT_EQ(t.substr(0, t.find('\n')), "       Value   Percentile   TotalCount 1/(1-Percentile)");
  EXPECT_NE(t.find("\n       2.007     0.000000            1         1.00\n"), std::string::npos)
      << t;
  EXPECT_NE(t.find("       4.000     1.000000            2          inf\n"), std::string::npos)
      << t;
  EXPECT_NE(t.find("#[Mean    =        3.000, StdDeviation   ="), std::string::npos) << t;
  EXPECT_NE(t.find("#[Max     =        4.000, Total count    =            2]"), std::string::npos)
      << t;
}

TEST(BenchTimeline, SecondsAddUpAcrossThreads) {
  Timeline a, b;
  a.addRequest(100);
  a.addRequest(2'500'000'000);
  a.addConnection(0);
  b.addRequest(999'999'999);
  std::vector<BenchResult::Second> out;
  a.mergeInto(out);
  b.mergeInto(out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].requests, 2u);
  EXPECT_EQ(out[0].connectionsOpened, 1u);
  EXPECT_EQ(out[1].requests, 0u);
  EXPECT_EQ(out[2].requests, 1u);
}

TEST(BenchHtml, DataIsInlineAndScriptSafe) {
  BenchConfig c;
  c.url = "http://127.0.0.1:1/</script><b>";
  BenchResult r;
  r.requests = 3;
  r.timeline = {{2, 1}, {1, 0}};
  std::string page = formatHtml(c, r);
  EXPECT_EQ(page.find(kDataMarker), std::string::npos);
  EXPECT_EQ(page.find("</script><b>"), std::string::npos);  // escaped as <\/script>
  EXPECT_NE(page.find(R"("timeline":[{"requests":2,"connections_opened":1})"), std::string::npos);
  EXPECT_EQ(page.find("src=\"http"), std::string::npos);  // nothing loaded from elsewhere
}

}  // namespace
}  // namespace tether::tools::bench
