// The template of `tether bench --html` (src/tools/bench/report.html, compiled
// in by cmake/TetherEmbed.cmake) and the data it is filled with.
#pragma once

#include <string>
#include <string_view>

#include "tether/tools/bench.h"

namespace tether::tools::bench {

/// report.html as written; bench_html.cpp replaces kDataMarker with the data.
std::string_view reportHtmlTemplate() noexcept;
inline constexpr std::string_view kDataMarker = "/*TETHER_BENCH_DATA*/";

/// What the report draws, as JSON: the --json document plus `timeline`
/// (per second: requests, connections_opened) and `latency_distribution`
/// (value_ms, percentile, total_count at each HdrHistogram step).
std::string reportData(const BenchConfig& config, const BenchResult& result);

}  // namespace tether::tools::bench
