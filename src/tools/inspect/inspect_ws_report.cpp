// buildWsReport(): what the three quiet WebSocket probes say about a path,
// and what to do about it (contract in tether/tools/inspect_ws.h).
//
// The browser probe (answers pings, sends nothing) is what a real page gets:
// its life is the path's limit for a quiet connection. The mute probe shows
// whether the server notices a dead client. The pinger shows whether pings
// alone keep the path open, which decides the advice: ping from the server
// (browsers cannot ping from JavaScript) at three quarters of the limit.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tether/tools/inspect_ws.h"

namespace tether::tools::inspect {
namespace {

constexpr double kPingShare = 0.75;  // ping at this share of the limit: one lost ping still fits

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string secs(double ms) { return fmt::format("{:.1f} s", ms / 1000.0); }

// A --ws-ping-interval value at or below `ms`: whole seconds, or ms below 10 s.
std::string durationFlag(double ms) {
  if (ms < 10'000) return fmt::format("{}ms", static_cast<long long>(std::floor(ms)));
  return fmt::format("{}s", static_cast<long long>(std::floor(ms / 1000.0)));
}

bool endedByPath(WsEnd e) noexcept { return e == WsEnd::kFin || e == WsEnd::kReset; }
bool ended(WsEnd e) noexcept { return e == WsEnd::kCloseFrame || endedByPath(e); }

// How a probe ended, as a phrase after "closed after X s ...".
std::string howEnded(const WsProbeSeen& p) {
  switch (p.end) {
    case WsEnd::kCloseFrame:
      if (p.closeCode == 0) return "by a close frame without a code";
      return p.closeReason.empty()
                 ? fmt::format("by a close frame {}", p.closeCode)
                 : fmt::format("by a close frame {} \"{}\"", p.closeCode, p.closeReason);
    case WsEnd::kFin: return "without a close frame (the TCP connection ended)";
    case WsEnd::kReset: return "without a close frame (reset)";
    default: return wsEndName(p.end);
  }
}

std::string life(const WsProbeSeen& p) {
  if (p.end == WsEnd::kOpen) return fmt::format("still open after {}", secs(p.endedMs));
  if (p.end == WsEnd::kFailed) return "failed: " + p.error;
  if (p.end == WsEnd::kNoPong) {
    return fmt::format("its ping went unanswered: closed after {}", secs(p.endedMs));
  }
  return fmt::format("closed after {} {}", secs(p.endedMs), howEnded(p));
}

void describeServerPings(WsReport& r) {
  const std::vector<double>& pings = r.result.browser.serverPingsMs;
  if (pings.empty()) {
    r.findings.push_back(fmt::format("server pings: none in {}", secs(r.result.browser.endedMs)));
    return;
  }
  std::vector<double> gaps{pings.front()};
  for (std::size_t i = 1; i < pings.size(); ++i) gaps.push_back(pings[i] - pings[i - 1]);
  r.serverPings = true;
  r.serverPingIntervalMs = median(gaps);
  r.findings.push_back(
      fmt::format("server pings: every {} ({} seen)", secs(r.serverPingIntervalMs), pings.size()));
}

void describeProbes(WsReport& r) {
  const WsResult& s = r.result;
  r.findings.push_back("a quiet client that answers pings (a browser): " + life(s.browser));
  r.findings.push_back("a client that answers nothing (hung or gone): " + life(s.mute));
  std::string pinger = life(s.pinger);
  if (s.pinger.pongs > 0) {
    pinger += fmt::format(" ({} pongs, RTT {:.1f} ms)", s.pinger.pongs, s.pinger.rttMs);
  }
  r.findings.push_back(fmt::format("a client that pings every {}: {}",
                                   secs(static_cast<double>(r.pingInterval)), pinger));
}

void limitAdvice(WsReport& r) {
  const WsResult& s = r.result;
  double limit = r.quietLimitMs;
  double ping = limit * kPingShare;
  std::string who = r.quietLimitBy == "path"
                        ? "Something on this path closes quiet WebSocket connections after " +
                              secs(limit) +
                              " without a close frame: usually a proxy's or load balancer's idle "
                              "timeout (nginx proxy_read_timeout, 60 s by default; AWS ALB, 60 s)"
                        : "The server closes quiet WebSocket connections after " + secs(limit) +
                              " (" + howEnded(s.browser) + ")";
  r.advice.push_back(who + ".");
  if (!r.clientPingsTested) {
    r.advice.push_back(fmt::format(
        "The pinging client's first ping came after that limit: rerun with --ping-interval "
        "below {} to see whether pings keep the connection.",
        secs(limit)));
  } else if (r.clientPingsHelp) {
    r.advice.push_back(fmt::format(
        "Pings keep it open: ping every {} or less (three quarters of the limit), from the "
        "server: browsers cannot send pings from JavaScript (tether serve: --ws-ping-interval "
        "{}).",
        secs(ping), durationFlag(ping)));
  } else {
    r.advice.push_back(fmt::format(
        "Pings do not keep it open (the pinging client ended too): the path limits the "
        "connection's life or counts only messages; send an application message every {} or "
        "reconnect before {}.",
        secs(ping), secs(limit)));
  }
  if (r.serverPings && r.serverPingIntervalMs > limit) {
    r.advice.push_back(fmt::format("The server's pings (every {}) come too late for this limit.",
                                   secs(r.serverPingIntervalMs)));
  }
}

void deadPeerAdvice(WsReport& r) {
  const WsProbeSeen& mute = r.result.mute;
  if (mute.end == WsEnd::kCloseFrame && r.serverPings) {
    r.advice.push_back(fmt::format(
        "The server finds dead clients: one that stops answering its pings is closed after {}.",
        secs(mute.endedMs)));
  } else if (mute.end == WsEnd::kOpen && r.serverPings) {
    r.advice.push_back(fmt::format(
        "The server pings but kept a client that never answered for {}: it does not close dead "
        "clients, or its ping timeout is longer than --max-idle-wait.",
        secs(mute.endedMs)));
  } else if (mute.end == WsEnd::kOpen && !r.serverPings) {
    // Only as far as the wait: a server pinging every 30 s looks silent in 10 s.
    r.advice.push_back(fmt::format(
        "The server never pinged in {} and kept a client that answered nothing: if it does not "
        "ping at all, dead clients (a closed laptop, a lost network) keep their connection until "
        "TCP gives up; ping from the server and close after a timeout (tether serve: "
        "--ws-ping-interval, --ws-ping-timeout). If it pings less often, a longer "
        "--max-idle-wait shows it.",
        secs(mute.endedMs)));
  }
}

}  // namespace

const char* wsEndName(WsEnd end) noexcept {
  switch (end) {
    case WsEnd::kOpen: return "open";
    case WsEnd::kCloseFrame: return "close_frame";
    case WsEnd::kFin: return "fin";
    case WsEnd::kReset: return "reset";
    case WsEnd::kNoPong: return "no_pong";
    case WsEnd::kFailed: return "failed";
  }
  return "failed";
}

WsReport buildWsReport(const WsConfig& config, const WsResult& result) {
  WsReport r;
  r.url = config.url;
  r.maxIdleWait = config.maxIdleWait;
  r.pingInterval = config.pingInterval;
  r.result = result;
  r.handshakeMs = result.browser.openedMs;
  describeServerPings(r);
  describeProbes(r);
  // The quiet limit is the browser's: a live page. (The mute probe may be
  // closed sooner by the server's dead-peer check, which is no limit.)
  const WsProbeSeen& b = result.browser;
  const WsProbeSeen& p = result.pinger;
  if (ended(b.end)) {
    r.quietLimitMs = b.endedMs;
    r.quietLimitBy = endedByPath(b.end) ? "path" : "server";
    r.clientPingsTested = static_cast<double>(config.pingInterval) < b.endedMs;
    r.clientPingsHelp = p.end == WsEnd::kOpen || (ended(p.end) && p.endedMs > b.endedMs + 1000);
    limitAdvice(r);
  } else if (b.end == WsEnd::kOpen) {
    r.advice.push_back(
        r.serverPings
            ? fmt::format("Browsers stay connected: the server's pings (every {}) keep this path "
                          "open for at least {}.",
                          secs(r.serverPingIntervalMs), secs(b.endedMs))
            : fmt::format("No idle limit within {} (--max-idle-wait); a proxy with a longer idle "
                          "timeout would need a longer wait.",
                          secs(b.endedMs)));
  }
  deadPeerAdvice(r);
  if (p.end == WsEnd::kCloseFrame && p.closeCode == 1008 &&
      p.closeReason.find("ping") != std::string::npos) {
    r.advice.push_back(fmt::format(
        "The server closed the client that pinged every {} for pinging too often: it allows "
        "slower pings only (tether serve: --ws-min-ping-interval); rerun with a longer "
        "--ping-interval.",
        secs(static_cast<double>(config.pingInterval))));
  }
  if (p.end == WsEnd::kNoPong) {
    r.advice.push_back(
        "The server did not answer a ping within --timeout (RFC 6455 §5.5.2 requires a pong).");
  }
  return r;
}

std::string formatWsText(const WsReport& r) {
  std::string out = fmt::format("WebSocket {}\n  handshake: 101 Switching Protocols in {:.1f} ms\n",
                                r.url, r.handshakeMs);
  for (const std::string& f : r.findings) out += "  " + f + "\n";
  out += "\nAdvice:\n";
  for (const std::string& a : r.advice) out += "  - " + a + "\n";
  return out;
}

}  // namespace tether::tools::inspect
