#include "explain_report.h"

#include "json_line.h"

namespace tether::app {
namespace {

double sec(liveness::Millis ms) { return static_cast<double>(ms) / 1000.0; }

}  // namespace

std::string explanationJson(const Explanation& e) {
  const auto& p = e.profile;
  const auto& s = e.system;
  const auto& f = e.inFlight;
  const auto& t = e.traffic;
  json::Value timeline = json::Value::array();
  for (const auto& ev : e.timeline) {
    json::Value event = {{"t_s", sec(ev.at)}, {"event", ev.probe == 0 ? "dead" : "probe"}};
    if (ev.probe != 0) event["probe"] = ev.probe;
    timeline.push_back(std::move(event));
  }
  json::Value warnings = json::Value::array();
  for (const auto& w : e.warnings) warnings.push_back({{"code", w.code}, {"message", w.message}});
  json::Value doc;
  doc["so_keepalive"] = e.spec;
  doc["keepalive"] = {{"enabled", p.enabled},
                      {"idle_s", p.enabled ? p.idleS : 0},
                      {"interval_s", p.enabled ? p.intervalS : 0},
                      {"count", p.enabled ? p.count : 0}};
  doc["user_timeout_ms"] = p.userTimeout;
  doc["system"] = {{"from_proc", s.fromSystem},
                   {"tcp_keepalive_time", s.idleS},
                   {"tcp_keepalive_intvl", s.intervalS},
                   {"tcp_keepalive_probes", s.count},
                   {"tcp_retries2", s.retries2}};
  doc["idle"] = {
      {"detected", e.idle.detected},
      {"dead_after_s", e.idle.detected ? json::Value(sec(e.idle.deadAt)) : json::Value(nullptr)},
      {"probes", e.idle.probes},
      {"by_user_timeout", e.idle.byUserTimeout},
      {"probe_window_s", sec(e.idle.probeWindow())},
      {"timeline", std::move(timeline)},
      {"timeline_elided", e.elided}};
  doc["in_flight"] = {{"mechanism", f.byUserTimeout ? "user_timeout" : "tcp_retries2"},
                      {"dead_after_s", sec(f.deadAt)},
                      {"model_timeout_s", sec(f.modelTimeout)},
                      {"retries2", f.retries2},
                      {"initial_rto_ms", f.initialRto},
                      {"rto_max_ms", liveness::kRtoMax},
                      {"retransmissions", f.retransmissions}};
  doc["probe_traffic_per_hour"] = {{"probes", t.probesPerHour},
                                   {"packets", t.packetsPerHour},
                                   {"bytes_ipv4", t.ipv4BytesPerHour},
                                   {"bytes_ipv6", t.ipv6BytesPerHour},
                                   {"bytes_ethernet_ipv4", t.ipv4FrameBytesPerHour},
                                   {"packet_bytes_ipv4", liveness::ProbeTraffic::kIpv4Bytes},
                                   {"packet_bytes_ipv6", liveness::ProbeTraffic::kIpv6Bytes}};
  doc["warnings"] = std::move(warnings);
  return json::line(doc);
}

}  // namespace tether::app
