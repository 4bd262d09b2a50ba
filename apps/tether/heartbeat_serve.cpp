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

#include "heartbeat/event_log.h"
#include "heartbeat/options.h"
#include "heartbeat/signal_watcher.h"
#include "tether/liveness/heartbeat_server.h"

namespace tether::app::heartbeat {
namespace {

// What `serve` prints.
class ServeLog final : public liveness::HeartbeatServerObserver {
 public:
  explicit ServeLog(EventLog& log) : log_(log) {}

  void onConnected(std::string_view peer) override {
    log_.emit("connected", {{"peer", peer}}, fmt::format("connected {}", peer));
  }

  void onPingSent(std::string_view peer, std::uint64_t opaque) override {
    if (log_.json()) log_.emit("ping", {{"peer", peer}, {"id", opaque}}, "");
  }

  void onPong(std::string_view peer, double rttMs) override {
    if (log_.json()) log_.emit("pong", {{"peer", peer}, {"rtt_ms", eventMs(rttMs)}}, "");
  }

  void onClosed(std::string_view peer, const liveness::SessionClose& info) override {
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
};

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
  HeartbeatSettings settings = toSettings(args);
  for (const std::string& w : settings.warnings) fmt::print(stderr, "tether: warning: {}\n", w);
  net::EventLoop loop;
  EventLog log(settings.json);
  ServeLog events(log);
  std::unique_ptr<liveness::HeartbeatServer> server;
  // SIGTERM/SIGINT: say goodbye to everyone, then leave the loop.
  SignalWatcher signals(loop, [&](int) {
    if (server) server->shutdown();
    loop.quit();
  });
  server = listen(loop, settings, events);
  loop.run();
  return 0;
}

}  // namespace tether::app::heartbeat
