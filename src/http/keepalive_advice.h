// What the observed keep-alive idle gaps say about the idle timeout: the
// operator's question "what keepalive_timeout should I set?" answered from the
// tether_keepalive_idle_gap_seconds histogram. Pure: a histogram in, numbers out.
//
// Only reuses that happened can be counted: a gap longer than the current
// timeout never shows up (the connection was closed first, and the client's
// next request came on a new connection). So the advice can say how much a
// shorter timeout would lose, and that the current one kept every reuse it
// allowed; it cannot promise what a longer one would gain.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "tether/core/time.h"
#include "tether/http/server_stats.h"

namespace tether::http {

struct KeepaliveAdvice {
  std::uint64_t reuses = 0;  // gaps observed
  /// Smallest bucket bound (ms) that covers at least 99 % of the observed
  /// gaps, and the share it covers (percent, one decimal); empty without gaps.
  std::optional<core::Millis> timeoutFor99;
  double keptAt99 = 0;
  /// For common timeouts shorter than the current one (1, 5, 15, 30, 60 s):
  /// the share of the observed gaps (percent) each would have kept.
  struct Kept {
    core::Millis timeout;
    double percent;
  };
  std::vector<Kept> shorter;
};

/// `gaps` recorded with histogramSpec(Distribution::kIdleGapSeconds);
/// `currentTimeout` is --keepalive-timeout (ms).
KeepaliveAdvice adviseKeepalive(const HistogramSnapshot& gaps, core::Millis currentTimeout);

}  // namespace tether::http
