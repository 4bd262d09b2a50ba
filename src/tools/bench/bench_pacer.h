// Open-loop schedule for `tether bench --rate`: request k is INTENDED to start at
// start + k / rate, whatever happened to earlier requests. Latency is measured
// from that intended time, so a stalled server shows up as latency instead of
// silently lowering the send rate (coordinated omission). Pure: `now` is passed
// in (ns on any monotonic base); not thread-safe, one per worker thread.
#pragma once

#include <cstdint>

namespace tether::tools::bench {

class RatePacer {
 public:
  RatePacer() = default;
  /// `ratePerSecond` > 0: the requests per second this pacer issues.
  RatePacer(std::uint64_t startNs, double ratePerSecond) noexcept
      : startNs_(startNs), intervalNs_(1e9 / ratePerSecond) {}

  /// Intended start of the next request.
  std::uint64_t nextNs() const noexcept {
    return startNs_ + static_cast<std::uint64_t>(double(issued_) * intervalNs_);
  }
  bool due(std::uint64_t nowNs) const noexcept { return nextNs() <= nowNs; }
  /// Issues the next request: returns its intended start time.
  std::uint64_t take() noexcept {
    std::uint64_t at = nextNs();
    ++issued_;
    return at;
  }
  std::uint64_t issued() const noexcept { return issued_; }

 private:
  std::uint64_t startNs_ = 0;
  double intervalNs_ = 0;
  std::uint64_t issued_ = 0;
};

}  // namespace tether::tools::bench
