#include "heartbeat/options.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "bench_options.h"
#include "commands.h"
#include "help_format.h"
#include "keepalive_options.h"
#include "tether/core/duration.h"
#include "tether/http/websocket_client.h"

namespace tether::app::heartbeat {
namespace {

constexpr Millis kResolveProbe = 2'000;  // per address of a name with several

Millis duration(const char* option, const std::string& text) {
  auto ms = core::parseDuration(text);
  if (!ms) {
    throw UsageError(
        fmt::format("{}: invalid duration '{}' (examples: 500ms, 30s, 5m, 1h)", option, text));
  }
  return *ms;
}

void requireRange(const char* option, int value, int lo, int hi) {
  if (value < lo || value > hi) {
    throw UsageError(fmt::format("{}: {} is out of range {}..{}", option, value, lo, hi));
  }
}

void keepaliveSettings(const HeartbeatArgs& a, HeartbeatSettings& s) {
  if (auto p = toKeepaliveProfile({a.soKeepalive, a.tcpUserTimeout}, s.warnings)) {
    s.keepalive = *p;
    s.applyKeepalive = true;
  }
}

void addAdaptiveOptions(CLI::App& cmd, HeartbeatArgs& a) {
  cmd.add_flag("--adaptive", a.adaptive,
               "Adapt the ping interval to the path (Tencent Mars smart heartbeat): step up "
               "after successes, reconnect and settle below an interval that failed");
  label(cmd.add_option("--adaptive-min", a.adaptiveMin,
                       "Start and floor of the interval (Mars' MinHeartInterval)"),
        "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--adaptive-max", a.adaptiveMax,
                       "Ceiling; the interval stays below max - margin (Mars' MaxHeartInterval)"),
        "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--adaptive-step", a.adaptiveStep, "Step up by this (Mars' HeartStep)"),
        "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--adaptive-margin", a.adaptiveMargin,
                       "Settle this far below the last good interval; also the re-probe step "
                       "(Mars' SuccessStep)"),
        "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--adaptive-successes", a.adaptiveSuccesses,
                       "Successes in a row before stepping up (Mars' BaseSuccCount)"),
        "N")
      ->capture_default_str();
  label(cmd.add_option("--adaptive-failures", a.adaptiveFailures,
                       "Failures at one interval before backing off (Mars' MaxHeartFailCount)"),
        "N")
      ->capture_default_str();
  label(cmd.add_option("--adaptive-reprobe", a.adaptiveReprobe,
                       "Once stable, probe upward again after this long (as Mars)"),
        "DURATION")
      ->capture_default_str();
  cmd.add_flag("--discover", a.discover,
               "Find the path's idle timeout with parallel probe connections (server at "
               "--interval off), print it with a recommended interval, then exit");
  label(cmd.add_option("--discover-max", a.discoverMax,
                       "Longest idle time probed (above AWS NAT 350s, Azure LB 4m, GCP 10m)"),
        "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--discover-probes", a.discoverProbes, "Probe connections per round (1-64)"),
        "N")
      ->capture_default_str();
}

// ws://HOST[:PORT]/PATH: the HTTP URL rules, port 80 by default; the name is
// resolved here (the first address that accepts a connection, as curl does).
void webSocketTarget(const std::string& text, HeartbeatSettings& s) {
  HttpUrl url = parseWebSocketUrl(text);
  std::string error;
  std::optional<net::SocketAddress> at =
      net::resolveReachable(url.host, url.port, kResolveProbe, &error);
  if (!at) throw UsageError(fmt::format("'{}': {}", text, error));
  s.address = *at;
  s.session.codec = http::webSocketHeartbeatCodec(url.authority, url.target);
}

Millis positive(const char* option, const std::string& text) {
  Millis ms = duration(option, text);
  if (ms <= 0) throw UsageError(fmt::format("{}: must be greater than 0", option));
  return ms;
}

void adaptiveSettings(const HeartbeatArgs& a, HeartbeatSettings& s) {
  if (a.adaptive && a.discover) throw UsageError("--adaptive and --discover are exclusive");
  if (a.adaptive) {
    if (a.interval == "off") throw UsageError("--adaptive: needs pings; drop --interval off");
    liveness::AdaptiveSettings ad;
    ad.min = positive("--adaptive-min", a.adaptiveMin);
    ad.max = positive("--adaptive-max", a.adaptiveMax);
    ad.step = positive("--adaptive-step", a.adaptiveStep);
    ad.margin = duration("--adaptive-margin", a.adaptiveMargin);
    ad.reprobeAfter = positive("--adaptive-reprobe", a.adaptiveReprobe);
    requireRange("--adaptive-successes", a.adaptiveSuccesses, 1, 1000);
    requireRange("--adaptive-failures", a.adaptiveFailures, 1, 1000);
    ad.successesPerStep = a.adaptiveSuccesses;
    ad.failuresAllowed = a.adaptiveFailures;
    std::string_view bad = liveness::validateAdaptiveSettings(ad);
    if (!bad.empty()) throw UsageError(fmt::format("--adaptive: {}", bad));
    s.adaptive = ad;
  }
  if (a.discover) {
    // Anything that sends on an idle probe would refresh the path being measured.
    if (!a.soKeepalive.empty())
      throw UsageError("--discover: --so-keepalive would keep probes alive");
    if (a.sendRate != "0") throw UsageError("--discover: --send-rate would keep probes alive");
    liveness::DiscoverySettings d;
    d.max = duration("--discover-max", a.discoverMax);
    requireRange("--discover-probes", a.discoverProbes, 1, 64);
    d.probes = a.discoverProbes;
    std::string_view bad = liveness::validateDiscoverySettings(d);
    if (!bad.empty()) throw UsageError(fmt::format("--discover-max: {}", bad));
    s.discover = d;
  }
}

}  // namespace

void addHeartbeatOptions(CLI::App& cmd, HeartbeatArgs& a, Role role) {
  if (role == Role::kServe) {
    label(cmd.add_option("--listen", a.address, "Address to listen on (port 0: a free port)"),
          "ADDR:PORT")
        ->required();
    label(cmd.add_option("--metrics-listen", a.metricsListen,
                         "Serve Prometheus metrics of the sessions (pings, pongs, RTT, closes by "
                         "reason) at http://ADDR:PORT/.tether/metrics"),
          "ADDR:PORT")
        ->default_str("off");
  } else {
    label(cmd.add_option("address", a.address,
                         "Numeric address of a `tether heartbeat serve`, or the ws:// URL of a "
                         "WebSocket server (ping/pong as the heartbeat)"),
          "HOST:PORT|URL")
        ->required();
    label(cmd.add_option("--send-rate", a.sendRate,
                         "Stream DATA frames at this many bytes/s (k, m suffixes); 0: none"),
          "BYTES/S")
        ->capture_default_str();
    label(cmd.add_option("--duration", a.duration, "Stop after this long and exit 0; 0: no limit"),
          "DURATION")
        ->capture_default_str();
    addAdaptiveOptions(cmd, a);
  }
  label(cmd.add_option("--interval", a.interval,
                       "Ping after this much silence (nothing read); off: never ping"),
        "DURATION|off")
      ->capture_default_str();
  label(cmd.add_option("--timeout", a.timeout,
                       "The peer is dead if nothing arrives this long after a ping"),
        "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--missed-pings", a.missedPings,
                       "Pings that may time out before the peer is declared dead"),
        "N")
      ->capture_default_str();
  label(cmd.add_option("--jitter", a.jitter, "Spread each interval by +- percent (0-50)"), "PCT")
      ->capture_default_str();
  label(cmd.add_option("--min-ping-interval", a.minPingInterval,
                       "A peer's ping sooner than this after the last accepted one is a strike; "
                       "0: no limit"),
        "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--max-ping-strikes", a.maxPingStrikes,
                       "Close with too_many_pings after more strikes than this; 0: unlimited"),
        "N")
      ->capture_default_str();
  addKeepaliveOptions(cmd, a.soKeepalive, a.tcpUserTimeout, "the heartbeat connections");
  cmd.add_flag("--json", a.json, "Print one JSON event per line on stdout");
}

HeartbeatSettings toSettings(const HeartbeatArgs& a) {
  HeartbeatSettings s;
  s.target = a.address;
  if (isWebSocketUrl(a.address)) {
    webSocketTarget(a.address, s);
  } else {
    auto addr = net::parseSocketAddress(a.address);
    if (!addr) {
      throw UsageError(fmt::format(
          "invalid address '{}' (numeric HOST:PORT, e.g. 127.0.0.1:7000 or [::1]:7000, or a "
          "ws:// URL)",
          a.address));
    }
    s.address = *addr;
  }
  liveness::HeartbeatConfig& hb = s.session.heartbeat;
  hb.interval = a.interval == "off" ? 0 : duration("--interval", a.interval);
  hb.timeout = duration("--timeout", a.timeout);
  if (hb.timeout <= 0) throw UsageError("--timeout: must be greater than 0");
  requireRange("--missed-pings", a.missedPings, 0, 100);
  hb.missedPingsAllowed = a.missedPings;
  requireRange("--jitter", a.jitter, 0, 50);
  hb.jitterPercent = a.jitter;
  hb.minPingInterval = duration("--min-ping-interval", a.minPingInterval);
  requireRange("--max-ping-strikes", a.maxPingStrikes, 0, 1000000);
  hb.maxPingStrikes = a.maxPingStrikes;
  auto rate = core::parseSize(a.sendRate);
  if (!rate)
    throw UsageError(
        fmt::format("--send-rate: invalid rate '{}' (examples: 0, 64k, 1m)", a.sendRate));
  s.session.sendRate = *rate;
  s.duration = duration("--duration", a.duration);
  if (!a.metricsListen.empty() && a.metricsListen != "off") {
    s.metricsListen = net::parseSocketAddress(a.metricsListen);
    if (!s.metricsListen) {
      throw UsageError(fmt::format(
          "--metrics-listen: invalid address '{}' (examples: 127.0.0.1:9100, [::1]:9100)",
          a.metricsListen));
    }
  }
  keepaliveSettings(a, s);
  adaptiveSettings(a, s);
  s.json = a.json;
  return s;
}

void applySocketOptions(int fd, const HeartbeatSettings& s) {
  if (s.applyKeepalive && !liveness::applyKeepaliveProfile(fd, s.keepalive)) {
    throw std::runtime_error(
        fmt::format("cannot apply keepalive options: {}", std::strerror(errno)));
  }
}

net::SocketSetup socketSetup(const HeartbeatSettings& s) {
  net::SocketSetup setup;
  setup.prepare = [&s](int fd) {
    applySocketOptions(fd, s);
    return true;
  };
  return setup;
}

liveness::HeartbeatClientOptions clientOptions(const HeartbeatSettings& settings) {
  liveness::HeartbeatClientOptions o;
  o.address = settings.address;
  o.session = settings.session;
  o.setup = socketSetup(settings);
  o.duration = settings.duration;
  o.seed = static_cast<std::uint64_t>(::getpid());
  return o;
}

}  // namespace tether::app::heartbeat
