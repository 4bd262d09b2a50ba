// `tether explain`: what a TCP keepalive profile (and TCP_USER_TIMEOUT) means in
// practice: detection bounds, the probe timeline, probe cost, risky settings.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

#include "commands.h"
#include "explain_path.h"
#include "explain_report.h"
#include "help_format.h"
#include "tether/core/duration.h"
#include "tether/liveness/detection_bound.h"
#include "tether/liveness/keepalive_profile.h"
#include "tether/liveness/timeout_ladder.h"

namespace tether::app {
namespace {

using liveness::formatSeconds;
using liveness::Millis;

constexpr std::size_t kTimelineEvents = 12;

struct ExplainArgs {
  std::string soKeepalive = "on";
  std::string userTimeout = "0";
  std::string initialRto = "200ms";
  std::vector<std::string> path;
  bool json = false;
};

Explanation explain(const ExplainArgs& a) {
  Explanation e;
  e.spec = a.soKeepalive;
  std::vector<std::string> parseWarnings;
  liveness::KeepaliveProfile requested;
  Millis rto = 0;
  try {
    requested = liveness::parseKeepaliveProfile(a.soKeepalive, &parseWarnings);
  } catch (const std::invalid_argument& err) {
    throw UsageError(fmt::format("--so-keepalive: {}", err.what()));
  }
  try {
    requested.userTimeout = liveness::parseUserTimeout(a.userTimeout);
  } catch (const std::invalid_argument& err) {
    throw UsageError(fmt::format("--tcp-user-timeout: {}", err.what()));
  }
  auto parsedRto = core::parseDuration(a.initialRto);
  if (!parsedRto || *parsedRto < 1 || *parsedRto > liveness::kRtoMax) {
    throw UsageError(
        fmt::format("--initial-rto: invalid '{}' (1ms to 120s, e.g. 200ms, 1s)", a.initialRto));
  }
  rto = *parsedRto;
  e.system = liveness::readSystemKeepaliveDefaults();
  e.profile = liveness::resolveKeepaliveProfile(requested, e.system);
  e.idle = liveness::idleDetection(e.profile);
  e.timeline = liveness::probeTimeline(e.profile, kTimelineEvents, &e.elided);
  e.inFlight = liveness::inFlightDetection(e.profile.userTimeout, e.system.retries2, rto);
  e.traffic = liveness::probeTraffic(e.profile);
  for (std::string& w : parseWarnings) e.warnings.push_back({"rounded_to_seconds", std::move(w)});
  for (auto& w : liveness::keepaliveWarnings(e.profile)) e.warnings.push_back(std::move(w));
  return e;
}

std::string inFlightText(const Explanation& e) {
  const auto& f = e.inFlight;
  if (f.byUserTimeout) {
    return fmt::format(
        "killed {} after the oldest unacknowledged segment was sent\n  (TCP_USER_TIMEOUT; the "
        "retransmission timer is clamped to the time left, so the kill lands right after it)",
        formatSeconds(f.deadAt));
  }
  return fmt::format(
      "killed after about {}:\n  no user timeout, so tcp_retries2={} decides (kernel model: "
      "RTO {} doubling up to 120 s, hypothetical timeout {};\n  with an initial RTO of {} the kill "
      "comes at the first expiry past it, after {} retransmissions)",
      formatSeconds(f.deadAt), f.retries2, core::formatDuration(liveness::kRtoMin),
      formatSeconds(f.modelTimeout), core::formatDuration(f.initialRto), f.retransmissions);
}

void printText(const Explanation& e) {
  const auto& p = e.profile;
  const auto& s = e.system;
  fmt::print("TCP keepalive {}: ", e.spec);
  if (p.enabled) {
    fmt::print("idle {} s, interval {} s, {} probes", p.idleS, p.intervalS, p.count);
  } else {
    fmt::print("off");
  }
  fmt::print("; TCP_USER_TIMEOUT {}\n",
             p.userTimeout > 0 ? core::formatDuration(p.userTimeout) : "not set");
  fmt::print(
      "system ({}): tcp_keepalive_time {} s, tcp_keepalive_intvl {} s, "
      "tcp_keepalive_probes {}, tcp_retries2 {}\n\n",
      s.fromSystem ? "/proc/sys/net/ipv4" : "kernel defaults, /proc unreadable", s.idleS,
      s.intervalS, s.count, s.retries2);
  if (!e.idle.detected) {
    fmt::print("Idle connection, peer dead: never detected (no keepalive probes are sent)\n");
  } else {
    fmt::print("Idle connection, peer dead: detected after at most {}",
               formatSeconds(e.idle.deadAt));
    if (e.idle.byUserTimeout) {
      fmt::print(
          " (the user timeout replaces TCP_KEEPCNT: first probe timer at or after {} "
          "with a probe unanswered)\n",
          formatSeconds(p.userTimeout));
    } else {
      fmt::print(" (idle {} s + interval {} s x {} probes)\n", p.idleS, p.intervalS, p.count);
    }
    for (std::size_t i = 0; i < e.timeline.size(); ++i) {
      const auto& ev = e.timeline[i];
      if (ev.probe == 0) {
        fmt::print("  t={:<10} declared dead: ETIMEDOUT, RST sent\n", formatSeconds(ev.at));
      } else {
        fmt::print("  t={:<10} probe {}\n", formatSeconds(ev.at), ev.probe);
      }
      if (e.elided > 0 && i + 1 < e.timeline.size() && e.timeline[i + 1].probe > ev.probe + 1) {
        fmt::print("  ... {} more probes, one every {} s\n", e.elided, p.intervalS);
      }
    }
    fmt::print("  (t counts from the last segment received from the peer)\n");
  }
  fmt::print(
      "\nData in flight, peer dead: keepalive is suspended while data is unacknowledged; "
      "{}\n\n",
      inFlightText(e));
  if (p.enabled) {
    const auto& t = e.traffic;
    fmt::print(
        "Probe traffic per idle connection per hour (peer alive): {:.1f} probes + {:.1f} "
        "ACKs = {:.1f} packets; {:.0f} bytes IPv4 ({}-byte packets: IP 20 + TCP 20 + "
        "timestamps 12), {:.0f} bytes IPv6 ({}), {:.0f} bytes as Ethernet frames; per side "
        "that enables keepalive\n\n",
        t.probesPerHour, t.probesPerHour, t.packetsPerHour, t.ipv4BytesPerHour,
        liveness::ProbeTraffic::kIpv4Bytes, t.ipv6BytesPerHour, liveness::ProbeTraffic::kIpv6Bytes,
        t.ipv4FrameBytesPerHour);
  }
  if (e.warnings.empty()) {
    fmt::print("No warnings.\n");
    return;
  }
  fmt::print("Warnings:\n");
  for (const auto& w : e.warnings) fmt::print("  - {}: {}\n", w.code, w.message);
}

std::string presetList() {
  std::string out;
  for (std::string_view n : liveness::hopPresetNames())
    out += fmt::format("{}{}", out.empty() ? "" : ", ", n);
  return out;
}

int run(const ExplainArgs& args) {
  if (!args.path.empty()) return runExplainPath(args.path, args.json);
  Explanation e = explain(args);
  if (args.json) {
    fmt::print("{}", explanationJson(e));
  } else {
    printText(e);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

Command addExplainCommand(CLI::App& app) {
  auto args = std::make_shared<ExplainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "explain",
      "Explain a TCP keepalive profile (detection bounds, probe cost, warnings), or check the "
      "idle timeouts along a path of hops (--path)");
  CLI::Option* soKeepalive =
      cmd->add_option("--so-keepalive", args->soKeepalive,
                      "The profile: on, off or IDLE:INTVL:CNT (nginx syntax; an empty field "
                      "keeps the system value: 30m::10; so do missing ones at the end: 30:1)");
  label(soKeepalive, "on|off|IDLE:INTVL:CNT")->capture_default_str();
  CLI::Option* userTimeout = cmd->add_option("--tcp-user-timeout", args->userTimeout,
                                             "TCP_USER_TIMEOUT to explain with it; 0: not set");
  label(userTimeout, "DURATION")->capture_default_str();
  CLI::Option* initialRto =
      cmd->add_option("--initial-rto", args->initialRto,
                      "Initial retransmission timeout assumed for the tcp_retries2 estimate");
  label(initialRto, "DURATION")->capture_default_str();
  CLI::Option* path = cmd->add_option(
      "--path", args->path,
      "Check the idle timeouts along a chain of hops, client first: NAME[:KEY=VALUE,...] each, "
      "NAME a preset (" +
          presetList() +
          "), KEY keepalive, pool (upstream), idle, hint, hint-margin or tcpka; exit 1 when a "
          "hop may reuse a closed connection or a middlebox may forget an idle flow");
  label(path, "HOP...")->excludes(soKeepalive)->excludes(userTimeout)->excludes(initialRto);
  cmd->add_flag("--json", args->json, "Print one JSON object instead of text");
  return {cmd, [args] { return run(*args); }};
}

}  // namespace tether::app
