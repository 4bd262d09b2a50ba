#include "tools/bench/bench_stats.h"

namespace tether::tools::bench {

void ThreadStats::mergeInto(BenchResult& r) const noexcept {
  r.requests += requests;
  r.bytesRead += bytesRead;
  r.bytesWritten += bytesWritten;
  for (std::size_t i = 0; i < statusClasses.size(); ++i) r.statusClasses[i] += statusClasses[i];
  r.errors.connect += errors.connect;
  if (r.errors.connectErrno == 0) r.errors.connectErrno = errors.connectErrno;
  r.errors.reset += errors.reset;
  r.errors.timeout += errors.timeout;
  r.errors.read += errors.read;
  r.errors.parse += errors.parse;
  r.errors.tls += errors.tls;
  if (r.errors.tlsError == nullptr) {
    r.errors.tlsError = errors.tlsError;
    r.errors.tlsRefused = errors.tlsRefused;
  }
  r.tls.full += tlsFull;
  r.tls.resumed += tlsResumed;
  if (*r.tls.version == '\0') r.tls.version = tlsVersion;
  r.errors.status4xx += errors.status4xx;
  r.errors.status5xx += errors.status5xx;
  r.connectionsOpened += connectionsOpened;
  r.connectionsUsed += connectionsUsed;
  r.reusedRequests += reusedRequests;
  timeline.mergeInto(r.timeline);
}

LatencySummary summarize(const LatencyHistogram& h) noexcept {
  LatencySummary s;
  s.count = h.count();
  s.min = h.min();
  s.p50 = h.percentile(50);
  s.p90 = h.percentile(90);
  s.p99 = h.percentile(99);
  s.p999 = h.percentile(99.9);
  s.max = h.max();
  s.mean = h.mean();
  s.stddev = h.stddev();
  return s;
}

}  // namespace tether::tools::bench
