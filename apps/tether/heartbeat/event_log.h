// Output of the heartbeat tools: one JSON object per line (--json) or a
// human line with a timestamp, both flushed per event so a test or a pipe sees
// each event as it happens. Also the RTT statistics of the final summary.
// Single-threaded (the loop thread).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "json_line.h"

namespace tether::app::heartbeat {

class EventLog {
 public:
  /// Timestamps ("t") count seconds on the monotonic clock from construction.
  explicit EventLog(bool json, std::FILE* out = stdout);

  /// Prints `event`: with --json `{"t":1.234,"event":"pong"}` followed by the
  /// keys of `fields` (an object, e.g. `{{"rtt_ms", 0.081}}`), otherwise
  /// `human`, the text of the human-readable line.
  void emit(std::string_view event, const json::Value& fields, std::string_view human);
  bool json() const noexcept { return json_; }
  double elapsedSeconds() const noexcept;

 private:
  std::int64_t startUs_;
  bool json_;
  std::FILE* out_;
};

/// Milliseconds as the events report them: to the microsecond (`"rtt_ms":0.081`).
double eventMs(double ms);

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
