#include "tether/liveness/idle_discovery.h"

#include <algorithm>

namespace tether::liveness {

std::string_view validateDiscoverySettings(const DiscoverySettings& s) noexcept {
  if (s.max < 1000) return "max must be at least 1s";
  if (s.probes < 1 || s.probes > 64) return "probes must be in 1..64";
  if (s.resolution < 1) return "resolution must be greater than 0";
  if (s.maxRounds < 1) return "rounds must be at least 1";
  return {};
}

std::vector<Millis> IdleDiscovery::nextRound() {
  std::vector<Millis> idles;
  if (finished()) return idles;
  ++rounds_;
  const Millis lo = survived_;
  if (!died_) {
    // Nothing died yet: cover (lo, max] evenly, max itself included.
    for (int i = 1; i <= settings_.probes; ++i) {
      idles.push_back(lo + (settings_.max - lo) * i / settings_.probes);
    }
  } else {
    // Enough points inside (lo, hi) that every gap is <= resolution.
    const Millis hi = *died_;
    const Millis gaps = (hi - lo + settings_.resolution - 1) / settings_.resolution;
    const auto n = static_cast<int>(std::min<Millis>(gaps - 1, settings_.probes));
    for (int i = 1; i <= n; ++i) idles.push_back(lo + (hi - lo) * i / (n + 1));
  }
  idles.erase(std::unique(idles.begin(), idles.end()), idles.end());
  return idles;
}

void IdleDiscovery::onResult(Millis idle, bool survived) noexcept {
  if (survived) {
    survived_ = std::max(survived_, idle);
  } else {
    died_ = died_ ? std::min(*died_, idle) : idle;
  }
}

IdleDiscovery::Outcome IdleDiscovery::outcome() const noexcept {
  if (died_ && survived_ >= *died_) return Outcome::kInconsistent;
  if (!died_ && survived_ >= settings_.max) return Outcome::kNoTimeout;
  if (died_ && *died_ - survived_ <= settings_.resolution) return Outcome::kFound;
  if (rounds_ >= settings_.maxRounds) return Outcome::kUnresolved;
  return Outcome::kRunning;
}

std::optional<Millis> IdleDiscovery::estimate() const noexcept {
  if (!died_ || survived_ >= *died_) return std::nullopt;
  return survived_ + (*died_ - survived_) / 2;
}

std::optional<Millis> IdleDiscovery::recommendedInterval() const noexcept {
  if (!died_ || survived_ >= *died_) return std::nullopt;
  return std::max<Millis>(100, survived_ * 9 / 10 / 100 * 100);
}

std::string_view discoveryOutcomeName(IdleDiscovery::Outcome o) noexcept {
  switch (o) {
    case IdleDiscovery::Outcome::kRunning: return "running";
    case IdleDiscovery::Outcome::kFound: return "found";
    case IdleDiscovery::Outcome::kNoTimeout: return "no_timeout";
    case IdleDiscovery::Outcome::kUnresolved: return "unresolved";
    case IdleDiscovery::Outcome::kInconsistent: return "inconsistent";
  }
  return "running";
}

}  // namespace tether::liveness
