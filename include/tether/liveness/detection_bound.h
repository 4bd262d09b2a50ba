// How long a dead peer goes unnoticed under a keepalive profile, what the
// probes cost, and which settings are risky: the model behind `tether explain`.
// Pure functions over values (the system defaults are passed in); thread-safe.
//
// The model follows Linux 6.x net/ipv4/tcp_timer.c:
// - tcp_keepalive_timer(): probes go out only while nothing is unacknowledged
//   or queued; the first after `idle` seconds without a received segment, then
//   one every `interval`. Without TCP_USER_TIMEOUT the connection is killed at
//   the timer run that finds `count` probes unanswered: idle + interval*count.
//   With TCP_USER_TIMEOUT, TCP_KEEPCNT is ignored: it is killed at the first
//   timer run with >= 1 probe out and time since the last receive >= the user
//   timeout, i.e. at min{idle + k*interval : k >= 1, idle + k*interval >= UTO}.
// - tcp_write_timeout()/retransmits_timed_out(): with data in flight, the user
//   timeout (measured from the oldest unacknowledged transmission; the RTO is
//   clamped to what remains) or, without one, tcp_model_timeout(tcp_retries2,
//   TCP_RTO_MIN=200ms) with RTO doubling up to TCP_RTO_MAX=120s.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tether/liveness/keepalive_profile.h"

namespace tether::liveness {

inline constexpr Millis kRtoMin = 200;      // TCP_RTO_MIN
inline constexpr Millis kRtoMax = 120'000;  // TCP_RTO_MAX (tcp_rto_max_ms default)
/// A probe window (time from the first unanswered probe to the kill) below this
/// lets a short outage kill healthy idle connections.
inline constexpr Millis kShortProbeWindow = 10'000;

/// One keepalive probe (probe >= 1) or the kill (probe == 0), in ms after the
/// last segment received from the peer.
struct ProbeEvent {
  Millis at = 0;
  int probe = 0;
};

struct IdleDetection {
  bool detected = false;       // false: keepalive off, a dead idle peer is never found
  Millis firstProbeAt = 0;     // after the last segment received (= idle)
  Millis deadAt = 0;           // kill time after the last segment received
  int probes = 0;              // probes sent before the kill
  bool byUserTimeout = false;  // TCP_USER_TIMEOUT decided (TCP_KEEPCNT ignored)
  /// From the first unanswered probe to the kill: the shortest outage that kills.
  Millis probeWindow() const noexcept { return deadAt - firstProbeAt; }
};

/// `profile` must be resolved (no 0 fields when enabled).
IdleDetection idleDetection(const KeepaliveProfile& profile);

/// The probe timeline of idleDetection(), at most `maxEvents` entries: the
/// first and last probes are kept, `*elided` (may be null) gets the number left
/// out between them. The kill is always the last entry.
std::vector<ProbeEvent> probeTimeline(const KeepaliveProfile& profile, std::size_t maxEvents,
                                      std::size_t* elided);

/// Death of a connection whose sent data stays unacknowledged.
struct InFlightDetection {
  bool byUserTimeout = false;
  Millis deadAt = 0;        // after the oldest unacknowledged segment was sent
  Millis modelTimeout = 0;  // tcp_model_timeout(retries2) (0 with a user timeout)
  int retransmissions = 0;  // retransmissions before the kill (retries2 case)
  int retries2 = 0;
  Millis initialRto = 0;
};

/// Without a user timeout: the kernel's hypothetical timeout for `retries2`
/// (924.6 s for 15), and the effective kill time, which is the first RTO
/// expiry at or after it, with RTOs starting at `initialRto` and doubling up
/// to kRtoMax.
InFlightDetection inFlightDetection(Millis userTimeout, int retries2, Millis initialRto = kRtoMin);

/// tcp_model_timeout(): (2^(t+1) - 1) * base for boundary <= t, else linear in
/// rtoMax beyond t = log2(rtoMax / base).
Millis retransmitModelTimeout(int retries2, Millis rtoBase = kRtoMin);

/// Keepalive traffic on an idle connection whose peer answers: one probe and
/// one ACK per `idle` seconds, per side that enables keepalive.
struct ProbeTraffic {
  static constexpr int kIpv4Bytes = 52;       // IPv4 20 + TCP 20 + timestamps option 12
  static constexpr int kIpv6Bytes = 72;       // IPv6 40 + TCP 20 + 12
  static constexpr int kEthernetHeader = 14;  // on the wire per frame (no FCS, as captured)
  double probesPerHour = 0;
  double packetsPerHour = 0;  // probes + ACKs, both directions
  double ipv4BytesPerHour = 0;
  double ipv6BytesPerHour = 0;
  double ipv4FrameBytesPerHour = 0;  // with Ethernet headers
};
ProbeTraffic probeTraffic(const KeepaliveProfile& profile);

/// A middlebox idle timeout as its vendor documents it (AWS, Azure, GCP), as
/// gRPC's keepalive proposal A8 quotes it, or from an RFC; `source` says which.
struct MiddleboxTimeout {
  const char* name;
  Millis timeout;
  const char* source;
};
const std::vector<MiddleboxTimeout>& commonMiddleboxTimeouts();

struct Warning {
  std::string code;  // short_probe_window, idle_exceeds_middlebox, user_timeout_below_keepalive,
                     // user_timeout_above_keepalive, idle_undetected
  std::string message;
};

/// Warnings for a resolved profile (see the codes above).
std::vector<Warning> keepaliveWarnings(const KeepaliveProfile& profile);

/// `33 s`, `0.5 s`, `924.6 s (15.4 min)`, `7875 s (2.19 h)`: seconds with up to
/// three decimals, plus minutes or hours when large.
std::string formatSeconds(Millis ms);

}  // namespace tether::liveness
