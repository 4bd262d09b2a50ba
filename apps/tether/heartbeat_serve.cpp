// `tether heartbeat serve`: accepts heartbeat clients on one loop, answers and
// sends pings, and closes the clients that stop answering or ping too often.
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "heartbeat/event_log.h"
#include "heartbeat/options.h"
#include "heartbeat/signal_watcher.h"
#include "tether/net/acceptor.h"

namespace tether::app::heartbeat {
namespace {

class HeartbeatServer final : public net::Acceptor::Owner, public SessionObserver {
 public:
  HeartbeatServer(net::EventLoop& loop, const HeartbeatSettings& settings, EventLog& log)
      : loop_(loop), settings_(settings), log_(log) {
    // Closed sessions die after the iteration, never inside their own callback.
    loop_.addEndOfIterationHook([this] { graveyard_.clear(); });
  }

  void listen() {
    net::SocketAddress bound;
    int fd = net::listenTcp(settings_.address, SOMAXCONN, &bound);
    if (fd < 0) {
      throw std::runtime_error(fmt::format("cannot listen on {}: {}", settings_.address.toString(),
                                           std::strerror(errno)));
    }
    acceptor_ = std::make_unique<net::Acceptor>(loop_, fd, *this, /*noDelay=*/false);
    applySocketOptions(fd, settings_);  // accepted sockets inherit keepalive and user timeout
    fmt::print("tether: listening on {}\n", bound.toString());
    std::fflush(stdout);
  }

  // SIGTERM/SIGINT: say goodbye to everyone, then leave the loop.
  void shutdown() {
    std::vector<Session*> open;
    for (auto& [raw, owned] : sessions_) open.push_back(raw);
    for (Session* s : open) {
      s->closeWithGoodbye(liveness::wire::GoodbyeReason::kShuttingDown, CloseReason::kLocal,
                          "server shutting down");
    }
    loop_.quit();
  }

  void onPingSent(Session& s, std::uint64_t opaque) override {
    if (log_.json()) {
      log_.emit("ping", {{"peer", s.peer()}, {"id", opaque}}, "");
    }
  }

  void onPong(Session& s, double rttMs) override {
    if (log_.json()) {
      log_.emit("pong", {{"peer", s.peer()}, {"rtt_ms", eventMs(rttMs)}}, "");
    }
  }

  void onClosed(Session& s, const CloseInfo& info) override {
    std::string_view reason = closeReasonName(info.reason);
    double silent = static_cast<double>(info.sinceLastRead) / 1000.0;
    if (info.reason != CloseReason::kLocal) {
      fmt::print(stderr, "tether: closed {}: {} after {:.1f} s without data ({})\n", s.peer(),
                 reason, silent, info.detail);
    }
    log_.emit("closed",
              {{"peer", s.peer()},
               {"reason", reason},
               {"since_last_read_ms", info.sinceLastRead},
               {"detail", info.detail}},
              fmt::format("closed {}: {} ({:.1f} s since last read; {})", s.peer(), reason, silent,
                          info.detail));
    auto it = sessions_.find(&s);
    if (it != sessions_.end()) {
      graveyard_.push_back(std::move(it->second));
      sessions_.erase(it);
    }
  }

 private:
  void onAccepted(int fd) override {
    std::uint64_t seed =
        ++accepted_ * 0x9E3779B97F4A7C15ULL ^ static_cast<std::uint64_t>(loop_.now());
    auto session = std::make_unique<Session>(loop_, fd, settings_.session, *this, seed);
    Session* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    log_.emit("connected", {{"peer", raw->peer()}}, fmt::format("connected {}", raw->peer()));
    raw->start();
  }

  net::EventLoop& loop_;
  const HeartbeatSettings& settings_;
  EventLog& log_;
  std::unique_ptr<net::Acceptor> acceptor_;
  std::uint64_t accepted_ = 0;
  std::unordered_map<Session*, std::unique_ptr<Session>> sessions_;
  std::vector<std::unique_ptr<Session>> graveyard_;
};

}  // namespace

int runServe(const HeartbeatArgs& args) {
  HeartbeatSettings settings = toSettings(args);
  for (const std::string& w : settings.warnings) fmt::print(stderr, "tether: warning: {}\n", w);
  net::EventLoop loop;
  EventLog log(settings.json);
  HeartbeatServer server(loop, settings, log);
  SignalWatcher signals(loop, [&](int) { server.shutdown(); });
  server.listen();
  loop.run();
  return 0;
}

}  // namespace tether::app::heartbeat
