// Pure part of `tether inspect`: turns raw probe outcomes into findings and
// recommendations for a client pool.
#include <algorithm>
#include <string>

#include "fmt/format.h"
#include "tether/tools/inspect.h"
#include "tools/inspect/inspect_tls_report.h"

namespace tether::tools::inspect {
namespace {

bool answered(const ProbeOutcome& o) { return o.error.empty() && o.responseCount > 0; }

// A server that does not persist closes right behind its response: the FIN
// follows the last byte, whatever the round-trip time. Later is an idle timeout.
constexpr double kImmediateCloseMs = kIdlePrecisionMs;

// Persistent: the response allowed reuse and the server did not close at once
// (closing without a `Connection: close` counts as not persisting).
Tri persists(const ProbeOutcome& o) {
  if (!answered(o)) return Tri::kUnknown;
  if (!o.responses.front().reusable) return Tri::kNo;
  if (o.close != CloseStyle::kOpen && o.closeAfterMs < kImmediateCloseMs) return Tri::kNo;
  return Tri::kYes;
}

Tri closeHonoured(const ProbeOutcome& o) {
  if (!answered(o)) return Tri::kUnknown;
  return o.close == CloseStyle::kOpen ? Tri::kNo : Tri::kYes;
}

std::string secondsText(double ms) { return fmt::format("{:.3f} s", ms / 1000.0); }

// The hint of the first idle probe; some servers (Apache) send `Keep-Alive` only
// to a request that said `Connection: keep-alive`: then the HTTP/1.0 one's.
void addAdvertised(const InspectResult& r, InspectReport& rep) {
  const ProbeOutcome* sources[] = {&r.idle[0], &r.idle[1], &r.idle[2], &r.http10KeepAlive};
  for (const ProbeOutcome* o : sources) {
    if (!answered(*o)) continue;
    const ResponseSeen& s = o->responses.front();
    if (s.keepAliveTimeout < 0 && s.keepAliveMax < 0) continue;
    rep.advertisedTimeoutS = s.keepAliveTimeout;
    rep.advertisedMax = s.keepAliveMax;
    rep.advertisedOnlyOnRequest = o == &r.http10KeepAlive;
    return;
  }
}

void addLingering(const InspectResult& r, InspectReport& rep) {
  const ProbeOutcome& o = r.lingering;
  rep.lingeringCloseStyle = o.close;
  if (!o.error.empty() && o.responseCount == 0) return;
  if (o.responseCount >= 1) {
    rep.finalResponseSurvives = Tri::kYes;
  } else if (o.closedMidResponse || o.closedWithRequestPending) {
    rep.finalResponseSurvives = Tri::kNo;
  }
}

void addPipeline(const InspectResult& r, InspectReport& rep) {
  const ProbeOutcome& o = r.pipeline;
  for (const ResponseSeen& s : o.responses) rep.pipelineStatuses.push_back(s.status);
  bool complete = o.error.empty() && o.responseCount == 3 && !o.closedMidResponse;
  if (o.responseCount == 0 && !o.error.empty()) {
    rep.pipelineNote = o.error;
    return;
  }
  rep.pipelineComplete = complete ? Tri::kYes : Tri::kNo;
  if (!complete) {
    rep.pipelineNote = fmt::format("{} of 3 responses{}", o.responseCount,
                                   o.error.empty() ? "" : " (" + o.error + ")");
    return;
  }
  const auto& s = rep.pipelineStatuses;
  if (s[0] == s[1]) {
    rep.pipelineNote = "order not verifiable: the missing path answered the same status";
  } else if (s[0] == s[2]) {
    rep.pipelineInOrder = Tri::kYes;
    rep.pipelineNote = "GET path, GET missing path, HEAD path answered in order";
  } else {
    rep.pipelineInOrder = Tri::kNo;
    rep.pipelineNote = "statuses do not match the order of the requests";
  }
}

void addMaxRequests(const InspectResult& r, InspectReport& rep) {
  const ProbeOutcome& o = r.maxRequests;
  rep.maxRequests = o.responseCount;
  rep.maxRequestsCloseStyle = o.close;
  if (o.responseCount == 0) return;
  rep.lastSaidClose = o.responses.back().connectionClose;
  rep.maxRequestsReached = o.close != CloseStyle::kOpen || !o.responses.back().reusable;
}

void addIdleAdvice(InspectReport& rep) {
  rep.poolable = rep.persistence.http11Default == Tri::kYes;
  if (!rep.poolable) {
    rep.idleAdvice = "do not keep idle connections: the server does not keep them open";
    return;
  }
  double base = -1;
  std::string why, note;
  if (rep.idle.reached) {
    base = rep.idle.medianMs;
    why = "measured " + secondsText(base);
  } else if (rep.idle.atLeastMs >= 0) {
    base = rep.idle.atLeastMs;
    why = "open for at least " + secondsText(base);
  }
  if (rep.advertisedTimeoutS >= 0) {
    double advertised = static_cast<double>(rep.advertisedTimeoutS) * 1000.0;
    // A wait cut short by --max-idle-wait says nothing against the hint, so the
    // hint wins then; a measured close earlier than the hint wins over it.
    if (base < 0 || advertised < base || !rep.idle.reached) {
      base = advertised;
      why = fmt::format("advertised timeout={}", rep.advertisedTimeoutS);
      if (!rep.idle.reached && rep.idle.atLeastMs >= 0) {
        note = fmt::format(
            ". The measurement stopped at --max-idle-wait (open for at least {}), so this "
            "rests on the server's hint",
            secondsText(rep.idle.atLeastMs));
      }
    }
  }
  if (base < 0) {
    rep.idleAdvice = "unknown: the idle timeout could not be measured";
    return;
  }
  // A server that keeps idle connections 2 s or less: a 1 s margin would leave
  // (almost) nothing; half the timeout still retires them first.
  double margin = static_cast<double>(kIdleMarginMs);
  const char* marginText = "minus a 1 s margin";
  if (base <= 2 * margin) {
    margin = base / 2;
    marginText = "halved, as a 1 s margin would leave little or nothing";
  }
  rep.recommendedIdleMs = base - margin;
  rep.idleAdvice = fmt::format(
      "close idle connections after {} ({} {}, so the client retires a connection before the "
      "server's close can cross a new request){}",
      secondsText(rep.recommendedIdleMs), why, marginText, note);
}

void addAdvice(InspectReport& rep) {
  addIdleAdvice(rep);
  rep.retryAdvice =
      rep.poolable
          ? "yes: retry idempotent requests (GET, HEAD, PUT, DELETE, or with Idempotency-Key) "
            "once, on a new connection, when a reused connection fails before any response "
            "byte. The server may close an idle connection (timeout, max requests, restart) "
            "while a request is on its way: its FIN crosses the request, which then fails "
            "with EOF or RST, and the client cannot know whether it was processed (RFC 9110 "
            "9.2.2). An idle timeout below the server's makes this rare, never impossible. "
            "Never resend a non-idempotent request silently."
          : "not applicable: connections are not reused";
  if (!rep.poolable) return;
  if (rep.maxRequestsReached) {
    rep.recommendedMaxRequests = rep.maxRequests;
    rep.maxRequestsAdvice = fmt::format(
        "retire a connection after {} requests: the server closes it then{}", rep.maxRequests,
        rep.lastSaidClose ? " (and says Connection: close on the last response)"
                          : ", without Connection: close on the last response, so a client "
                            "that does not count sends the next request into the close");
  } else {
    rep.maxRequestsAdvice = fmt::format(
        "no cap needed: the server answered {} requests on one connection (the probe's limit) "
        "and kept it open",
        rep.maxRequests);
  }
}

}  // namespace

const char* triName(Tri t) noexcept {
  switch (t) {
    case Tri::kNo: return "no";
    case Tri::kYes: return "yes";
    case Tri::kUnknown: break;
  }
  return "unknown";
}

IdleEstimate estimateIdle(const ProbeOutcome* probes, int count) {
  IdleEstimate e;
  for (int i = 0; i < count; ++i) {
    const ProbeOutcome& o = probes[i];
    if (!answered(o) || !o.responses.front().reusable) continue;
    if (o.close == CloseStyle::kOpen) {
      e.atLeastMs = std::max(e.atLeastMs, static_cast<double>(o.waitedMs));
    } else if (o.closeAfterMs >= 0) {
      e.samplesMs.push_back(o.closeAfterMs);
    }
  }
  std::sort(e.samplesMs.begin(), e.samplesMs.end());
  std::size_t n = e.samplesMs.size();
  if (n == 0) return e;
  e.reached = e.atLeastMs < 0;
  e.minMs = e.samplesMs.front();
  e.maxMs = e.samplesMs.back();
  e.medianMs = n % 2 == 1 ? e.samplesMs[n / 2] : (e.samplesMs[n / 2 - 1] + e.samplesMs[n / 2]) / 2;
  e.consistent = e.maxMs - e.minMs <= 2 * kIdlePrecisionMs;
  return e;
}

InspectReport buildReport(const InspectConfig& config, const InspectResult& r) {
  InspectReport rep;
  rep.origin = config.origin;
  rep.elapsedMs = r.elapsedMs;
  Persistence& p = rep.persistence;
  p.http11Default = persists(r.idle[0]);
  for (int i = 1; i < 3 && p.http11Default == Tri::kUnknown; ++i) {
    p.http11Default = persists(r.idle[i]);
  }
  p.http10 = persists(r.http10);
  p.http10KeepAlive = persists(r.http10KeepAlive);
  p.closeHonoured = closeHonoured(r.connectionClose);
  addAdvertised(r, rep);
  rep.idle = estimateIdle(r.idle, 3);
  for (const ProbeOutcome& o : r.idle) {
    if (o.close != CloseStyle::kOpen) rep.idleCloseStyle = o.close;
  }
  addMaxRequests(r, rep);
  addLingering(r, rep);
  addPipeline(r, rep);
  addAdvice(rep);
  rep.tls = tlsFindings(config.tls != nullptr, r);
  const char* names[] = {"idle 1",
                         "idle 2",
                         "idle 3",
                         "HTTP/1.0",
                         "HTTP/1.0 keep-alive",
                         "Connection: close",
                         "lingering",
                         "pipelining",
                         "max requests"};
  const ProbeOutcome* all[] = {&r.idle[0],   &r.idle[1],         &r.idle[2],
                               &r.http10,    &r.http10KeepAlive, &r.connectionClose,
                               &r.lingering, &r.pipeline,        &r.maxRequests};
  for (std::size_t i = 0; i < 9; ++i) {
    if (!all[i]->error.empty())
      rep.problems.push_back(std::string(names[i]) + ": " + all[i]->error);
  }
  const TlsProbes& t = r.tls;
  // The session ID probes may fail on purpose: a TLS 1.3-only server refuses them.
  for (const ProbeOutcome* o :
       {&t.resumed[0], &t.resumed[1], &t.resumed[2], &t.full[0], &t.full[1], &t.full[2]}) {
    if (!config.tls || o->error.empty()) continue;
    rep.problems.push_back("TLS handshake probes: " + o->error);  // the first says enough
    break;
  }
  return rep;
}

}  // namespace tether::tools::inspect
