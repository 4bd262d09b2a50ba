#include <algorithm>

#include "tether/http/histogram_counters.h"

namespace tether::http {
namespace {

// Idle gaps: from pipelined (0 ms) through the defaults of the common hops
// (5 s Node, 15 s, 60 s nginx upstream and ALB, 75 s nginx and tether).
constexpr std::array<std::uint64_t, kMaxBuckets> kIdleMs = {
    1,    5,    10,    25,    50,    100,   250,   500,    1000,
    2000, 5000, 10000, 15000, 30000, 60000, 75000, 120000, 300000};

constexpr HistogramSpec kSpecs[] = {
    {"tether_connection_requests",
     "Requests begun on a connection, observed when it closes.",
     1,
     {1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 10000},
     12},
    {"tether_connection_duration_seconds",
     "Connection lifetime, accept to close.",
     1000,
     {10, 100, 500, 1000, 2000, 5000, 10000, 30000, 60000, 120000, 300000, 600000, 1800000,
      3600000},
     14},
    {"tether_keepalive_idle_gap_seconds",
     "Keep-alive idle gap: a response's end to the next request's first byte on the same "
     "connection.",
     1000, kIdleMs, 18},
    {"tether_keepalive_idle_closed_seconds",
     "How long an idle keep-alive connection had waited when it was closed (any reason).", 1000,
     kIdleMs, 18},
    {"tether_request_duration_seconds",
     "A request's first byte to its response queued for sending (a large body may still be "
     "going out).",
     1000,
     {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000},
     12},
    {"tether_websocket_ping_rtt_seconds",
     "WebSocket ping round trip: our ping to the pong that echoes it (millisecond clock).",
     1000,
     {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 20000},
     14},
};
static_assert(std::size(kSpecs) == static_cast<std::size_t>(Distribution::kCount));

}  // namespace

std::size_t wsCloseCodeIndex(std::uint16_t code) noexcept {
  for (std::size_t i = 0; i < kWsCountedCloseCodes.size(); ++i) {
    if (kWsCountedCloseCodes[i] == code) return i;
  }
  return kWsCountedCloseCodes.size();
}

std::string wsCloseCodeLabel(std::size_t i) {
  return i < kWsCountedCloseCodes.size() ? std::to_string(kWsCountedCloseCodes[i]) : "other";
}

const HistogramSpec& histogramSpec(Distribution d) noexcept {
  return kSpecs[static_cast<std::size_t>(d)];
}

void HistogramCounters::observe(const HistogramSpec& spec, std::uint64_t value) noexcept {
  auto end = spec.bounds.begin() + static_cast<std::ptrdiff_t>(spec.size);
  auto bucket = std::lower_bound(spec.bounds.begin(), end, value) - spec.bounds.begin();
  addRelaxed(buckets_[static_cast<std::size_t>(bucket)], 1);
  addRelaxed(count_, 1);
  addRelaxed(sum_, value);
}

void HistogramCounters::addTo(HistogramSnapshot& s) const noexcept {
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    s.buckets[i] += buckets_[i].load(std::memory_order_relaxed);
  }
  s.count += count_.load(std::memory_order_relaxed);
  s.sum += sum_.load(std::memory_order_relaxed);
}

}  // namespace tether::http
