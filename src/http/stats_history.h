// The last minutes of a server's connection counts, one sample a second, so a
// freshly opened live page (/.tether/) can draw the past instead of starting
// empty. A fixed ring: the oldest sample is overwritten.
//
// Threading: record() on the sampling loop (the observed server's first
// worker), json() from any worker serving the page; a mutex guards the ring
// (one lock a second and one per page refresh, never on the request path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "tether/http/server_stats.h"

namespace tether::http {

class StatsHistory {
 public:
  struct Sample {
    std::int64_t unixMs = 0;  // wall clock, for the page's time axis
    std::uint64_t idle = 0, reading = 0, writing = 0, lingering = 0;
    std::uint64_t accepted = 0, requests = 0;  // totals since start
  };

  explicit StatsHistory(std::size_t capacity);

  void record(const ServerStatsSnapshot& stats, std::int64_t unixMs);
  /// Oldest first.
  std::vector<Sample> samples() const;
  /// {"interval_ms":1000,"capacity":N,"samples":[{"t":unix_ms,"idle":..},..]}, oldest first.
  std::string json() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Sample> ring_;
  std::size_t next_ = 0;  // where the next sample goes
  std::size_t size_ = 0;
};

}  // namespace tether::http
