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
/// `observabilityAt`: empty when the /.tether/ endpoints are served beside the
/// site (`/` links them), else the admin address serving them (`/` names it).
void installDefaultSite(Server& server, std::string_view observabilityAt = {});

/// The long-lived streams of the default site: `/ws/echo` (WebSocket) echoes
/// every message, `/ws/ticker?ms=N` (1 <= N <= 3600000, default 1000) pushes a
/// JSON tick every N ms and echoes too; `/sse?ms=N[&count=K]` is an event
/// stream of ticks with ids, resuming after Last-Event-ID, ended by the server
/// after K events (0: never).
void installStreamDemo(Server& server);

/// kStatusPath on `host` with `observed`'s numbers: connections by state,
/// totals, closes by reason and the histograms, as JSON.
void installStatusEndpoint(Server& host, const Server& observed);
inline void installStatusEndpoint(Server& server) { installStatusEndpoint(server, server); }

/// The status document (exposed for tests and other front-ends);
/// `maxConnections` is the effective limit (Server::maxConnections()).
std::string statusJson(const ServerStatsSnapshot& stats, const ServerOptions& options,
                       std::uint64_t maxConnections);

}  // namespace tether::http
