// `tether explain --path`: the timeout ladder of a chain of hops, printed as
// text (what each hop does, each check with its consequence and fix) or JSON.
#include "explain_path.h"

#include <fmt/format.h>

#include <stdexcept>

#include "commands.h"
#include "json_line.h"
#include "tether/core/duration.h"

namespace tether::app {
namespace {

using liveness::Hop;
using liveness::HopRole;
using liveness::kNoLimit;
using liveness::LadderFinding;
using liveness::LadderReport;
using liveness::LadderVerdict;
using liveness::Millis;

// Whole seconds as seconds (60s, not 1m: timeouts are quoted that way in every config).
std::string dur(Millis ms) {
  if (ms == kNoLimit) return "no limit";
  return ms % 1000 == 0 ? fmt::format("{}s", ms / 1000) : core::formatDuration(ms);
}

json::Value seconds(Millis ms) {
  return ms == kNoLimit ? json::Value(nullptr) : json::Value(static_cast<double>(ms) / 1000.0);
}

std::string hopLine(const Hop& h) {
  const auto& t = h.t;
  std::string what;
  if (h.role == HopRole::kMiddlebox) {
    what = fmt::format("forgets a flow idle for {}{}", dur(t.idle),
                       t.countsKeepalive ? " (TCP keepalive probes count as traffic)" : "");
  } else {
    if (h.role != HopRole::kClient) {
      what = t.keepalive == 0 ? "no keep-alive"
                              : fmt::format("closes idle connections after {}", dur(t.keepalive));
      if (t.hint != kNoLimit) what += fmt::format(" (advertises timeout={})", dur(t.hint));
    }
    if (h.role != HopRole::kServer) {
      if (!what.empty()) what += "; ";
      what += t.pool == 0 ? "opens a connection per request"
                          : fmt::format("reuses idle connections up to {}", dur(t.pool));
      if (t.hintMargin != kNoLimit)
        what += fmt::format(" (or the next hop's hint minus {})", dur(t.hintMargin));
    }
    if (t.tcpKeepalive != kNoLimit)
      what += fmt::format("; TCP keepalive after {} idle", dur(t.tcpKeepalive));
  }
  return fmt::format("  {:<11} {:<9} {}\n", h.name, liveness::hopRoleName(h.role), what);
}

// What a lost race looks like to the reusing side.
std::string consequence(const Hop& reuser) {
  if (reuser.role == HopRole::kClient)
    return "the client sees ECONNRESET (\"socket hang up\", \"connection reset by peer\")";
  return fmt::format("{} answers 502 unless it retries (safe only for idempotent requests)",
                     reuser.name);
}

// The setting that raises a hop's idle close to at least `closeAt`.
std::string keepaliveFix(const Hop& h, Millis closeAt) {
  if (h.name == "tether") {  // tether closes one grace second after its setting
    Millis setting = (closeAt - 1000 + 999) / 1000 * 1000;
    return fmt::format("tether serve --keepalive-timeout {}", dur(setting));
  }
  return fmt::format("{}'s idle timeout {} or more", h.name, dur(closeAt));
}

std::string poolFix(const Hop& reuser, const LadderFinding& f) {
  return fmt::format("{}'s pool {}", reuser.name,
                     f.suggestPool == 0 ? "off" : fmt::format("at most {}", dur(f.suggestPool)));
}

std::string pairText(const LadderReport& r, const LadderFinding& f) {
  const Hop& a = r.hops[f.from];
  const Hop& b = r.hops[f.to];
  std::string head = fmt::format("  {} -> {}: ", a.name, b.name);
  std::string reuse = f.reuseUntil == kNoLimit
                          ? fmt::format("{} reuses idle connections without a time limit", a.name)
                          : fmt::format("{} reuses idle connections for up to {}{}", a.name,
                                        dur(f.reuseUntil), f.byHint ? " (from the hint)" : "");
  switch (f.verdict) {
    case LadderVerdict::kNoReuse:
      return head + "ok: no connection is kept for reuse, so none can be reused after a close\n";
    case LadderVerdict::kOk:
      if (f.closedAfter == kNoLimit)
        return head + fmt::format("ok: {}; {} never closes idle ones\n", reuse, b.name);
      return head + fmt::format("ok: {}; {} closes them after {} ({} to spare)\n", reuse, b.name,
                                dur(f.closedAfter), dur(f.closedAfter - f.reuseUntil));
    case LadderVerdict::kTight:
      return head + fmt::format(
                        "TIGHT: {}; {} closes them after {}, less than {} later: a request "
                        "that leaves just before the limit may still meet the close.\n"
                        "     Better: {}, or {}\n",
                        reuse, b.name, dur(f.closedAfter), dur(liveness::kLadderMargin),
                        keepaliveFix(b, f.suggestKeepalive), poolFix(a, f));
    default: break;
  }
  std::string fix =
      f.suggestKeepalive == kNoLimit
          ? poolFix(a, f) + fmt::format(" (or no idle timeout on {})", b.name)
          : fmt::format("{}, or {}", keepaliveFix(b, f.suggestKeepalive), poolFix(a, f));
  return head + fmt::format(
                    "RACE: {}; {} closes them after {}.\n"
                    "     A request sent on a connection idle for {} or more may find it closed: "
                    "{}.\n"
                    "     Fix: {}\n",
                    reuse, b.name, dur(f.closedAfter), dur(f.closedAfter), consequence(a), fix);
}

std::string dropText(const LadderReport& r, const LadderFinding& f) {
  const Hop& a = r.hops[f.from];
  const Hop& b = r.hops[f.to];
  const Hop& m = r.hops[f.middlebox];
  Millis idleMax = f.reuseUntil == kNoLimit    ? f.closedAfter
                   : f.closedAfter == kNoLimit ? f.reuseUntil
                                               : std::min(f.reuseUntil, f.closedAfter);
  return fmt::format(
      "  {} -> {} through {}: SILENT DROP: the connection may stay idle for {}; {} forgets it "
      "after "
      "{}.\n     The next request on it {}.\n"
      "     Fix: TCP keepalive on {} or {} with an idle time below {} (e.g. tether --so-keepalive "
      "{}::), or idle limits below {}\n",
      a.name, b.name, m.name, dur(idleMax), m.name, dur(m.t.idle),
      m.t.resetsForgotten ? "gets a reset (ECONNRESET)"
                          : "is dropped: it hangs until TCP gives up (about 15 min without "
                            "TCP_USER_TIMEOUT)",
      a.name, b.name, dur(m.t.idle), f.suggestTcpKeepalive / 1000, dur(m.t.idle));
}

}  // namespace

std::string ladderText(const LadderReport& r) {
  std::string names;
  for (const Hop& h : r.hops) names += fmt::format("{}{}", names.empty() ? "" : " -> ", h.name);
  std::string out = fmt::format("Path: {}\n", names);
  for (const Hop& h : r.hops) out += hopLine(h);
  out += fmt::format("\nChecks (the side that reuses must stop {} before the other side closes):\n",
                     dur(liveness::kLadderMargin));
  for (const LadderFinding& f : r.findings)
    out += f.verdict == LadderVerdict::kSilentDrop ? dropText(r, f) : pairText(r, f);
  out += "\nSources:\n";
  for (const Hop& h : r.hops) out += fmt::format("  {}: {}\n", h.name, h.source);
  out += fmt::format("\n{}\n", r.problems == 0 ? "No problems found."
                                               : fmt::format("{} problem{} found.", r.problems,
                                                             r.problems == 1 ? "" : "s"));
  return out;
}

json::Value ladderJson(const LadderReport& r) {
  json::Value hops = json::Value::array();
  for (const Hop& h : r.hops) {
    hops.push_back({{"name", h.name},
                    {"role", liveness::hopRoleName(h.role)},
                    {"closes_idle_after_s", seconds(h.t.keepalive)},
                    {"advertised_timeout_s", seconds(h.t.hint)},
                    {"reuses_idle_up_to_s", seconds(h.t.pool)},
                    {"hint_margin_s", seconds(h.t.hintMargin)},
                    {"tcp_keepalive_idle_s", seconds(h.t.tcpKeepalive)},
                    {"forgets_idle_flow_after_s", seconds(h.t.idle)},
                    {"source", h.source}});
  }
  json::Value findings = json::Value::array();
  for (const LadderFinding& f : r.findings) {
    json::Value v = {{"from", r.hops[f.from].name},
                     {"to", r.hops[f.to].name},
                     {"verdict", liveness::ladderVerdictName(f.verdict)},
                     {"reuse_until_s", seconds(f.reuseUntil)},
                     {"by_hint", f.byHint},
                     {"closed_after_s", seconds(f.closedAfter)}};
    if (f.verdict == LadderVerdict::kSilentDrop) {
      v["middlebox"] = r.hops[f.middlebox].name;
      v["suggest_tcp_keepalive_idle_s"] = seconds(f.suggestTcpKeepalive);
    } else if (f.verdict == LadderVerdict::kRace || f.verdict == LadderVerdict::kTight) {
      v["suggest_closes_idle_after_s"] = seconds(f.suggestKeepalive);
      v["suggest_reuses_idle_up_to_s"] = seconds(f.suggestPool);
    }
    findings.push_back(std::move(v));
  }
  return {{"path", std::move(hops)}, {"findings", std::move(findings)}, {"problems", r.problems}};
}

int runExplainPath(const std::vector<std::string>& specs, bool json) {
  std::vector<liveness::Hop> hops;
  try {
    hops = liveness::parsePath(specs);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("--path: {}", e.what()));
  }
  LadderReport r = liveness::checkLadder(std::move(hops));
  fmt::print("{}", json ? json::line(ladderJson(r)) : ladderText(r));
  return r.problems == 0 ? 0 : 1;
}

}  // namespace tether::app
