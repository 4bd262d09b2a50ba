// Human-readable report of `tether inspect`.
#include <fmt/format.h>

#include <string>

#include "tether/tools/inspect.h"
#include "tools/inspect/inspect_tls_report.h"

namespace tether::tools::inspect {
namespace {

constexpr std::size_t kWidth = 96;

// `label` then `text` word-wrapped to kWidth, continuation lines aligned under it.
std::string wrapped(std::string_view label, std::string_view text) {
  std::string out(label);
  std::size_t col = label.size();
  const std::string indent(label.size(), ' ');
  while (!text.empty()) {
    std::size_t space = text.find(' ');
    std::string_view word = text.substr(0, space);
    if (col > label.size() && col + 1 + word.size() > kWidth) {
      out += "\n" + indent;
      col = label.size();
    } else if (col > label.size()) {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
    text = space == std::string_view::npos ? "" : text.substr(space + 1);
  }
  return out + "\n";
}

std::string sec(double ms) { return fmt::format("{:.3f} s", ms / 1000.0); }

const char* keptText(Tri t) {
  switch (t) {
    case Tri::kYes: return "keeps the connection open";
    case Tri::kNo: return "closes after the response";
    case Tri::kUnknown: break;
  }
  return "unknown (probe failed)";
}

std::string advertisedText(const InspectReport& r) {
  if (r.advertisedTimeoutS < 0 && r.advertisedMax < 0) return "no Keep-Alive header";
  std::string s = "Keep-Alive:";
  if (r.advertisedTimeoutS >= 0) s += fmt::format(" timeout={}", r.advertisedTimeoutS);
  if (r.advertisedMax >= 0) {
    s += fmt::format("{} max={}", r.advertisedTimeoutS >= 0 ? "," : "", r.advertisedMax);
  }
  if (r.advertisedOnlyOnRequest) s += " (only to requests with Connection: keep-alive)";
  return s;
}

std::string measuredText(const InspectReport& r) {
  const IdleEstimate& e = r.idle;
  if (!r.poolable) return "not applicable (no persistent connection)";
  if (!e.reached) {
    return e.atLeastMs >= 0 ? "at least " + sec(e.atLeastMs) + " (--max-idle-wait reached)"
                            : "unknown (probes failed)";
  }
  std::string samples;
  for (double s : e.samplesMs) samples += (samples.empty() ? "" : ", ") + sec(s);
  return fmt::format("{} (median of {}: {}; precision ±{} ms{}), closed with {}", sec(e.medianMs),
                     e.samplesMs.size(), samples, kIdlePrecisionMs,
                     e.consistent ? "" : "; samples disagree", closeStyleName(r.idleCloseStyle));
}

std::string maxRequestsText(const InspectReport& r) {
  if (r.maxRequests == 0) return "unknown (probe failed)";
  if (!r.maxRequestsReached)
    return fmt::format("at least {} (--max-requests reached)", r.maxRequests);
  return fmt::format("{} (the last response {} Connection: close; then {})", r.maxRequests,
                     r.lastSaidClose ? "said" : "did not say",
                     closeStyleName(r.maxRequestsCloseStyle));
}

std::string lingeringText(const InspectReport& r) {
  switch (r.finalResponseSurvives) {
    case Tri::kYes:
      if (r.lingeringCloseStyle == CloseStyle::kRst) {
        return "arrived complete here, then rst: no lingering close (the server reset the "
               "connection with our second request unread; on a slower path that RST can "
               "destroy the response before the client reads it)";
      }
      return fmt::format("arrived complete, then {} (lingering close, or nothing to drain)",
                         closeStyleName(r.lingeringCloseStyle));
    case Tri::kNo:
      return fmt::format("LOST: the server closed ({}) before the client had it all",
                         closeStyleName(r.lingeringCloseStyle));
    case Tri::kUnknown: break;
  }
  return "unknown (probe failed)";
}

std::string pipelineText(const InspectReport& r) {
  std::string statuses;
  for (int s : r.pipelineStatuses) statuses += (statuses.empty() ? "" : ", ") + std::to_string(s);
  return fmt::format("complete: {}, in order: {} (statuses {}; {})", triName(r.pipelineComplete),
                     triName(r.pipelineInOrder), statuses.empty() ? "none" : statuses,
                     r.pipelineNote);
}

}  // namespace

std::string formatText(const InspectReport& r) {
  std::string o =
      fmt::format("tether inspect {} (took {})\n\n", r.origin, sec(double(r.elapsedMs)));
  const Persistence& p = r.persistence;
  o += "Persistence\n";
  o += fmt::format("  HTTP/1.1, no Connection header     {}\n", keptText(p.http11Default));
  o += fmt::format("  HTTP/1.0                           {}\n", keptText(p.http10));
  o += fmt::format("  HTTP/1.0 + Connection: keep-alive  {}\n", keptText(p.http10KeepAlive));
  o += fmt::format("  Connection: close honoured         {}\n\n", triName(p.closeHonoured));
  o += "Idle timeout (end of the last response to the server's close)\n";
  o += fmt::format("  advertised  {}\n", advertisedText(r));
  o += fmt::format("  measured    {}\n\n", measuredText(r));
  o += fmt::format("Max requests per connection\n  {}\n\n", maxRequestsText(r));
  o += "Close with an unread pipelined request (Connection: close + 2nd request)\n";
  o += wrapped("  final response ", lingeringText(r)) + "\n";
  o += "Pipelining (3 requests in one write)\n" + wrapped("  ", pipelineText(r)) + "\n";
  if (r.tls.enabled) o += tlsText(r.tls) + "\n";
  o += "Recommendations for a client pool\n";
  o += wrapped("  idle timeout: ", r.idleAdvice);
  o += wrapped("  retries:      ", r.retryAdvice);
  if (!r.maxRequestsAdvice.empty()) o += wrapped("  max requests: ", r.maxRequestsAdvice);
  if (!r.tls.advice.empty()) o += wrapped("  TLS:          ", r.tls.advice);
  if (!r.problems.empty()) {
    o += "\nProblems\n";
    for (const std::string& s : r.problems) o += "  " + s + "\n";
  }
  return o;
}

}  // namespace tether::tools::inspect
