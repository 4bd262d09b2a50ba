// The idle-timeout discovery runner: finds how long the path to a heartbeat
// server that does not ping (`heartbeat serve --interval off`) keeps an idle
// connection, with rounds of parallel probe connections whose idle times
// IdleDiscovery (idle_discovery.h) chooses. `tether heartbeat connect
// --discover` is this plus printing.
//
// A probe connects, exchanges hellos, stays silent for its idle time T, then
// sends one PING (the heartbeat engine with interval T, no jitter, no missed
// pings): a PONG within the heartbeat timeout means the path survived T; a
// heartbeat timeout (the ping was blackholed: an expired NAT or conntrack
// entry), a reset (the middlebox answered with an RST) or any other end means
// it died. Once a probe died, pending probes at least as long are known to die
// and are cancelled (GOODBYE(normal) "probe cancelled", no verdict), so a round
// ends about one timeout after its shortest death. All probes share the one
// loop. Probes set no TCP keepalive (a probe must send nothing before its ping).
//
// Threading: loop-thread only. Ownership: the runner owns its probes; a
// finished round's probes are destroyed when the next round starts or with the
// runner, never inside their callbacks. The loop and the observer must outlive
// the runner. Times in milliseconds.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "tether/liveness/heartbeat.h"
#include "tether/liveness/idle_discovery.h"
#include "tether/net/event_loop.h"
#include "tether/net/socket.h"

namespace tether::liveness {

struct DiscoveryOptions {
  net::SocketAddress address;
  /// Each probe's heartbeat: `timeout` bounds its handshake and its ping;
  /// interval, jitter and missed pings are set per probe.
  HeartbeatConfig heartbeat;
  DiscoverySettings search;  // must pass validateDiscoverySettings()
  Millis userTimeout = 0;    // TCP_USER_TIMEOUT on each probe; 0 = system default
  std::uint64_t seed = 0;    // mixed with the loop time into each probe's session seed
};

enum class ProbeVerdict : std::uint8_t { kPending, kSurvived, kDied, kCancelled };
/// "pending", "survived", "died", "cancelled".
std::string_view probeVerdictName(ProbeVerdict v) noexcept;

/// A round starts: one probe per idle time (ascending).
struct DiscoveryRound {
  int round = 0;  // 1-based
  const std::vector<Millis>& idles;
};

/// A probe's verdict (survived or died), or its cancellation.
struct ProbeReport {
  int round = 0;
  Millis idle = 0;
  ProbeVerdict verdict = ProbeVerdict::kPending;
  std::string_view reason;  // "pong", the session's close reason name, or "known to die"
};

enum class DiscoveryEnd : std::uint8_t {
  kSearched,      // the search ended: see `outcome`
  kConnectError,  // a probe could not connect (`connectErrno`); the others were cancelled
  kStopped,       // stop(): the pending probes were cancelled
};

/// The end of the run, with what the search knows at that point.
struct DiscoveryResult {
  DiscoveryEnd end = DiscoveryEnd::kSearched;
  IdleDiscovery::Outcome outcome = IdleDiscovery::Outcome::kRunning;
  int rounds = 0;
  Millis survivedMax = 0;                     // longest idle that survived (0: none)
  std::optional<Millis> diedMin;              // shortest idle that died
  std::optional<Millis> estimate;             // the bracket's midpoint
  std::optional<Millis> recommendedInterval;  // IdleDiscovery::recommendedInterval()
  int connectErrno = 0;                       // kConnectError
};

/// Called on the loop thread. onFinished() comes once, last.
class DiscoveryObserver {
 public:
  virtual void onRound(const DiscoveryRound&) {}
  virtual void onProbe(const ProbeReport&) {}
  /// A pending probe known to die from a shorter one's death was cancelled
  /// (verdict kCancelled); the search learns nothing from it.
  virtual void onProbeCancelled(const ProbeReport&) {}
  virtual void onFinished(const DiscoveryResult&) = 0;

 protected:
  ~DiscoveryObserver() = default;
};

class DiscoveryProbe;  // one probe connection (src/liveness/discovery_probe.h)

class DiscoveryRunner {
 public:
  DiscoveryRunner(net::EventLoop& loop, const DiscoveryOptions& options,
                  DiscoveryObserver& observer);
  ~DiscoveryRunner();
  DiscoveryRunner(const DiscoveryRunner&) = delete;
  DiscoveryRunner& operator=(const DiscoveryRunner&) = delete;

  /// Starts the first round. Once only.
  void start();
  /// Cancels the pending probes and finishes (kStopped). No-op once finished.
  void stop();

  bool finished() const noexcept { return finished_; }
  const IdleDiscovery& search() const noexcept { return search_; }

 private:
  friend class DiscoveryProbe;  // reports its verdict or connect error
  void onProbeVerdict(DiscoveryProbe& probe, std::string_view reason);
  void onProbeConnectError(int err);
  void startRound();
  void roundDone();
  void cancelPending();
  void finish(DiscoveryEnd end, int err);

  net::EventLoop& loop_;
  DiscoveryOptions options_;
  DiscoveryObserver& observer_;
  IdleDiscovery search_;
  std::vector<std::unique_ptr<DiscoveryProbe>> probes_;
  std::vector<std::unique_ptr<DiscoveryProbe>> retired_;  // freed outside their callbacks
  net::DelayedCallId nextRound_;
  bool finished_ = false;
};

}  // namespace tether::liveness
