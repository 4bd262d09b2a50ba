// Idle-timeout discovery: which idle times to probe next, given what earlier
// probes showed, to find how long a network path (NAT, stateful firewall, load
// balancer) keeps an idle TCP flow.
//
// A probe is a connection left idle for T, then one heartbeat: an answer means
// the path survived T, a timeout or reset means it died. The timeout is assumed
// monotonic: if T survives, every shorter idle survives; if T dies, every longer
// one dies. The search keeps the bracket (longest survived, shortest died] and
// narrows it with rounds of parallel probes, so it costs about one idle period
// per round instead of one per probe (Mars tries one interval per heartbeat):
//  - round 1 spreads `probes` idle times evenly over (0, max], max included;
//  - later rounds place just enough probes inside the bracket that every
//    sub-bracket is at most `resolution` wide (never more than `probes`);
//  - it ends when the bracket is <= resolution wide (found: the midpoint is
//    within ±resolution/2), when `max` survived (no timeout up to max), after
//    `maxRounds`, or when results contradict each other (a longer idle
//    survived while a shorter one died: a flaky path, not an idle timeout).
//
// Pure value type, no clock or I/O; not thread-safe. Times in milliseconds.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "tether/core/timer_wheel.h"

namespace tether::liveness {

using core::Millis;

struct DiscoverySettings {
  Millis max = 1'200'000;    // longest idle probed (GCP Cloud NAT's default: 1200 s)
  int probes = 8;            // parallel probe connections per round
  Millis resolution = 2000;  // final bracket width: ±1 s
  int maxRounds = 6;
};

/// Returns an empty view when `s` is usable, else a one-line reason.
std::string_view validateDiscoverySettings(const DiscoverySettings& s) noexcept;

class IdleDiscovery {
 public:
  enum class Outcome : std::uint8_t { kRunning, kFound, kNoTimeout, kUnresolved, kInconsistent };

  explicit IdleDiscovery(const DiscoverySettings& s) : settings_(s) {}

  /// Idle times (ascending) for the next round; empty once finished(). Call
  /// after every result of the previous round has been reported.
  std::vector<Millis> nextRound();
  /// One probe's result: the path did or did not survive `idle` ms of idleness.
  void onResult(Millis idle, bool survived) noexcept;
  /// True when a probe of `idle` cannot tell anything new: it is known to die
  /// (a shorter idle already died), so a driver may cancel it.
  bool knownToDie(Millis idle) const noexcept { return died_ && idle >= *died_; }

  Outcome outcome() const noexcept;
  bool finished() const noexcept { return outcome() != Outcome::kRunning; }
  int rounds() const noexcept { return rounds_; }
  /// Longest idle that survived (0: none yet).
  Millis survivedMax() const noexcept { return survived_; }
  /// Shortest idle that died, if any.
  std::optional<Millis> diedMin() const noexcept { return died_; }
  /// The idle timeout estimate: the bracket's midpoint (nullopt without a death).
  std::optional<Millis> estimate() const noexcept;
  /// A heartbeat interval safely inside the bracket's lower end: 90% of the
  /// longest idle that survived, rounded down to 100 ms (at least 100 ms);
  /// nullopt without a death (any interval up to max is fine).
  std::optional<Millis> recommendedInterval() const noexcept;

 private:
  DiscoverySettings settings_;
  Millis survived_ = 0;
  std::optional<Millis> died_;
  int rounds_ = 0;
};

std::string_view discoveryOutcomeName(IdleDiscovery::Outcome o) noexcept;

}  // namespace tether::liveness
