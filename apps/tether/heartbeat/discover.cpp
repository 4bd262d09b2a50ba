#include "heartbeat/discover.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "heartbeat/event_log.h"
#include "heartbeat/signal_watcher.h"
#include "tether/core/duration.h"
#include "tether/net/connector.h"

namespace tether::app::heartbeat {
namespace {

using liveness::IdleDiscovery;

enum class ProbeResult : std::uint8_t { kPending, kSurvived, kDied, kCancelled };

std::string_view resultName(ProbeResult r) {
  switch (r) {
    case ProbeResult::kSurvived: return "survived";
    case ProbeResult::kDied: return "died";
    case ProbeResult::kCancelled: return "cancelled";
    case ProbeResult::kPending: break;
  }
  return "pending";
}

double seconds(Millis ms) { return static_cast<double>(ms) / 1000.0; }

class Discoverer;

// One probe connection: connect, idle for `idle`, one ping, a verdict.
class Probe final : public SessionObserver {
 public:
  Probe(Discoverer& owner, net::EventLoop& loop, Millis idle)
      : owner_(owner),
        loop_(loop),
        idle_(idle),
        connector_(loop, [this](int fd, int err) { onConnected(fd, err); }) {}

  void start(const HeartbeatSettings& settings);
  void cancel();
  Millis idle() const noexcept { return idle_; }
  ProbeResult result() const noexcept { return result_; }

  void onPong(Session& s, double) override;
  void onClosed(Session&, const CloseInfo& info) override;

 private:
  void onConnected(int fd, int err);
  void decide(ProbeResult r, std::string_view reason);

  Discoverer& owner_;
  net::EventLoop& loop_;
  Millis idle_;
  net::Connector connector_;
  std::unique_ptr<Session> session_;
  SessionOptions options_;
  ProbeResult result_ = ProbeResult::kPending;
};

class Discoverer {
 public:
  Discoverer(net::EventLoop& loop, const HeartbeatSettings& settings, EventLog& log)
      : loop_(loop), settings_(settings), log_(log), search_(*settings.discover) {}

  void start() { startRound(); }
  void stop(std::string_view why) { fail(std::string(why)); }
  int exitCode() const noexcept { return exitCode_; }
  const HeartbeatSettings& settings() const noexcept { return settings_; }

  void onProbeResult(Probe& p, std::string_view reason);
  void onProbeError(const std::string& message) { fail(message); }

 private:
  void startRound();
  void roundDone();
  void report();
  void fail(const std::string& message);
  void finish(int code);

  net::EventLoop& loop_;
  const HeartbeatSettings& settings_;
  EventLog& log_;
  IdleDiscovery search_;
  std::vector<std::unique_ptr<Probe>> probes_;
  std::vector<std::unique_ptr<Probe>> retired_;  // freed outside their callbacks
  int exitCode_ = 0;
  bool finished_ = false;
};

// ---- Probe --------------------------------------------------------------------

void Probe::start(const HeartbeatSettings& settings) {
  options_.heartbeat = settings.session.heartbeat;
  options_.heartbeat.interval = idle_;  // the one ping goes out after `idle` of silence
  options_.heartbeat.jitterPercent = 0;
  options_.heartbeat.missedPingsAllowed = 0;
  options_.sendRate = 0;
  // No keepalive: a probe must send nothing before its ping. A user timeout is fine.
  net::SocketSetup setup;
  setup.prepare = [&settings](int fd) {
    if (settings.keepalive.userTimeout > 0) net::setUserTimeout(fd, settings.keepalive.userTimeout);
    return true;
  };
  connector_.start(settings.address, settings.session.heartbeat.timeout, setup);
}

void Probe::onConnected(int fd, int err) {
  if (fd < 0) {
    return owner_.onProbeError(fmt::format(
        "cannot connect to {}: {}", owner_.settings().address.toString(), std::strerror(err)));
  }
  session_ = std::make_unique<Session>(loop_, fd, options_, *this,
                                       static_cast<std::uint64_t>(loop_.now()) ^ ::getpid());
  session_->start();
}

void Probe::onPong(Session& s, double) {
  decide(ProbeResult::kSurvived, "pong");
  s.closeWithGoodbye(liveness::wire::GoodbyeReason::kNormal, CloseReason::kLocal, "probe done");
}

void Probe::onClosed(Session&, const CloseInfo& info) {
  if (info.reason == CloseReason::kLocal) return;  // we closed it after deciding
  // Timeout (blackholed ping) or reset (the middlebox's RST): the path died.
  // A goodbye or EOF from the server is not a path verdict either, but counts
  // as died so the search stays conservative.
  decide(ProbeResult::kDied, closeReasonName(info.reason));
}

void Probe::cancel() {
  connector_.cancel();
  if (session_ && !session_->closed()) {
    result_ = ProbeResult::kCancelled;
    session_->closeWithGoodbye(liveness::wire::GoodbyeReason::kNormal, CloseReason::kLocal,
                               "probe cancelled");
  }
  result_ = ProbeResult::kCancelled;
}

void Probe::decide(ProbeResult r, std::string_view reason) {
  if (result_ != ProbeResult::kPending) return;
  result_ = r;
  owner_.onProbeResult(*this, reason);
}

// ---- Discoverer ---------------------------------------------------------------

void Discoverer::startRound() {
  std::vector<Millis> idles = search_.nextRound();
  if (idles.empty()) return report();
  std::string list;
  for (Millis t : idles) list += fmt::format("{}{}", list.empty() ? "" : ",", t);
  log_.emit("round", {{"round", search_.rounds()}, {"idle_ms", idles}},
            fmt::format("round {}: {} probes idling {} ms", search_.rounds(), idles.size(), list));
  for (Millis t : idles) probes_.push_back(std::make_unique<Probe>(*this, loop_, t));
  for (std::size_t i = 0; i < probes_.size() && !finished_; ++i) probes_[i]->start(settings_);
}

void Discoverer::onProbeResult(Probe& p, std::string_view reason) {
  bool survived = p.result() == ProbeResult::kSurvived;
  search_.onResult(p.idle(), survived);
  log_.emit("probe",
            {{"round", search_.rounds()},
             {"idle_ms", p.idle()},
             {"result", resultName(p.result())},
             {"reason", reason}},
            fmt::format("probe idle {:.3f} s: {} ({})", seconds(p.idle()), resultName(p.result()),
                        reason));
  if (!survived) {
    for (auto& other : probes_) {
      if (other->result() == ProbeResult::kPending && search_.knownToDie(other->idle())) {
        other->cancel();
      }
    }
  }
  for (auto& other : probes_) {
    if (other->result() == ProbeResult::kPending) return;
  }
  // Every probe decided: start the next round after this callback unwinds.
  loop_.queueInLoop([this] { roundDone(); });
}

void Discoverer::roundDone() {
  if (finished_) return;
  retired_ = std::move(probes_);
  probes_.clear();
  startRound();
}

void Discoverer::report() {
  using Outcome = IdleDiscovery::Outcome;
  Outcome outcome = search_.outcome();
  std::string_view name = liveness::discoveryOutcomeName(outcome);
  const Millis max = settings_.discover->max;
  if (outcome == Outcome::kNoTimeout) {
    log_.emit("discovered",
              {{"outcome", name},
               {"idle_timeout_ms", nullptr},
               {"survived_ms", search_.survivedMax()},
               {"rounds", search_.rounds()}},
              fmt::format("no timeout found up to --discover-max {}: an idle of {:.3f} s "
                          "survived",
                          core::formatDuration(max), seconds(search_.survivedMax())));
    return finish(0);
  }
  if (outcome == Outcome::kInconsistent) {
    fmt::print(stderr,
               "tether: inconsistent probes: {:.3f} s idle survived but {:.3f} s died; the path "
               "loses packets, it is not an idle timeout\n",
               seconds(search_.survivedMax()), seconds(*search_.diedMin()));
    log_.emit("discovered", {{"outcome", name}}, "");
    return finish(1);
  }
  Millis low = search_.survivedMax(), high = *search_.diedMin();
  Millis estimate = *search_.estimate(), recommended = *search_.recommendedInterval();
  log_.emit("discovered",
            {{"outcome", name},
             {"idle_timeout_ms", estimate},
             {"low_ms", low},
             {"high_ms", high},
             {"recommended_interval_ms", recommended},
             {"rounds", search_.rounds()}},
            fmt::format("idle timeout {:.3f} s +- {:.3f} s (an idle of {:.3f} s survived, "
                        "{:.3f} s died); recommended heartbeat interval {:.3f} s",
                        seconds(estimate), seconds(high - low) / 2, seconds(low), seconds(high),
                        seconds(recommended)));
  finish(0);
}

void Discoverer::fail(const std::string& message) {
  if (finished_) return;
  if (!message.empty()) fmt::print(stderr, "tether: {}\n", message);
  for (auto& p : probes_) {
    if (p->result() == ProbeResult::kPending) p->cancel();
  }
  finish(message.empty() ? 0 : 1);
}

void Discoverer::finish(int code) {
  if (finished_) return;
  finished_ = true;
  exitCode_ = code;
  loop_.quit();
}

}  // namespace

int runDiscover(const HeartbeatSettings& settings) {
  net::EventLoop loop;
  EventLog log(settings.json);
  Discoverer discoverer(loop, settings, log);
  SignalWatcher signals(loop, [&](int) { discoverer.stop(""); });
  discoverer.start();
  loop.run();
  return discoverer.exitCode();
}

}  // namespace tether::app::heartbeat
