// `tether heartbeat serve`: liveness::HeartbeatServer on one loop (accepts
// heartbeat clients, answers and sends pings, closes the clients that stop
// answering or ping too often), printing what its sessions do.
#include <fmt/format.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "admin_thread.h"
#include "bench_options.h"
#include "commands.h"
#include "heartbeat/event_log.h"
#include "heartbeat/options.h"
#include "heartbeat/serve_metrics.h"
#include "heartbeat/signal_watcher.h"
#include "tether/http/metrics.h"
#include "tether/liveness/heartbeat_server.h"

namespace tether::app::heartbeat {
namespace {

using http::addRelaxed;

// What `serve` prints, and counts for --metrics-listen.
class ServeLog final : public liveness::HeartbeatServerObserver {
 public:
  ServeLog(EventLog& log, ServeCounters& counters) : log_(log), counters_(counters) {}

  void onConnected(std::string_view peer) override {
    addRelaxed(counters_.open, 1);
    addRelaxed(counters_.accepted, 1);
    log_.emit("connected", {{"peer", peer}}, fmt::format("connected {}", peer));
  }

  void onPingSent(std::string_view peer, std::uint64_t opaque) override {
    addRelaxed(counters_.pingsSent, 1);
    if (log_.json()) log_.emit("ping", {{"peer", peer}, {"id", opaque}}, "");
  }

  void onPong(std::string_view peer, double rttMs) override {
    addRelaxed(counters_.pongs, 1);
    counters_.rtt.observe(heartbeatRttSpec(), static_cast<std::uint64_t>(rttMs * 1000.0));
    if (log_.json()) log_.emit("pong", {{"peer", peer}, {"rtt_ms", eventMs(rttMs)}}, "");
  }

  void onClosed(std::string_view peer, const liveness::SessionClose& info) override {
    addRelaxed(counters_.open, static_cast<std::uint64_t>(-1));
    addRelaxed(counters_.closes[static_cast<std::size_t>(info.reason)], 1);
    std::string_view reason = liveness::sessionCloseReasonName(info.reason);
    double silent = static_cast<double>(info.sinceLastRead) / 1000.0;
    if (info.reason != liveness::SessionCloseReason::kLocal) {
      fmt::print(stderr, "tether: closed {}: {} after {:.1f} s without data ({})\n", peer, reason,
                 silent, info.detail);
    }
    log_.emit("closed",
              {{"peer", peer},
               {"reason", reason},
               {"since_last_read_ms", info.sinceLastRead},
               {"detail", info.detail}},
              fmt::format("closed {}: {} ({:.1f} s since last read; {})", peer, reason, silent,
                          info.detail));
  }

 private:
  EventLog& log_;
  ServeCounters& counters_;
};

// --metrics-listen: the admin server, bound now so a bad address fails before
// the heartbeat port opens, and its address said.
std::unique_ptr<http::Server> bindMetrics(const HeartbeatSettings& settings,
                                          const ServeCounters& counters) {
  if (!settings.metricsListen) return nullptr;
  auto server = metricsServer(*settings.metricsListen, counters);
  server->bind();  // std::system_error naming the address
  fmt::print("tether: metrics on http://{}{}\n", server->boundAddresses()[0].toString(),
             http::kMetricsPath);
  return server;
}

// Listens on --listen with the keepalive options (accepted sockets inherit
// them) and says where.
std::unique_ptr<liveness::HeartbeatServer> listen(net::EventLoop& loop,
                                                  const HeartbeatSettings& settings,
                                                  ServeLog& events) {
  net::SocketAddress bound;
  int fd = net::listenTcp(settings.address, SOMAXCONN, &bound);
  if (fd < 0) {
    throw std::runtime_error(
        fmt::format("cannot listen on {}: {}", settings.address.toString(), std::strerror(errno)));
  }
  auto server = std::make_unique<liveness::HeartbeatServer>(loop, fd, settings.session, events);
  applySocketOptions(fd, settings);
  fmt::print("tether: listening on {}\n", bound.toString());
  std::fflush(stdout);
  return server;
}

}  // namespace

int runServe(const HeartbeatArgs& args) {
  if (isWebSocketUrl(args.address)) {
    throw UsageError(
        "--listen: a numeric ADDR:PORT (WebSocket heartbeats are served by `tether serve`)");
  }
  HeartbeatSettings settings = toSettings(args);
  for (const std::string& w : settings.warnings) fmt::print(stderr, "tether: warning: {}\n", w);
  net::EventLoop loop;
  EventLog log(settings.json);
  ServeCounters counters;
  ServeLog events(log, counters);
  std::unique_ptr<http::Server> metrics = bindMetrics(settings, counters);
  std::unique_ptr<liveness::HeartbeatServer> server;
  // SIGTERM/SIGINT: say goodbye to everyone, then leave the loop. Blocked
  // before the admin thread starts, so that it inherits the mask.
  SignalWatcher signals(loop, [&](int) {
    if (server) server->shutdown();
    loop.quit();
  });
  AdminThread admin(metrics.get());
  server = listen(loop, settings, events);
  loop.run();
  return 0;
}

}  // namespace tether::app::heartbeat
