#include "tools/inspect/inspect_tls_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "tether/core/round.h"

namespace tether::tools::inspect {
namespace {

// Median handshake time of the probes that finished one (and resumed, when
// `resumedOnly`); -1 if none did.
double medianHandshake(const ProbeOutcome* probes, int count, bool resumedOnly) {
  std::vector<double> ms;
  for (int i = 0; i < count; ++i) {
    const TlsSeen& t = probes[i].tls;
    if (t.done && (!resumedOnly || t.resumed)) ms.push_back(t.handshakeMs);
  }
  if (ms.empty()) return -1;
  std::sort(ms.begin(), ms.end());
  std::size_t n = ms.size();
  return n % 2 == 1 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
}

// Did the server send close_notify before closing an idle connection? Only
// probes the server closed count.
Tri closeNotifyAtIdleClose(const InspectResult& r) {
  Tri seen = Tri::kUnknown;
  for (const ProbeOutcome& o : r.idle) {
    if (o.close == CloseStyle::kOpen || !o.tls.done) continue;
    if (!o.tls.peerCloseNotify) return Tri::kNo;
    seen = Tri::kYes;
  }
  return seen;
}

Tri resumed(const ProbeOutcome& o) {
  if (!o.tls.done) return Tri::kUnknown;
  return o.tls.resumed ? Tri::kYes : Tri::kNo;
}

const TlsSeen* firstHandshake(const InspectResult& r) {
  for (const ProbeOutcome& o : r.idle) {
    if (o.tls.done) return &o.tls;
  }
  for (const ProbeOutcome& o : r.tls.full) {
    if (o.tls.done) return &o.tls;
  }
  return nullptr;
}

std::string advice(const TlsFindings& t) {
  std::string a;
  if (t.resumesWithTicket != Tri::kYes && t.resumesWithSessionId != Tri::kYes) {
    a = fmt::format(
        "the server resumes no session: every new connection pays a full handshake{}; keep "
        "connections alive longer, or enable session tickets or a session cache on the server",
        t.fullHandshakeMs >= 0 ? fmt::format(" ({:.1f} ms here)", t.fullHandshakeMs) : "");
  } else if (t.fullHandshakeMs >= 0 && t.resumedHandshakeMs >= 0) {
    a = fmt::format(
        "a new connection resumes its session: {:.1f} ms instead of {:.1f} ms for a full "
        "handshake; a reused keep-alive connection needs none",
        t.resumedHandshakeMs, t.fullHandshakeMs);
  }
  if (t.closeNotifyAtIdleClose == Tri::kNo) {
    if (!a.empty()) a += ". ";
    a += "The server closes idle connections without close_notify: a client cannot tell that "
         "close from a cut connection (RFC 9112 section 9.8 asks for close_notify)";
  }
  return a;
}

std::string ms(double v) { return v < 0 ? "unknown" : fmt::format("{:.2f} ms", v); }

}  // namespace

TlsFindings tlsFindings(bool tls, const InspectResult& r) {
  TlsFindings t;
  t.enabled = tls;
  if (!tls) return t;
  if (const TlsSeen* first = firstHandshake(r)) {
    t.version = first->version;
    t.alpn = first->alpn;
    t.cipher = first->cipher;
  }
  t.closeNotifyAtIdleClose = closeNotifyAtIdleClose(r);
  t.resumesWithTicket = resumed(r.tls.resumed[0]);
  if (r.tls.sessionIdFirst.tls.done) t.resumesWithSessionId = resumed(r.tls.sessionIdSecond);
  t.fullHandshakeMs = medianHandshake(r.tls.full, 3, false);
  t.resumedHandshakeMs = medianHandshake(r.tls.resumed, 3, true);
  t.advice = advice(t);
  return t;
}

std::string tlsText(const TlsFindings& t) {
  if (!t.enabled) return "";
  std::string o = "TLS\n";
  o += fmt::format("  version {}, ALPN {}, cipher {}\n", t.version.empty() ? "unknown" : t.version,
                   t.alpn.empty() ? "none" : t.alpn, t.cipher.empty() ? "unknown" : t.cipher);
  o += fmt::format("  close_notify at the idle close    {}\n", triName(t.closeNotifyAtIdleClose));
  o += fmt::format("  resumes after that close (ticket) {}\n", triName(t.resumesWithTicket));
  o += fmt::format("  resumes by session ID (TLS 1.2)   {}\n",
                   t.resumesWithSessionId == Tri::kUnknown ? "unknown (no TLS 1.2 handshake)"
                                                           : triName(t.resumesWithSessionId));
  o += fmt::format("  handshake                         full {}, resumed {}\n",
                   ms(t.fullHandshakeMs), ms(t.resumedHandshakeMs));
  return o;
}

json::Value tlsJson(const TlsFindings& t) {
  if (!t.enabled) return json::Value(nullptr);
  auto num = [](double v) {
    return v < 0 ? json::Value(nullptr) : json::Value(core::roundDecimals(v, 3));
  };
  auto text = [](const std::string& s) {
    return s.empty() ? json::Value(nullptr) : json::Value(s);
  };
  return {{"version", text(t.version)},
          {"alpn", text(t.alpn)},
          {"cipher", text(t.cipher)},
          {"close_notify_at_idle_close", triName(t.closeNotifyAtIdleClose)},
          {"resumes_with_ticket", triName(t.resumesWithTicket)},
          {"resumes_with_session_id", triName(t.resumesWithSessionId)},
          {"full_handshake_ms", num(t.fullHandshakeMs)},
          {"resumed_handshake_ms", num(t.resumedHandshakeMs)},
          {"advice", t.advice}};
}

}  // namespace tether::tools::inspect
