// A writer of the Prometheus text exposition format (version 0.0.4): families
// (HELP, TYPE, then their samples, one block per name as the format requires),
// counters and gauges with at most one label, histograms from a HistogramSpec.
// Used by the server's /.tether/metrics and by `tether heartbeat serve`.
// Not thread-safe: one writer per rendering.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tether/http/server_stats.h"

namespace tether::http {

class PrometheusText {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::uint64_t value);
  void sample(std::string_view name, std::string_view label, std::string_view labelValue,
              std::uint64_t value);
  /// A histogram family: cumulative buckets with `le` in the exported unit
  /// (spec.perUnit), then _sum and _count.
  void histogram(const HistogramSpec& spec, const HistogramSnapshot& h);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace tether::http
