// The server's counters in the Prometheus text exposition format (version
// 0.0.4), for `GET /.tether/metrics`. Names follow the Prometheus conventions:
// a `tether_` prefix, `_total` on counters, labels for the state and the close
// reason. Rendering reads one snapshot (Server::stats(), per-worker counters
// merged at scrape time); the request path only bumps its worker's counters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tether/http/server.h"
#include "tether/http/server_stats.h"

namespace tether::http {

/// Path of the metrics endpoint, in every mode (beside kStatusPath).
inline constexpr std::string_view kMetricsPath = "/.tether/metrics";

/// Content type of the text exposition format.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/// The exposition of `stats`; `maxConnections` is the effective limit
/// (Server::maxConnections()).
std::string prometheusText(const ServerStatsSnapshot& stats, std::uint64_t maxConnections);

/// kMetricsPath on `host` with `observed`'s numbers: GET and HEAD, never cached.
void installMetricsEndpoint(Server& host, const Server& observed);
inline void installMetricsEndpoint(Server& server) { installMetricsEndpoint(server, server); }

}  // namespace tether::http
