// `tether heartbeat connect`: one heartbeat connection to a `heartbeat serve`,
// printing state changes and RTTs, exiting with a code that names why it ended.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "heartbeat/adaptive.h"
#include "heartbeat/discover.h"
#include "heartbeat/event_log.h"
#include "heartbeat/options.h"
#include "heartbeat/signal_watcher.h"
#include "tether/net/connector.h"

namespace tether::app::heartbeat {
namespace {

// Exit codes of the shared CLI contract.
constexpr int kExitOk = 0, kExitError = 1, kExitHeartbeatTimeout = 3, kExitTcpTimeout = 4,
              kExitPeerClosed = 5, kExitPeerReset = 6;

}  // namespace

int exitCodeFor(CloseReason reason) noexcept {
  switch (reason) {
    case CloseReason::kLocal: return kExitOk;
    case CloseReason::kHeartbeatTimeout: return kExitHeartbeatTimeout;
    case CloseReason::kKeepaliveTimeout:
    case CloseReason::kUserTimeout: return kExitTcpTimeout;
    case CloseReason::kPeerClosed:
    case CloseReason::kTooManyPings: return kExitPeerClosed;
    case CloseReason::kPeerReset: return kExitPeerReset;
    case CloseReason::kError: return kExitError;
  }
  return kExitError;
}

namespace {

class HeartbeatClient final : public SessionObserver {
 public:
  HeartbeatClient(net::EventLoop& loop, const HeartbeatSettings& settings, EventLog& log)
      : loop_(loop), settings_(settings), log_(log) {}

  int exitCode() const noexcept { return exitCode_; }

  // The handshake gets the heartbeat timeout as its bound; the socket options
  // are set before connect(), so they cover the handshake too.
  void connect() {
    connector_.start(settings_.address, settings_.session.heartbeat.timeout,
                     socketSetup(settings_));
  }

  // Duration reached or SIGINT/SIGTERM: a clean goodbye, exit 0.
  void stop() {
    if (session_ && !session_->closed()) {
      session_->closeWithGoodbye(liveness::wire::GoodbyeReason::kNormal, CloseReason::kLocal,
                                 "client done");
    } else if (!finished_) {
      finish(kExitOk);
    }
  }

  void onPingSent(Session&, std::uint64_t opaque) override {
    if (log_.json()) log_.emit("ping", {{"id", opaque}}, "");
  }

  void onPong(Session&, double rttMs) override {
    rtt_.add(rttMs);
    log_.emit("pong", {{"rtt_ms", eventMs(rttMs)}}, fmt::format("pong rtt {:.3f} ms", rttMs));
  }

  void onClosed(Session& s, const CloseInfo& info) override {
    std::string_view reason = closeReasonName(info.reason);
    if (info.reason == CloseReason::kHeartbeatTimeout) {
      log_.emit("heartbeat_timeout", {{"since_last_read_ms", info.sinceLastRead}},
                fmt::format("heartbeat timeout: nothing read for {:.3f} s",
                            static_cast<double>(info.sinceLastRead) / 1000.0));
    }
    log_.emit(
        "closed",
        {{"reason", reason}, {"since_last_read_ms", info.sinceLastRead}, {"detail", info.detail}},
        fmt::format("closed: {} ({:.3f} s since last read; {})", reason,
                    static_cast<double>(info.sinceLastRead) / 1000.0, info.detail));
    pingsSent_ = s.engine().pingsSent();
    dataSent_ = s.dataBytesSent();
    finish(exitCodeFor(info.reason));
  }

  void printSummary() const {
    if (!session_) return;  // never connected: the error line says it all
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
                {{"pings", pingsSent_},
                 {"pongs", rtt_.count()},
                 {"data_bytes_sent", dataSent_},
                 {"rtt_ms", std::move(rtt)}},
                "");
      return;
    }
    fmt::print("--- {} heartbeat statistics ---\n", settings_.address.toString());
    fmt::print("{} pings sent, {} pongs received, {} DATA bytes sent\n", pingsSent_, rtt_.count(),
               dataSent_);
    if (rtt_.count() > 0) {
      fmt::print("rtt min/avg/max/p50 = {:.3f}/{:.3f}/{:.3f}/{:.3f} ms\n", rtt_.min(), rtt_.mean(),
                 rtt_.max(), rtt_.percentile(50));
    }
    std::fflush(stdout);
  }

 private:
  std::string connectError(int err) const {
    return fmt::format("cannot connect to {}: {}", settings_.address.toString(),
                       std::strerror(err));
  }

  void onConnectDone(int fd, int err) {
    if (fd < 0) return fail(connectError(err));
    session_ = std::make_unique<Session>(loop_, fd, settings_.session, *this,
                                         static_cast<std::uint64_t>(loop_.now()) ^ ::getpid());
    log_.emit("connected", {{"peer", session_->peer()}},
              fmt::format("connected to {}", session_->peer()));
    session_->start();
    if (settings_.duration > 0) loop_.runAfter(settings_.duration, [this] { stop(); });
  }

  void fail(const std::string& message) {
    fmt::print(stderr, "tether: {}\n", message);
    finish(kExitError);
  }

  void finish(int code) {
    if (finished_) return;
    finished_ = true;
    exitCode_ = code;
    loop_.quit();
  }

  net::EventLoop& loop_;
  const HeartbeatSettings& settings_;
  EventLog& log_;
  std::unique_ptr<Session> session_;
  RttStats rtt_;
  std::uint64_t pingsSent_ = 0, dataSent_ = 0;
  int exitCode_ = kExitOk;
  bool finished_ = false;
  net::Connector connector_{loop_, [this](int fd, int err) { onConnectDone(fd, err); }};
};

}  // namespace

int runConnect(const HeartbeatArgs& args) {
  HeartbeatSettings settings = toSettings(args);
  for (const std::string& w : settings.warnings) fmt::print(stderr, "tether: warning: {}\n", w);
  if (settings.discover) return runDiscover(settings);
  if (settings.adaptive) return runAdaptive(settings);
  net::EventLoop loop;
  EventLog log(settings.json);
  HeartbeatClient client(loop, settings, log);
  SignalWatcher signals(loop, [&](int) { client.stop(); });
  client.connect();
  loop.run();
  client.printSummary();
  return client.exitCode();
}

}  // namespace tether::app::heartbeat
