// The built-in content of `tether serve`: the default site and the JSON status
// endpoint. Handlers are stateless and safe on every worker.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tether/http/server.h"

namespace tether::http {

/// Path of the JSON status endpoint, in every mode.
inline constexpr std::string_view kStatusPath = "/.tether/status";

/// `/` (HTML page with the live settings), `/plaintext`, `/echo`,
/// `/delay?ms=N` (N <= 60000), `/bytes?n=N` (N <= 1 GiB, streamed).
void installDefaultSite(Server& server);

/// kStatusPath: connections by state, totals and closes by reason, as JSON.
void installStatusEndpoint(Server& server);

/// The status document (exposed for tests and other front-ends);
/// `maxConnections` is the effective limit (Server::maxConnections()).
std::string statusJson(const ServerStatsSnapshot& stats, const ServerOptions& options,
                       std::uint64_t maxConnections);

}  // namespace tether::http
