// JSON report of `tether inspect` (one object; keys documented in docs/inspect.md).
#include <string>

#include "json_line.h"
#include "tether/core/round.h"
#include "tether/tools/inspect.h"
#include "tools/inspect/inspect_tls_report.h"

namespace tether::tools::inspect {
namespace {

using Json = json::Value;

Json tri(Tri t) { return triName(t); }
// Negative means unknown: null. Milliseconds to a tenth.
Json num(double v) { return v < 0 ? Json(nullptr) : Json(core::roundDecimals(v, 1)); }
Json num(std::int64_t v) { return v < 0 ? Json(nullptr) : Json(v); }

Json idleJson(const InspectReport& r) {
  const IdleEstimate& e = r.idle;
  Json samples = Json::array();
  for (double s : e.samplesMs) samples.push_back(num(s));
  return {{"reached", e.reached},
          {"median_ms", num(e.medianMs)},
          {"samples_ms", std::move(samples)},
          {"at_least_ms", num(e.atLeastMs)},
          {"consistent", e.consistent},
          {"precision_ms", static_cast<std::int64_t>(kIdlePrecisionMs)},
          {"close_style", closeStyleName(r.idleCloseStyle)}};
}

Json pipelineJson(const InspectReport& r) {
  return {{"complete", tri(r.pipelineComplete)},
          {"in_order", tri(r.pipelineInOrder)},
          {"statuses", r.pipelineStatuses},
          {"note", r.pipelineNote}};
}

Json adviceJson(const InspectReport& r) {
  Json maxRequests = r.recommendedMaxRequests == 0 ? Json(nullptr) : Json(r.recommendedMaxRequests);
  return {{"poolable", r.poolable},
          {"idle_timeout_ms", num(r.recommendedIdleMs)},
          {"idle_advice", r.idleAdvice},
          {"retry_idempotent", r.poolable},
          {"retry_advice", r.retryAdvice},
          {"max_requests", std::move(maxRequests)},
          {"max_requests_advice", r.maxRequestsAdvice}};
}

}  // namespace

std::string formatJson(const InspectReport& r) {
  const Persistence& p = r.persistence;
  Json doc;
  doc["origin"] = r.origin;
  doc["elapsed_ms"] = r.elapsedMs;
  doc["persistence"] = {{"http11_default", tri(p.http11Default)},
                        {"http10", tri(p.http10)},
                        {"http10_keep_alive", tri(p.http10KeepAlive)},
                        {"connection_close_honoured", tri(p.closeHonoured)}};
  doc["keep_alive_header"] = {{"timeout_s", num(r.advertisedTimeoutS)},
                              {"max", num(r.advertisedMax)},
                              {"only_on_request", r.advertisedOnlyOnRequest}};
  doc["idle_timeout"] = idleJson(r);
  doc["max_requests"] = {{"count", r.maxRequests},
                         {"reached", r.maxRequestsReached},
                         {"last_said_close", r.lastSaidClose},
                         {"close_style", closeStyleName(r.maxRequestsCloseStyle)}};
  doc["lingering"] = {{"final_response_survives", tri(r.finalResponseSurvives)},
                      {"close_style", closeStyleName(r.lingeringCloseStyle)}};
  doc["pipelining"] = pipelineJson(r);
  doc["tls"] = tlsJson(r.tls);
  doc["recommendations"] = adviceJson(r);
  doc["problems"] = r.problems;
  return json::line(doc);
}

}  // namespace tether::tools::inspect
