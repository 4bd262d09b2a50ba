#include "tether/liveness/discovery_runner.h"

#include "liveness/discovery_probe.h"

namespace tether::liveness {

std::string_view probeVerdictName(ProbeVerdict v) noexcept {
  switch (v) {
    case ProbeVerdict::kSurvived: return "survived";
    case ProbeVerdict::kDied: return "died";
    case ProbeVerdict::kCancelled: return "cancelled";
    case ProbeVerdict::kPending: break;
  }
  return "pending";
}

DiscoveryRunner::DiscoveryRunner(net::EventLoop& loop, const DiscoveryOptions& options,
                                 DiscoveryObserver& observer)
    : loop_(loop), options_(options), observer_(observer), search_(options.search) {}

DiscoveryRunner::~DiscoveryRunner() { loop_.cancel(nextRound_); }

void DiscoveryRunner::start() { startRound(); }

void DiscoveryRunner::stop() {
  if (finished_) return;
  cancelPending();
  finish(DiscoveryEnd::kStopped, 0);
}

void DiscoveryRunner::startRound() {
  std::vector<Millis> idles = search_.nextRound();
  if (idles.empty()) return finish(DiscoveryEnd::kSearched, 0);
  observer_.onRound({search_.rounds(), idles});
  for (Millis t : idles) probes_.push_back(std::make_unique<DiscoveryProbe>(*this, loop_, t));
  for (std::size_t i = 0; i < probes_.size() && !finished_; ++i) probes_[i]->start(options_);
}

void DiscoveryRunner::onProbeVerdict(DiscoveryProbe& p, std::string_view reason) {
  bool survived = p.verdict() == ProbeVerdict::kSurvived;
  search_.onResult(p.idle(), survived);
  observer_.onProbe({search_.rounds(), p.idle(), p.verdict(), reason});
  if (finished_) return;
  if (!survived) {
    for (auto& other : probes_) {
      if (other->verdict() == ProbeVerdict::kPending && search_.knownToDie(other->idle())) {
        other->cancel();
        observer_.onProbeCancelled(
            {search_.rounds(), other->idle(), other->verdict(), "known to die"});
      }
    }
  }
  for (auto& other : probes_) {
    if (other->verdict() == ProbeVerdict::kPending) return;
  }
  // Every probe decided: start the next round after this callback unwinds.
  nextRound_ = loop_.runAfter(0, [this] { roundDone(); });
}

void DiscoveryRunner::onProbeConnectError(int err) {
  if (finished_) return;
  cancelPending();
  finish(DiscoveryEnd::kConnectError, err);
}

void DiscoveryRunner::roundDone() {
  if (finished_) return;
  retired_ = std::move(probes_);
  probes_.clear();
  startRound();
}

void DiscoveryRunner::cancelPending() {
  for (auto& p : probes_) {
    if (p->verdict() == ProbeVerdict::kPending) p->cancel();
  }
}

void DiscoveryRunner::finish(DiscoveryEnd end, int err) {
  if (finished_) return;
  finished_ = true;
  loop_.cancel(nextRound_);
  observer_.onFinished({end, search_.outcome(), search_.rounds(), search_.survivedMax(),
                        search_.diedMin(), search_.estimate(), search_.recommendedInterval(), err});
}

}  // namespace tether::liveness
