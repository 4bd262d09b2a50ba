// Output of the heartbeat tools: one JSON object per line (--json) or a
// human line with a timestamp, both flushed per event so a test or a pipe sees
// each event as it happens. Also the RTT statistics of the final summary.
// Single-threaded (the loop thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tether/core/json.h"

namespace tether::app::heartbeat {

class EventLog {
 public:
  /// Timestamps ("t") count seconds on CLOCK_MONOTONIC from construction.
  explicit EventLog(bool json);

  /// Prints `event`. `jsonFields` is either empty or starts with a comma
  /// (`,"rtt_ms":0.081`); `human` is the text of the human-readable line.
  void emit(std::string_view event, std::string_view jsonFields, std::string_view human);
  bool json() const noexcept { return json_; }
  double elapsedSeconds() const noexcept;

 private:
  std::int64_t startUs_;
  bool json_;
};

using core::jsonString;

/// Round-trip times of one connection, in milliseconds.
class RttStats {
 public:
  void add(double ms);
  std::size_t count() const noexcept { return samples_.size(); }
  double min() const noexcept { return min_; }
  double max() const noexcept { return max_; }
  double mean() const noexcept { return samples_.empty() ? 0 : sum_ / samples_.size(); }
  /// Nearest-rank percentile (p in 0..100); 0 when empty.
  double percentile(double p) const;

 private:
  std::vector<double> samples_;
  double sum_ = 0, min_ = 0, max_ = 0;
};

}  // namespace tether::app::heartbeat
