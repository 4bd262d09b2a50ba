// The two reports of `tether bench`: human (wrk-like lines) and JSON.
#include <fmt/format.h>

#include <string>

#include "tether/core/json.h"
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
  return fmt::format("{} (connect {}, reset {}, timeout {}, read {}, parse {}, 4xx {}, 5xx {})",
                     e.total(), e.connect, e.reset, e.timeout, e.read, e.parse, e.status4xx,
                     e.status5xx);
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

}  // namespace

std::string formatReport(const BenchConfig& c, const BenchResult& r) {
  const LatencySummary& l = r.latency;
  std::string out = fmt::format("tether bench {}\n  {} connections, {} thread{}, {}\n", c.url,
                                c.connections, c.threads, c.threads == 1 ? "" : "s", modeText(c));
  if (r.interrupted) out += "  (interrupted: results so far)\n";
  out += fmt::format("  requests     {} in {:.2f}s: {:.1f} req/s, {:.2f} MB/s read\n", r.requests,
                     r.elapsedS, perSecond(double(r.requests), r.elapsedS),
                     perSecond(double(r.bytesRead), r.elapsedS) / 1e6);
  out += fmt::format(
      "  latency ms   p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  max {:.3f}  (mean "
      "{:.3f}){}\n",
      ms(l.p50), ms(l.p90), ms(l.p99), ms(l.p999), ms(l.max), l.mean / 1e6,
      c.rate > 0 ? ", from the intended send times" : "");
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
  const LatencySummary& l = r.latency;
  const ErrorCounts& e = r.errors;
  const TimeWaitCounts& t = r.timeWait;
  std::string out = fmt::format(
      "{{\"url\": {}, \"connections\": {}, \"threads\": {}, \"pipeline\": {}, "
      "\"keepalive\": {}, \"rate\": {}, \"duration_s\": {}, \"requests_limit\": {}, "
      "\"warmup_s\": {}, \"interrupted\": {},\n",
      core::jsonString(c.url), c.connections, c.threads, c.pipeline, c.keepAlive, c.rate,
      double(c.duration) / 1000, c.requests, double(c.warmup) / 1000, r.interrupted);
  out += fmt::format(
      " \"elapsed_s\": {:.6f}, \"requests\": {}, \"requests_per_s\": {:.1f}, \"bytes_read\": {}, "
      "\"bytes_read_per_s\": {:.1f}, \"bytes_written\": {},\n",
      r.elapsedS, r.requests, perSecond(double(r.requests), r.elapsedS), r.bytesRead,
      perSecond(double(r.bytesRead), r.elapsedS), r.bytesWritten);
  out += fmt::format(
      " \"latency_ms\": {{\"count\": {}, \"min\": {:.6f}, \"p50\": {:.6f}, \"p90\": {:.6f}, "
      "\"p99\": {:.6f}, \"p99_9\": {:.6f}, \"max\": {:.6f}, \"mean\": {:.6f}, "
      "\"from_intended_send\": {}}},\n",
      l.count, ms(l.min), ms(l.p50), ms(l.p90), ms(l.p99), ms(l.p999), ms(l.max), l.mean / 1e6,
      c.rate > 0);
  const auto& s = r.statusClasses;
  out += fmt::format(
      " \"status\": {{\"1xx\": {}, \"2xx\": {}, \"3xx\": {}, \"4xx\": {}, \"5xx\": {}, "
      "\"other\": {}}},\n",
      s[1], s[2], s[3], s[4], s[5], s[0]);
  out += fmt::format(
      " \"errors\": {{\"total\": {}, \"connect\": {}, \"reset\": {}, \"timeout\": {}, \"read\": "
      "{}, "
      "\"parse\": {}, \"status_4xx\": {}, \"status_5xx\": {}}},\n",
      e.total(), e.connect, e.reset, e.timeout, e.read, e.parse, e.status4xx, e.status5xx);
  out += fmt::format(
      " \"connections_opened\": {}, \"connections_used\": {}, \"requests_per_connection\": {:.3f}, "
      "\"reused_requests\": {}, \"reused_share\": {:.6f},\n",
      r.connectionsOpened, r.connectionsUsed, requestsPerConnection(r), r.reusedRequests,
      reuseShare(r));
  out += fmt::format(
      " \"time_wait\": {{\"available\": {}, \"port\": {}, "
      "\"server_side\": {{\"before\": {}, \"after\": {}, \"delta\": {}}}, "
      "\"client_side\": {{\"before\": {}, \"after\": {}, \"delta\": {}}}, \"note\": \"{}\"}}}}\n",
      t.available, c.target.port(), t.serverBefore, t.serverAfter,
      delta(t.serverAfter, t.serverBefore), t.clientBefore, t.clientAfter,
      delta(t.clientAfter, t.clientBefore), kTimeWaitNote);
  return out;
}

}  // namespace tether::tools::bench
