// The two reports of `tether bench`: human (wrk-like lines) and JSON.
#include <fmt/format.h>

#include <cstring>
#include <string>

#include "json_line.h"
#include "tether/core/plural.h"
#include "tether/core/round.h"
#include "tether/tools/bench.h"

namespace tether::tools::bench {
namespace {

constexpr const char* kTimeWaitNote =
    "only this run's connections (by client port) are counted; an entry lasts 60 s on Linux";

double perSecond(double n, double seconds) { return seconds > 0 ? n / seconds : 0; }
double ms(std::uint64_t ns) { return double(ns) / 1e6; }

std::string modeText(const BenchConfig& c) {
  std::string mode = c.requests > 0 ? fmt::format("{} requests", c.requests)
                                    : fmt::format("{:g}s", double(c.duration) / 1000);
  mode += c.keepAlive ? ", keep-alive" : ", no keep-alive (a connection per request)";
  if (c.pipeline > 1) mode += fmt::format(", pipeline {}", c.pipeline);
  if (c.rate > 0) mode += fmt::format(", open loop at {:g} req/s", c.rate);
  if (c.warmup > 0) mode += fmt::format(", warm-up {:g}s", double(c.warmup) / 1000);
  return mode;
}

std::string errorsText(const ErrorCounts& e) {
  if (e.total() == 0) return "none";
  std::string why = e.connectErrno != 0 ? fmt::format(": {}", std::strerror(e.connectErrno)) : "";
  std::string tls = e.tls > 0 ? fmt::format(", tls {}: {}", e.tls, e.tlsError) : "";
  return fmt::format("{} (connect {}{}{}, reset {}, timeout {}, read {}, parse {}, 4xx {}, 5xx {})",
                     e.total(), e.connect, why, tls, e.reset, e.timeout, e.read, e.parse,
                     e.status4xx, e.status5xx);
}

std::string tlsText(const TlsSummary& t, double seconds) {
  std::uint64_t n = t.full + t.resumed;
  if (n == 0) return "no handshake completed";
  const LatencySummary& h = t.handshake;
  return fmt::format(
      "{}, {} ({} full, {} resumed), {:.1f} handshakes/s, handshake ms p50 {:.3f}  p99 {:.3f}  "
      "max {:.3f}",
      t.version, core::counted(n, "handshake"), t.full, t.resumed, perSecond(double(n), seconds),
      ms(h.p50), ms(h.p99), ms(h.max));
}

std::string statusText(const BenchResult& r) {
  std::string out;
  static constexpr const char* kNames[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 1; i <= 6; ++i) {
    std::size_t k = i % 6;  // 1xx..5xx, then other
    if (r.statusClasses[k] == 0) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {}", kNames[k], r.statusClasses[k]);
  }
  return out.empty() ? "none" : out;
}

double requestsPerConnection(const BenchResult& r) {
  return r.connectionsUsed ? double(r.requests) / double(r.connectionsUsed) : 0;
}
double reuseShare(const BenchResult& r) {
  return r.requests ? double(r.reusedRequests) / double(r.requests) : 0;
}
long long delta(std::uint64_t after, std::uint64_t before) {
  return static_cast<long long>(after) - static_cast<long long>(before);
}

// null for http.
json::Value tlsJson(const TlsSummary& t, double seconds) {
  if (!t.enabled) return json::Value(nullptr);
  auto ms6 = [](std::uint64_t ns) { return core::roundDecimals(ms(ns), 6); };
  const LatencySummary& h = t.handshake;
  std::uint64_t n = t.full + t.resumed;
  return {{"version", t.version},
          {"handshakes", n},
          {"full", t.full},
          {"resumed", t.resumed},
          {"handshakes_per_s", core::roundDecimals(perSecond(double(n), seconds), 1)},
          {"handshake_ms",
           {{"p50", ms6(h.p50)},
            {"p90", ms6(h.p90)},
            {"p99", ms6(h.p99)},
            {"max", ms6(h.max)},
            {"mean", core::roundDecimals(h.mean / 1e6, 6)}}}};
}

}  // namespace

std::string formatReport(const BenchConfig& c, const BenchResult& r) {
  const LatencySummary& l = r.latency;
  std::string out = fmt::format("tether bench {}\n  {}, {}, {}\n", c.url,
                                core::counted(std::uint64_t(c.connections), "connection"),
                                core::counted(std::uint64_t(c.threads), "thread"), modeText(c));
  if (r.interrupted) out += "  (interrupted: results so far)\n";
  out += fmt::format("  requests     {} in {:.2f}s: {:.1f} req/s, {:.2f} MB/s read\n", r.requests,
                     r.elapsedS, perSecond(double(r.requests), r.elapsedS),
                     perSecond(double(r.bytesRead), r.elapsedS) / 1e6);
  out += fmt::format(
      "  latency ms   p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  max {:.3f}  (mean "
      "{:.3f}){}\n",
      ms(l.p50), ms(l.p90), ms(l.p99), ms(l.p999), ms(l.max), l.mean / 1e6,
      c.rate > 0 ? ", from the intended send times" : "");
  if (r.tls.enabled) out += fmt::format("  TLS          {}\n", tlsText(r.tls, r.elapsedS));
  out += fmt::format("  status       {}\n", statusText(r));
  out += fmt::format("  errors       {}\n", errorsText(r.errors));
  out += fmt::format(
      "  connections  {} opened, {:.1f} requests per connection, {:.2f}% of requests on reused "
      "connections\n",
      r.connectionsOpened, requestsPerConnection(r), reuseShare(r) * 100);
  const TimeWaitCounts& t = r.timeWait;
  if (!t.available) {
    out += "  TIME_WAIT    unknown (/proc/net/tcp unreadable)\n";
  } else {
    out += fmt::format(
        "  TIME_WAIT    port {}: server side {:+} ({} -> {}), client side {:+} ({} -> {})\n"
        "               {}\n",
        c.target.port(), delta(t.serverAfter, t.serverBefore), t.serverBefore, t.serverAfter,
        delta(t.clientAfter, t.clientBefore), t.clientBefore, t.clientAfter, kTimeWaitNote);
  }
  return out;
}

std::string formatJson(const BenchConfig& c, const BenchResult& r) {
  using core::roundDecimals;
  auto ms6 = [](double v) { return roundDecimals(v, 6); };  // latencies to the nanosecond
  const LatencySummary& l = r.latency;
  const ErrorCounts& e = r.errors;
  const TimeWaitCounts& t = r.timeWait;
  const auto& s = r.statusClasses;
  json::Value doc;
  doc["url"] = c.url;
  doc["connections"] = c.connections;
  doc["threads"] = c.threads;
  doc["pipeline"] = c.pipeline;
  doc["keepalive"] = c.keepAlive;
  doc["rate"] = c.rate;
  doc["duration_s"] = double(c.duration) / 1000;
  doc["requests_limit"] = c.requests;
  doc["warmup_s"] = double(c.warmup) / 1000;
  doc["interrupted"] = r.interrupted;
  doc["elapsed_s"] = roundDecimals(r.elapsedS, 6);
  doc["requests"] = r.requests;
  doc["requests_per_s"] = roundDecimals(perSecond(double(r.requests), r.elapsedS), 1);
  doc["bytes_read"] = r.bytesRead;
  doc["bytes_read_per_s"] = roundDecimals(perSecond(double(r.bytesRead), r.elapsedS), 1);
  doc["bytes_written"] = r.bytesWritten;
  doc["latency_ms"] = {
      {"count", l.count},      {"min", ms6(ms(l.min))},     {"p50", ms6(ms(l.p50))},
      {"p90", ms6(ms(l.p90))}, {"p99", ms6(ms(l.p99))},     {"p99_9", ms6(ms(l.p999))},
      {"max", ms6(ms(l.max))}, {"mean", ms6(l.mean / 1e6)}, {"from_intended_send", c.rate > 0}};
  doc["status"] = {{"1xx", s[1]}, {"2xx", s[2]}, {"3xx", s[3]},
                   {"4xx", s[4]}, {"5xx", s[5]}, {"other", s[0]}};
  doc["errors"] = {{"total", e.total()},        {"connect", e.connect},     {"reset", e.reset},
                   {"timeout", e.timeout},      {"read", e.read},           {"parse", e.parse},
                   {"status_4xx", e.status4xx}, {"status_5xx", e.status5xx}};
  // Why connects failed, in words; null when none did.
  doc["errors"]["connect_error"] =
      e.connectErrno != 0 ? json::Value(std::strerror(e.connectErrno)) : json::Value(nullptr);
  doc["errors"]["tls"] = e.tls;
  doc["errors"]["tls_error"] =
      e.tlsError != nullptr ? json::Value(e.tlsError) : json::Value(nullptr);
  doc["tls"] = tlsJson(r.tls, r.elapsedS);
  doc["connections_opened"] = r.connectionsOpened;
  doc["connections_used"] = r.connectionsUsed;
  doc["requests_per_connection"] = roundDecimals(requestsPerConnection(r), 3);
  doc["reused_requests"] = r.reusedRequests;
  doc["reused_share"] = roundDecimals(reuseShare(r), 6);
  doc["time_wait"] = {{"available", t.available},
                      {"port", c.target.port()},
                      {"server_side",
                       {{"before", t.serverBefore},
                        {"after", t.serverAfter},
                        {"delta", delta(t.serverAfter, t.serverBefore)}}},
                      {"client_side",
                       {{"before", t.clientBefore},
                        {"after", t.clientAfter},
                        {"delta", delta(t.clientAfter, t.clientBefore)}}},
                      {"note", kTimeWaitNote}};
  return json::line(doc);
}

}  // namespace tether::tools::bench
