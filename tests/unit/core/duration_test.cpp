#include "tether/core/duration.h"

#include <gtest/gtest.h>

namespace tether::core {
namespace {

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parseDuration("0"), 0);
  EXPECT_EQ(parseDuration("75"), 75'000);  // bare number: seconds, as nginx
  EXPECT_EQ(parseDuration("1500ms"), 1500);
  EXPECT_EQ(parseDuration("30s"), 30'000);
  EXPECT_EQ(parseDuration("5m"), 300'000);
  EXPECT_EQ(parseDuration("1h"), 3'600'000);
  EXPECT_EQ(parseDuration("2d"), 172'800'000);
  EXPECT_EQ(parseDuration("1m30s"), 90'000);
  EXPECT_EQ(parseDuration("1s500ms"), 1500);
}

TEST(Duration, ParsesDecimalFractionsInWholeMilliseconds) {
  EXPECT_EQ(parseDuration("1.5s"), 1500);
  EXPECT_EQ(parseDuration("0.25"), 250);  // bare: seconds
  EXPECT_EQ(parseDuration("1.5m"), 90'000);
  EXPECT_EQ(parseDuration("0.001s"), 1);
  EXPECT_EQ(parseDuration("2.0ms"), 2);
  EXPECT_EQ(parseDuration("1m0.5s"), 60'500);
  EXPECT_EQ(parseDuration("0.000001h"), std::nullopt);  // 3.6 ms
  for (const char* bad : {"0.5ms", "1.0001s", "1.", ".5s", "1..5s", "1.5.s", "0.0000000001h"}) {
    EXPECT_FALSE(parseDuration(bad).has_value()) << bad;
  }
}

TEST(Duration, RejectsMalformed) {
  for (const char* bad : {"", "abc", "-1", "1x", "s", "1,5s", " 1s", "1s ", "1m30", "ms"}) {
    EXPECT_FALSE(parseDuration(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parseDuration("99999999999999999999s").has_value());
}

TEST(Duration, FormatsCompactly) {
  EXPECT_EQ(formatDuration(0), "0s");
  EXPECT_EQ(formatDuration(1500), "1500ms");
  EXPECT_EQ(formatDuration(75'000), "75s");
  EXPECT_EQ(formatDuration(120'000), "2m");
  EXPECT_EQ(formatDuration(3'600'000), "1h");
}

TEST(Size, ParsesSuffixes) {
  EXPECT_EQ(parseSize("512"), 512u);
  EXPECT_EQ(parseSize("16k"), 16u * 1024);
  EXPECT_EQ(parseSize("16K"), 16u * 1024);
  EXPECT_EQ(parseSize("1m"), 1024u * 1024);
  EXPECT_EQ(parseSize("2g"), 2ull << 30);
  for (const char* bad : {"", "k", "1kb", "-1", "1.5m", "1t"}) {
    EXPECT_FALSE(parseSize(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace tether::core
