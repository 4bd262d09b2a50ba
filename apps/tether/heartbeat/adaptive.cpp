#include "heartbeat/adaptive.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "heartbeat/event_log.h"
#include "heartbeat/signal_watcher.h"
#include "tether/net/connector.h"

namespace tether::app::heartbeat {
namespace {

using liveness::AdaptiveInterval;

// What the path did to the connection, as opposed to the peer choosing to end it.
bool isPathFailure(CloseReason r) noexcept {
  return r == CloseReason::kHeartbeatTimeout || r == CloseReason::kKeepaliveTimeout ||
         r == CloseReason::kUserTimeout || r == CloseReason::kPeerReset;
}

constexpr Millis kRetryPause = 1000;

double seconds(Millis ms) { return static_cast<double>(ms) / 1000.0; }

class AdaptiveClient final : public SessionObserver {
 public:
  AdaptiveClient(net::EventLoop& loop, const HeartbeatSettings& settings, EventLog& log)
      : loop_(loop),
        settings_(settings),
        log_(log),
        adaptive_(*settings.adaptive, loop.now()),
        connector_(loop, [this](int fd, int err) { onConnected(fd, err); }) {}

  int exitCode() const noexcept { return exitCode_; }

  void start() {
    if (settings_.duration > 0) loop_.runAfter(settings_.duration, [this] { stop(); });
    connect();
  }

  void stop() {
    if (session_ && !session_->closed()) {
      return session_->closeWithGoodbye(liveness::wire::GoodbyeReason::kNormal, CloseReason::kLocal,
                                        "client done");
    }
    connector_.cancel();
    finish(0);
  }

  void onPingSent(Session&, std::uint64_t opaque) override {
    pingInterval_ = configured_;
    if (log_.json()) log_.emit("ping", {{"id", opaque}}, "");
  }

  void onPong(Session&, double rttMs) override {
    log_.emit("pong", {{"rtt_ms", eventMs(rttMs)}, {"interval_ms", pingInterval_}},
              fmt::format("pong rtt {:.3f} ms after {:.3f} s idle", rttMs, seconds(pingInterval_)));
    ++pongsOnConnection_;
    apply(adaptive_.onSuccess(pingInterval_, loop_.now()));
  }

  void onClosed(Session&, const CloseInfo& info) override {
    log_.emit("closed",
              {{"reason", closeReasonName(info.reason)},
               {"since_last_read_ms", info.sinceLastRead},
               {"detail", info.detail}},
              fmt::format("closed: {} ({:.3f} s since last read; {})", closeReasonName(info.reason),
                          seconds(info.sinceLastRead), info.detail));
    retired_ = std::move(session_);  // destroyed at the next close or at exit, not in here
    if (!isPathFailure(info.reason)) return finish(exitCodeFor(info.reason));
    // The path lost the connection while a ping of `pingInterval_` was out (or
    // before any ping: interval 0, which trains nothing).
    apply(adaptive_.onFailure(pingInterval_, loop_.now()));
    // A connection that never got a PONG reconnects after a pause, so a peer
    // or middlebox that kills every connection at once cannot make us spin.
    loop_.runAfter(pongsOnConnection_ > 0 ? 0 : kRetryPause, [this] {
      if (!finished_) connect();
    });
  }

 private:
  void connect() {
    pingInterval_ = 0;
    pongsOnConnection_ = 0;
    connector_.start(settings_.address, settings_.session.heartbeat.timeout,
                     socketSetup(settings_));
  }

  void onConnected(int fd, int err) {
    if (fd < 0) {
      fmt::print(stderr, "tether: cannot connect to {}: {}\n", settings_.address.toString(),
                 std::strerror(err));
      return finish(1);
    }
    adaptive_.onConnected();
    SessionOptions options = settings_.session;
    configured_ = options.heartbeat.interval = adaptive_.next();
    session_ = std::make_unique<Session>(loop_, fd, options, *this,
                                         static_cast<std::uint64_t>(loop_.now()) ^ ::getpid());
    log_.emit("connected", {{"peer", session_->peer()}, {"interval_ms", configured_}},
              fmt::format("connected to {}, interval {:.3f} s{}", session_->peer(),
                          seconds(configured_), adaptive_.warm() ? "" : " (warm-up)"));
    session_->start();
  }

  // Moves the engine to the interval the state machine now wants, and says why.
  void apply(AdaptiveInterval::Change change) {
    if (change == AdaptiveInterval::Change::kNone) return;
    Millis previous = configured_;
    configured_ = adaptive_.next();
    if (session_ && !session_->closed()) session_->engine().setInterval(configured_);
    std::string_view why = liveness::adaptiveChangeName(change);
    std::string_view state = liveness::adaptiveStateName(adaptive_.state());
    log_.emit("interval",
              {{"interval_ms", configured_},
               {"previous_ms", previous},
               {"adaptive_ms", adaptive_.current()},
               {"change", why},
               {"state", state}},
              fmt::format("interval {:.3f} s -> {:.3f} s ({}, {}; adaptive value {:.3f} s)",
                          seconds(previous), seconds(configured_), why, state,
                          seconds(adaptive_.current())));
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
  AdaptiveInterval adaptive_;
  net::Connector connector_;
  std::unique_ptr<Session> session_, retired_;
  Millis configured_ = 0;    // the engine's interval now
  Millis pingInterval_ = 0;  // the interval after which the latest ping went out
  int pongsOnConnection_ = 0;
  int exitCode_ = 0;
  bool finished_ = false;
};

}  // namespace

int runAdaptive(const HeartbeatSettings& settings) {
  net::EventLoop loop;
  EventLog log(settings.json);
  AdaptiveClient client(loop, settings, log);
  SignalWatcher signals(loop, [&](int) { client.stop(); });
  client.start();
  loop.run();
  return client.exitCode();
}

}  // namespace tether::app::heartbeat
