// `tether heartbeat connect`: one heartbeat connection (liveness::HeartbeatClient)
// to a `heartbeat serve`, printing state changes and RTTs, exiting with a code
// that names why it ended.
#include <fmt/format.h>

#include <cstdio>

#include "heartbeat/adaptive.h"
#include "heartbeat/client_log.h"
#include "heartbeat/discover.h"
#include "heartbeat/event_log.h"
#include "heartbeat/options.h"
#include "heartbeat/signal_watcher.h"
#include "tether/liveness/heartbeat_client.h"

namespace tether::app::heartbeat {
namespace {

// What `connect` prints, and its exit code.
class ConnectLog final : public liveness::HeartbeatClientObserver {
 public:
  ConnectLog(net::EventLoop& loop, const HeartbeatSettings& settings, EventLog& log)
      : loop_(loop), settings_(settings), log_(log) {}

  int exitCode() const noexcept { return exitCode_; }

  void onConnected(const liveness::ClientConnected& c) override {
    log_.emit("connected", {{"peer", c.peer}}, fmt::format("connected to {}", c.peer));
  }

  void onPingSent(std::uint64_t opaque) override {
    if (log_.json()) log_.emit("ping", {{"id", opaque}}, "");
  }

  void onPong(const liveness::ClientPong& p) override {
    rtt_.add(p.rttMs);
    log_.emit("pong", {{"rtt_ms", eventMs(p.rttMs)}}, fmt::format("pong rtt {:.3f} ms", p.rttMs));
  }

  void onClosed(const liveness::SessionClose& info) override {
    if (info.reason == liveness::SessionCloseReason::kHeartbeatTimeout) {
      log_.emit("heartbeat_timeout", {{"since_last_read_ms", info.sinceLastRead}},
                fmt::format("heartbeat timeout: nothing read for {:.3f} s",
                            static_cast<double>(info.sinceLastRead) / 1000.0));
    }
    logClosed(log_, info);
  }

  void onFinished(const liveness::ClientFinished& how) override {
    if (how.end == liveness::ClientEnd::kConnectError) {
      printConnectError(settings_.address, how.connectErrno);
    }
    exitCode_ = exitCodeFor(how);
    loop_.quit();
  }

  void printSummary(const liveness::HeartbeatClient& client) const {
    const liveness::HeartbeatSession* session = client.session();
    if (session == nullptr) return;  // never connected: the error line says it all
    std::uint64_t pings = session->engine().pingsSent(), data = session->dataBytesSent();
    if (log_.json()) {
      // No pong, no RTT: null rather than zeros a reader could take as measured.
      json::Value rtt = nullptr;
      if (rtt_.count() > 0) {
        rtt = {{"min", eventMs(rtt_.min())},
               {"avg", eventMs(rtt_.mean())},
               {"max", eventMs(rtt_.max())},
               {"p50", eventMs(rtt_.percentile(50))}};
      }
      log_.emit("summary",
                {{"pings", pings},
                 {"pongs", rtt_.count()},
                 {"data_bytes_sent", data},
                 {"rtt_ms", std::move(rtt)}},
                "");
      return;
    }
    fmt::print("--- {} heartbeat statistics ---\n", settings_.target);
    fmt::print("{} pings sent, {} pongs received, {} DATA bytes sent\n", pings, rtt_.count(), data);
    if (rtt_.count() > 0) {
      fmt::print("rtt min/avg/max/p50 = {:.3f}/{:.3f}/{:.3f}/{:.3f} ms\n", rtt_.min(), rtt_.mean(),
                 rtt_.max(), rtt_.percentile(50));
    }
    std::fflush(stdout);
  }

 private:
  net::EventLoop& loop_;
  const HeartbeatSettings& settings_;
  EventLog& log_;
  RttStats rtt_;
  int exitCode_ = 0;
};

}  // namespace

int runConnect(const HeartbeatArgs& args) {
  HeartbeatSettings settings = toSettings(args);
  for (const std::string& w : settings.warnings) fmt::print(stderr, "tether: warning: {}\n", w);
  if (settings.discover) return runDiscover(settings);
  if (settings.adaptive) return runAdaptive(settings);
  net::EventLoop loop;
  EventLog log(settings.json);
  ConnectLog events(loop, settings, log);
  liveness::HeartbeatClient client(loop, clientOptions(settings), events);
  SignalWatcher signals(loop, [&](int) { client.stop(); });
  client.start();
  loop.run();
  events.printSummary(client);
  return events.exitCode();
}

}  // namespace tether::app::heartbeat
