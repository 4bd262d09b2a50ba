// The counters of one distribution (server_stats.h: HistogramSpec): a server
// worker's, or any single-threaded owner's (`tether heartbeat serve`). Single
// writer (its loop), read from any thread with relaxed loads: a scrape may see
// an observation's bucket before its sum, never a torn value.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "tether/http/server_stats.h"

namespace tether::http {

/// Adds `by` to a counter with one writer (the worker's loop): a relaxed load
/// and store, no read-modify-write, since no other thread writes it. Unsigned
/// wrap-around makes a negative delta (cast) a decrement.
inline void addRelaxed(std::atomic<std::uint64_t>& c, std::uint64_t by) noexcept {
  c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

class HistogramCounters {
 public:
  /// Loop thread only. `value` in the spec's recorded unit.
  void observe(const HistogramSpec& spec, std::uint64_t value) noexcept;
  /// Any thread: adds these counts to `s`.
  void addTo(HistogramSnapshot& s) const noexcept;

 private:
  using Counter = std::atomic<std::uint64_t>;
  std::array<Counter, kMaxBuckets + 1> buckets_{};
  Counter count_{0}, sum_{0};
};

}  // namespace tether::http
