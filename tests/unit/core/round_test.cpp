#include "tether/core/round.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

namespace tether::core {
namespace {

double parsed(const std::string& text) {
  double v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

TEST(RoundDecimals, IsTheNumberFixedNotationPrints) {
  for (double v : {0.0, 0.08149, 0.0815, 1.5, 1.0005, 2.675, 123456.789012345, -3.14159, 1e-9,
                   9.9996, 1e300}) {
    for (int n : {0, 1, 3, 6}) {
      EXPECT_EQ(roundDecimals(v, n), parsed(fmt::format("{:.{}f}", v, n))) << v << " " << n;
    }
  }
}

TEST(RoundDecimals, RendersAsTheShortJsonNumber) {
  EXPECT_EQ(nlohmann::json(roundDecimals(0.0814999, 3)).dump(), "0.081");
  EXPECT_EQ(nlohmann::json(roundDecimals(1.5, 3)).dump(), "1.5");
  EXPECT_EQ(nlohmann::json(roundDecimals(2.0, 3)).dump(), "2.0");
  EXPECT_EQ(nlohmann::json(roundDecimals(1234.56789, 1)).dump(), "1234.6");
  EXPECT_EQ(nlohmann::json(roundDecimals(0.1 + 0.2, 6)).dump(), "0.3");
}

TEST(RoundDecimals, NonFiniteAndOutOfRangeDecimals) {
  EXPECT_TRUE(std::isnan(roundDecimals(std::numeric_limits<double>::quiet_NaN(), 3)));
  EXPECT_EQ(roundDecimals(std::numeric_limits<double>::infinity(), 3),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(roundDecimals(2.5, -1), parsed(fmt::format("{:.0f}", 2.5)));
  EXPECT_EQ(roundDecimals(0.1, 40), 0.1);
}

}  // namespace
}  // namespace tether::core
