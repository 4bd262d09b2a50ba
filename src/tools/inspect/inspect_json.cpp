// JSON report of `tether inspect` (one object; keys documented in docs/inspect.md).
#include <fmt/format.h>

#include <string>

#include "tether/core/json.h"
#include "tether/tools/inspect.h"

namespace tether::tools::inspect {
namespace {

std::string str(std::string_view s) { return core::jsonString(s); }

std::string tri(Tri t) { return str(triName(t)); }
std::string num(double v) { return v < 0 ? "null" : fmt::format("{:.1f}", v); }
std::string num(std::int64_t v) { return v < 0 ? "null" : std::to_string(v); }

std::string idleJson(const InspectReport& r) {
  const IdleEstimate& e = r.idle;
  std::string samples;
  for (double s : e.samplesMs) samples += (samples.empty() ? "" : ",") + num(s);
  return fmt::format(
      "{{\"reached\":{},\"median_ms\":{},\"samples_ms\":[{}],\"at_least_ms\":{},"
      "\"consistent\":{},\"precision_ms\":{},\"close_style\":{}}}",
      e.reached, num(e.medianMs), samples, num(e.atLeastMs), e.consistent, kIdlePrecisionMs,
      str(closeStyleName(r.idleCloseStyle)));
}

std::string pipelineJson(const InspectReport& r) {
  std::string statuses;
  for (int s : r.pipelineStatuses) statuses += (statuses.empty() ? "" : ",") + std::to_string(s);
  return fmt::format("{{\"complete\":{},\"in_order\":{},\"statuses\":[{}],\"note\":{}}}",
                     tri(r.pipelineComplete), tri(r.pipelineInOrder), statuses,
                     str(r.pipelineNote));
}

std::string adviceJson(const InspectReport& r) {
  return fmt::format(
      "{{\"poolable\":{},\"idle_timeout_ms\":{},\"idle_advice\":{},\"retry_idempotent\":{},"
      "\"retry_advice\":{},\"max_requests\":{},\"max_requests_advice\":{}}}",
      r.poolable, num(r.recommendedIdleMs), str(r.idleAdvice), r.poolable, str(r.retryAdvice),
      r.recommendedMaxRequests == 0 ? "null" : std::to_string(r.recommendedMaxRequests),
      str(r.maxRequestsAdvice));
}

}  // namespace

std::string formatJson(const InspectReport& r) {
  const Persistence& p = r.persistence;
  std::string problems;
  for (const std::string& s : r.problems) problems += (problems.empty() ? "" : ",") + str(s);
  return fmt::format(
      "{{\"origin\":{},\"elapsed_ms\":{},"
      "\"persistence\":{{\"http11_default\":{},\"http10\":{},\"http10_keep_alive\":{},"
      "\"connection_close_honoured\":{}}},"
      "\"keep_alive_header\":{{\"timeout_s\":{},\"max\":{},\"only_on_request\":{}}},\"idle_"
      "timeout\":{},"
      "\"max_requests\":{{\"count\":{},\"reached\":{},\"last_said_close\":{},\"close_style\":{}}},"
      "\"lingering\":{{\"final_response_survives\":{},\"close_style\":{}}},"
      "\"pipelining\":{},\"recommendations\":{},\"problems\":[{}]}}\n",
      str(r.origin), r.elapsedMs, tri(p.http11Default), tri(p.http10), tri(p.http10KeepAlive),
      tri(p.closeHonoured), num(r.advertisedTimeoutS), num(r.advertisedMax),
      r.advertisedOnlyOnRequest, idleJson(r), r.maxRequests, r.maxRequestsReached, r.lastSaidClose,
      str(closeStyleName(r.maxRequestsCloseStyle)), tri(r.finalResponseSurvives),
      str(closeStyleName(r.lingeringCloseStyle)), pipelineJson(r), adviceJson(r), problems);
}

}  // namespace tether::tools::inspect
