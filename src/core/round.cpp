#include "tether/core/round.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace tether::core {

double roundDecimals(double value, int decimals) {
  if (!std::isfinite(value)) return value;
  // Fixed notation of the largest double: 309 digits, a sign, a point, 17 decimals.
  char text[340];
  auto written = fmt::format_to_n(text, sizeof text, "{:.{}f}", value, std::clamp(decimals, 0, 17));
  double rounded = value;
  if (written.size <= sizeof text) std::from_chars(text, written.out, rounded);
  return rounded;
}

}  // namespace tether::core
