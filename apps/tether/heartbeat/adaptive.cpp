#include "heartbeat/adaptive.h"

#include <fmt/format.h>

#include "heartbeat/client_log.h"
#include "heartbeat/event_log.h"
#include "heartbeat/signal_watcher.h"
#include "tether/liveness/adaptive_driver.h"

namespace tether::app::heartbeat {
namespace {

double seconds(Millis ms) { return static_cast<double>(ms) / 1000.0; }

// What `connect --adaptive` prints, and its exit code.
class AdaptiveLog final : public liveness::AdaptiveDriverObserver {
 public:
  AdaptiveLog(net::EventLoop& loop, const HeartbeatSettings& settings, EventLog& log)
      : loop_(loop), settings_(settings), log_(log) {}

  int exitCode() const noexcept { return exitCode_; }

  void onConnected(const liveness::ClientConnected& c) override {
    log_.emit("connected", {{"peer", c.peer}, {"interval_ms", c.interval}},
              fmt::format("connected to {}, interval {:.3f} s{}", c.peer, seconds(c.interval),
                          c.warmingUp ? " (warm-up)" : ""));
  }

  void onPingSent(std::uint64_t opaque) override {
    if (log_.json()) log_.emit("ping", {{"id", opaque}}, "");
  }

  void onPong(const liveness::ClientPong& p) override {
    log_.emit("pong", {{"rtt_ms", eventMs(p.rttMs)}, {"interval_ms", p.interval}},
              fmt::format("pong rtt {:.3f} ms after {:.3f} s idle", p.rttMs, seconds(p.interval)));
  }

  void onClosed(const liveness::SessionClose& info) override { logClosed(log_, info); }

  void onIntervalChanged(const liveness::IntervalChange& c) override {
    std::string_view why = liveness::adaptiveChangeName(c.change);
    std::string_view state = liveness::adaptiveStateName(c.state);
    log_.emit(
        "interval",
        {{"interval_ms", c.interval},
         {"previous_ms", c.previous},
         {"adaptive_ms", c.adaptive},
         {"change", why},
         {"state", state}},
        fmt::format("interval {:.3f} s -> {:.3f} s ({}, {}; adaptive value {:.3f} s)",
                    seconds(c.previous), seconds(c.interval), why, state, seconds(c.adaptive)));
  }

  void onFinished(const liveness::ClientFinished& how) override {
    if (how.end == liveness::ClientEnd::kConnectError) {
      printConnectError(settings_.address, how.connectErrno);
    }
    exitCode_ = exitCodeFor(how);
    loop_.quit();
  }

 private:
  net::EventLoop& loop_;
  const HeartbeatSettings& settings_;
  EventLog& log_;
  int exitCode_ = 0;
};

}  // namespace

int runAdaptive(const HeartbeatSettings& settings) {
  net::EventLoop loop;
  EventLog log(settings.json);
  AdaptiveLog events(loop, settings, log);
  liveness::AdaptiveDriverOptions options;
  options.client = clientOptions(settings);
  options.adaptive = *settings.adaptive;
  liveness::AdaptiveDriver driver(loop, options, events);
  SignalWatcher signals(loop, [&](int) { driver.stop(); });
  driver.start();
  loop.run();
  return events.exitCode();
}

}  // namespace tether::app::heartbeat
