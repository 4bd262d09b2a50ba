// runWsInspection(): three quiet WebSocket probes on one loop (contract in
// tether/tools/inspect_ws.h). Each is a liveness::HeartbeatClient speaking
// WebSocket; they differ only in whether they answer pings and ping.
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "tether/http/websocket_client.h"
#include "tether/liveness/heartbeat_client.h"
#include "tether/tools/inspect.h"
#include "tether/tools/inspect_ws.h"

namespace tether::tools::inspect {
namespace {

using liveness::SessionCloseReason;

enum class Role : std::uint8_t { kBrowser, kMute, kPinger };

class WsProbe final : private liveness::HeartbeatClientObserver {
 public:
  WsProbe(net::EventLoop& loop, const WsConfig& config, Role role, WsProbeSeen& seen)
      : loop_(loop),
        seen_(seen),
        client_(loop, options(config, role), *this),
        watch_(config.maxIdleWait) {}

  void start(Millis openTimeout) {
    startedNs_ = loop_.clock().nanos();
    client_.start();
    // Neither quiet probe pings, so nothing else bounds a server that accepts
    // and never answers the upgrade.
    openDeadline_ = loop_.runAfter(openTimeout, [this] {
      if (seen_.openedMs < 0) fail("no 101 Switching Protocols within --timeout");
    });
  }
  void stop() { client_.stop(); }
  bool finished() const noexcept { return client_.finished(); }

 private:
  static liveness::HeartbeatClientOptions options(const WsConfig& c, Role role) {
    liveness::HeartbeatClientOptions o;
    o.address = c.target;
    o.session.codec = http::webSocketHeartbeatCodec(c.host, c.path);
    o.session.heartbeat.interval = role == Role::kPinger ? c.pingInterval : 0;
    o.session.heartbeat.timeout = c.timeout;  // also bounds the TCP connect
    o.session.heartbeat.minPingInterval = 0;  // observe the server's pings, whatever their rate
    o.session.answerPings = role != Role::kMute;
    o.duration = 0;  // the watch starts at the upgrade (onOpened), not at the connect
    return o;
  }

  double sinceStartMs() const { return core::toMillisDouble(loop_.clock().nanos() - startedNs_); }
  double sinceOpenMs() const { return sinceStartMs() - seen_.openedMs; }

  // --max-idle-wait counts from the upgrade, as ended_ms does: a slow
  // upgrade (a loaded server) must not shorten the watch.
  void onOpened() override {
    seen_.openedMs = sinceStartMs();
    loop_.cancel(openDeadline_);
    watchEnd_ = loop_.runAfter(watch_, [this] { client_.stop(); });
  }
  void onPeerPing() override { seen_.serverPingsMs.push_back(sinceOpenMs()); }
  void onPingSent(std::uint64_t) override { ++seen_.pingsSent; }
  void onPong(const liveness::ClientPong& p) override {
    ++seen_.pongs;
    rtts_.push_back(p.rttMs);
  }

  void onClosed(const liveness::SessionClose& info) override {
    if (seen_.end == WsEnd::kFailed) return;  // our own timeout ended it
    if (seen_.openedMs < 0) {                 // the client is finishing: record, do not stop it
      seen_.end = WsEnd::kFailed;
      seen_.error = info.detail;
      return;
    }
    seen_.endedMs = sinceOpenMs();
    switch (info.reason) {
      case SessionCloseReason::kLocal: seen_.end = WsEnd::kOpen; break;
      case SessionCloseReason::kPeerClosed:
      case SessionCloseReason::kTooManyPings:
        seen_.end = info.goodbye ? WsEnd::kCloseFrame : WsEnd::kFin;
        seen_.closeCode = info.peerCode;
        seen_.closeReason = info.peerText;
        break;
      case SessionCloseReason::kPeerReset: seen_.end = WsEnd::kReset; break;
      case SessionCloseReason::kHeartbeatTimeout: seen_.end = WsEnd::kNoPong; break;
      default:
        seen_.end = WsEnd::kFailed;
        seen_.error = info.detail;
        break;
    }
  }

  void onFinished(const liveness::ClientFinished& how) override {
    loop_.cancel(openDeadline_);
    loop_.cancel(watchEnd_);
    if (how.end == liveness::ClientEnd::kConnectError) {
      fail(std::string("cannot connect: ") + std::strerror(how.connectErrno));
    }
    if (!rtts_.empty()) {
      std::sort(rtts_.begin(), rtts_.end());
      seen_.rttMs = rtts_[rtts_.size() / 2];
    }
  }

  void fail(std::string why) {
    if (seen_.end == WsEnd::kFailed) return;
    seen_.end = WsEnd::kFailed;
    seen_.error = std::move(why);
    client_.stop();
  }

  net::EventLoop& loop_;
  WsProbeSeen& seen_;
  liveness::HeartbeatClient client_;
  core::Nanos startedNs_ = 0;
  net::DelayedCallId openDeadline_;
  Millis watch_;
  net::DelayedCallId watchEnd_;
  std::vector<double> rtts_;
};

}  // namespace

WsResult runWsInspection(const WsConfig& config) {
  net::EventLoop loop;
  WsResult result;
  std::array<std::unique_ptr<WsProbe>, 3> probes = {
      std::make_unique<WsProbe>(loop, config, Role::kBrowser, result.browser),
      std::make_unique<WsProbe>(loop, config, Role::kMute, result.mute),
      std::make_unique<WsProbe>(loop, config, Role::kPinger, result.pinger)};
  for (auto& p : probes) p->start(config.timeout);
  Millis start = loop.now();
  // Once both quiet probes have ended, the pinger has shown what it can when it
  // outlives them by two of its intervals.
  Millis pingerUntil = -1;
  auto finished = [&] {
    return std::all_of(probes.begin(), probes.end(), [](auto& p) { return p->finished(); });
  };
  while (!finished()) {
    loop.runOnce(kProgressEveryMs);
    Millis now = loop.now();
    if (pingerUntil < 0 && probes[0]->finished() && probes[1]->finished()) {
      pingerUntil = now + 2 * config.pingInterval;
    }
    if (pingerUntil >= 0 && now >= pingerUntil) probes[2]->stop();
    if (config.progress) {
      int open = static_cast<int>(
          std::count_if(probes.begin(), probes.end(), [](auto& p) { return !p->finished(); }));
      config.progress({now - start, open, config.maxIdleWait});
    }
  }
  result.elapsedMs = loop.now() - start;
  for (const WsProbeSeen* s : {&result.browser, &result.mute, &result.pinger}) {
    if (s->end != WsEnd::kFailed || s->openedMs >= 0) return result;
  }
  throw std::runtime_error(result.browser.error);
}

}  // namespace tether::tools::inspect
