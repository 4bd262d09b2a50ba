// JSON report of `tether inspect ws://…` (one object; keys in docs/inspect.md).
#include <string>

#include "json_line.h"
#include "tether/core/round.h"
#include "tether/tools/inspect_ws.h"

namespace tether::tools::inspect {
namespace {

using Json = json::Value;

// Negative means unknown: null. Milliseconds to a tenth.
Json num(double v) { return v < 0 ? Json(nullptr) : Json(core::roundDecimals(v, 1)); }

Json probeJson(const WsProbeSeen& p) {
  Json pings = Json::array();
  for (double t : p.serverPingsMs) pings.push_back(num(t));
  return {{"end", wsEndName(p.end)},
          {"error", p.error},
          {"opened_ms", num(p.openedMs)},
          {"ended_ms", num(p.endedMs)},
          {"server_pings_ms", std::move(pings)},
          {"close_code", p.closeCode == 0 ? Json(nullptr) : Json(p.closeCode)},
          {"close_reason", p.closeReason},
          {"pings_sent", p.pingsSent},
          {"pongs", p.pongs},
          {"rtt_ms", num(p.rttMs)}};
}

}  // namespace

std::string formatWsJson(const WsReport& r) {
  Json doc = {{"url", r.url},
              {"handshake_ms", num(r.handshakeMs)},
              {"server_pings", r.serverPings},
              {"server_ping_interval_ms", num(r.serverPingIntervalMs)},
              {"quiet_limit_ms", num(r.quietLimitMs)},
              {"quiet_limit_by", r.quietLimitBy.empty() ? Json(nullptr) : Json(r.quietLimitBy)},
              {"client_pings_tested", r.clientPingsTested},
              {"client_pings_keep_it_open", r.clientPingsHelp},
              {"max_idle_wait_ms", r.maxIdleWait},
              {"ping_interval_ms", r.pingInterval},
              {"probes",
               {{"browser", probeJson(r.result.browser)},
                {"mute", probeJson(r.result.mute)},
                {"pinger", probeJson(r.result.pinger)}}},
              {"findings", r.findings},
              {"advice", r.advice},
              {"elapsed_ms", r.result.elapsedMs}};
  return json::line(doc);
}

}  // namespace tether::tools::inspect
