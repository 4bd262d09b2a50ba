#include "http/stats_history.h"

#include <gtest/gtest.h>

#include "json_doc.h"

namespace tether::http {
namespace {

ServerStatsSnapshot withIdle(std::uint64_t idle) {
  ServerStatsSnapshot s;
  s.idle = idle;
  s.requests = idle * 10;
  return s;
}

TEST(StatsHistory, KeepsTheNewestSamplesOldestFirst) {
  StatsHistory h(3);
  EXPECT_TRUE(h.samples().empty());
  for (std::uint64_t i = 1; i <= 5; ++i) h.record(withIdle(i), static_cast<std::int64_t>(i) * 1000);
  auto samples = h.samples();
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].idle, 3u);
  EXPECT_EQ(samples[2].idle, 5u);
  EXPECT_EQ(samples[2].unixMs, 5000);
  EXPECT_EQ(samples[2].requests, 50u);
}

TEST(StatsHistory, JsonListsSamplesWithTheirTime) {
  StatsHistory h(300);
  h.record(withIdle(2), 1'700'000'000'000);
  auto doc = jsondoc::parseJsonLine(h.json());
  EXPECT_EQ(doc["interval_ms"], 1000);
  EXPECT_EQ(doc["capacity"], 300);
  ASSERT_EQ(doc["samples"].size(), 1u);
  EXPECT_EQ(doc["samples"][0]["t"], 1'700'000'000'000);
  EXPECT_EQ(doc["samples"][0]["idle"], 2);
  EXPECT_EQ(doc["samples"][0]["requests"], 20);
  EXPECT_EQ(jsondoc::keysOf(doc["samples"][0]),
            (std::vector<std::string>{"t", "idle", "reading", "writing", "lingering", "accepted",
                                      "requests"}));
}

}  // namespace
}  // namespace tether::http
