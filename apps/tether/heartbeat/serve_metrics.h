// `tether heartbeat serve --metrics-listen`: the heartbeat figures (sessions,
// pings, pongs, RTT, closes by reason) in the Prometheus text format, served by
// an admin http::Server apart from the heartbeat port.
//
// Threading: the heartbeat loop writes the counters (single writer, relaxed
// stores); the admin server's thread reads them at scrape time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "tether/http/histogram_counters.h"
#include "tether/http/server.h"
#include "tether/liveness/heartbeat_session.h"
#include "tether/net/socket.h"

namespace tether::app::heartbeat {

inline constexpr std::size_t kSessionCloseReasons =
    static_cast<std::size_t>(liveness::SessionCloseReason::kLocal) + 1;

struct ServeCounters {
  using Counter = std::atomic<std::uint64_t>;
  Counter open{0}, accepted{0}, pingsSent{0}, pongs{0};
  std::array<Counter, kSessionCloseReasons> closes{};
  http::HistogramCounters rtt;  // microseconds
};

/// The RTT histogram's buckets (recorded in microseconds, exported in seconds).
const http::HistogramSpec& heartbeatRttSpec();

/// The exposition of `c`.
std::string serveMetricsText(const ServeCounters& c);

/// An admin server with /.tether/metrics for `c` on `at` (not yet bound).
std::unique_ptr<http::Server> metricsServer(const net::SocketAddress& at, const ServeCounters& c);

}  // namespace tether::app::heartbeat
