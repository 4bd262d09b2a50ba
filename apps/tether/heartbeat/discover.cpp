#include "heartbeat/discover.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "heartbeat/client_log.h"
#include "heartbeat/event_log.h"
#include "heartbeat/signal_watcher.h"
#include "tether/core/duration.h"
#include "tether/liveness/discovery_runner.h"

namespace tether::app::heartbeat {
namespace {

double seconds(Millis ms) { return static_cast<double>(ms) / 1000.0; }

// What `connect --discover` prints, and its exit code.
class DiscoverLog final : public liveness::DiscoveryObserver {
 public:
  DiscoverLog(net::EventLoop& loop, const HeartbeatSettings& settings, EventLog& log)
      : loop_(loop), settings_(settings), log_(log) {}

  int exitCode() const noexcept { return exitCode_; }

  void onRound(const liveness::DiscoveryRound& r) override {
    std::string list;
    for (Millis t : r.idles) list += fmt::format("{}{}", list.empty() ? "" : ",", t);
    log_.emit("round", {{"round", r.round}, {"idle_ms", r.idles}},
              fmt::format("round {}: {} probes idling {} ms", r.round, r.idles.size(), list));
  }

  void onProbe(const liveness::ProbeReport& p) override {
    std::string_view result = liveness::probeVerdictName(p.verdict);
    log_.emit("probe",
              {{"round", p.round}, {"idle_ms", p.idle}, {"result", result}, {"reason", p.reason}},
              fmt::format("probe idle {:.3f} s: {} ({})", seconds(p.idle), result, p.reason));
  }

  void onFinished(const liveness::DiscoveryResult& r) override {
    exitCode_ = report(r);
    loop_.quit();
  }

 private:
  int report(const liveness::DiscoveryResult& r) {
    using Outcome = liveness::IdleDiscovery::Outcome;
    if (r.end == liveness::DiscoveryEnd::kStopped) return 0;
    if (r.end == liveness::DiscoveryEnd::kConnectError) {
      printConnectError(settings_.address, r.connectErrno);
      return 1;
    }
    std::string_view name = liveness::discoveryOutcomeName(r.outcome);
    if (r.outcome == Outcome::kNoTimeout) {
      log_.emit("discovered",
                {{"outcome", name},
                 {"idle_timeout_ms", nullptr},
                 {"survived_ms", r.survivedMax},
                 {"rounds", r.rounds}},
                fmt::format("no timeout found up to --discover-max {}: an idle of {:.3f} s "
                            "survived",
                            core::formatDuration(settings_.discover->max), seconds(r.survivedMax)));
      return 0;
    }
    if (r.outcome == Outcome::kInconsistent) {
      fmt::print(stderr,
                 "tether: inconsistent probes: {:.3f} s idle survived but {:.3f} s died; the "
                 "path loses packets, it is not an idle timeout\n",
                 seconds(r.survivedMax), seconds(*r.diedMin));
      log_.emit("discovered", {{"outcome", name}}, "");
      return 1;
    }
    Millis low = r.survivedMax, high = *r.diedMin;
    Millis estimate = *r.estimate, recommended = *r.recommendedInterval;
    log_.emit("discovered",
              {{"outcome", name},
               {"idle_timeout_ms", estimate},
               {"low_ms", low},
               {"high_ms", high},
               {"recommended_interval_ms", recommended},
               {"rounds", r.rounds}},
              fmt::format("idle timeout {:.3f} s +- {:.3f} s (an idle of {:.3f} s survived, "
                          "{:.3f} s died); recommended heartbeat interval {:.3f} s",
                          seconds(estimate), seconds(high - low) / 2, seconds(low), seconds(high),
                          seconds(recommended)));
    return 0;
  }

  net::EventLoop& loop_;
  const HeartbeatSettings& settings_;
  EventLog& log_;
  int exitCode_ = 0;
};

}  // namespace

int runDiscover(const HeartbeatSettings& settings) {
  net::EventLoop loop;
  EventLog log(settings.json);
  DiscoverLog events(loop, settings, log);
  liveness::DiscoveryOptions options;
  options.address = settings.address;
  options.heartbeat = settings.session.heartbeat;
  options.search = *settings.discover;
  options.userTimeout = settings.keepalive.userTimeout;
  options.seed = static_cast<std::uint64_t>(::getpid());
  liveness::DiscoveryRunner runner(loop, options, events);
  SignalWatcher signals(loop, [&](int) { runner.stop(); });
  runner.start();
  loop.run();
  return events.exitCode();
}

}  // namespace tether::app::heartbeat
