// Per-thread counters of `tether bench`, merged into BenchResult at the end.
// Single writer (the worker thread); read by others only after it joined, except
// the two progress atomics.
#pragma once

#include <atomic>
#include <cstdint>

#include "tether/tools/bench.h"
#include "tools/bench/bench_histogram.h"
#include "tools/bench/bench_timeline.h"
#include "tools/bench/bench_timewait.h"

namespace tether::tools::bench {

struct ThreadStats {
  std::uint64_t requests = 0;
  std::uint64_t bytesRead = 0;
  std::uint64_t bytesWritten = 0;
  std::array<std::uint64_t, 6> statusClasses{};
  ErrorCounts errors;
  std::uint64_t connectionsOpened = 0;
  std::uint64_t connectionsUsed = 0;
  std::uint64_t reusedRequests = 0;
  LatencyHistogram latency;
  std::uint64_t tlsFull = 0;
  std::uint64_t tlsResumed = 0;
  const char* tlsVersion = "";
  LatencyHistogram tlsHandshake;  // ns
  Timeline timeline;
  PortSet ownPorts;  // local ports of this thread's connections (TIME_WAIT attribution)

  void mergeInto(BenchResult& r) const noexcept;
};

/// Percentiles of a histogram (ns).
LatencySummary summarize(const LatencyHistogram& h) noexcept;

/// Published for the progress line: relaxed stores by the worker, relaxed loads
/// by the main thread once a second.
struct ProgressCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> errors{0};
};

}  // namespace tether::tools::bench
