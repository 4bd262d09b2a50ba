// The timeout ladder: whether the idle timeouts along a chain of hops, client to
// server, are ordered so that no hop reuses a connection its peer has already
// closed (the 502 / ECONNRESET race) and no idle flow outlives a middlebox's
// state (a NAT or L4 balancer that forgets it silently).
//
// The rule for every connection between two HTTP hops: the side that reuses
// idle connections (a client's pool, a proxy's upstream pool) must stop reusing
// them before the side that accepted them closes them, with a margin. A hop that
// reads the server's `Keep-Alive: timeout=N` hint reuses until N minus its own
// margin. Every middlebox between the two forgets a flow idle longer than its
// timeout unless TCP keepalive probes, which it counts, come sooner; HTTP hops
// themselves never count TCP keepalive as activity.
//
// Pure functions: no I/O, no clock. Units: Millis. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tether/core/time.h"

namespace tether::liveness {

using core::Millis;

/// "Never": no idle limit (a pool that reuses forever, a server without an idle timeout).
inline constexpr Millis kNoLimit = -1;
/// What the ladder asks between one side's reuse limit and the other's close.
inline constexpr Millis kLadderMargin = 5'000;

enum class HopRole : std::uint8_t { kClient, kProxy, kServer, kMiddlebox };
const char* hopRoleName(HopRole r) noexcept;

/// A hop's idle behaviour. Which fields matter depends on its role (a
/// middlebox has only `idle`; a client has no `keepalive`).
struct HopTimeouts {
  Millis keepalive = kNoLimit;     // closes an idle connection from the previous hop after this
  Millis hint = kNoLimit;          // advertised `Keep-Alive: timeout=`; kNoLimit: not sent
  Millis pool = kNoLimit;          // stops reusing an idle connection to the next hop; 0: no reuse
  Millis hintMargin = kNoLimit;    // reads the next hop's hint and reuses until hint - margin
  Millis hintCap = kNoLimit;       // upper bound on a hint-derived reuse time
  Millis tcpKeepalive = kNoLimit;  // idle time before its TCP keepalive probes; kNoLimit: off
  Millis idle = kNoLimit;          // middlebox: forgets a flow idle this long
  bool countsKeepalive = true;     // middlebox: TCP keepalive probes refresh its timer
  bool resetsForgotten = false;    // middlebox: answers a forgotten flow with RST (else drops it)
};

struct Hop {
  std::string name;  // the preset's name, or the generic role the user wrote
  HopRole role = HopRole::kServer;
  HopTimeouts t;
  std::string source;  // where the values come from; the user's own values are listed
};

/// Builds the chain from specs such as `alb`, `nginx:keepalive=75s,upstream=60s`,
/// `client:pool=90s`, `nat:idle=5m`. The position decides a preset's role: the
/// first HTTP hop is the client side, the last the server, the ones between
/// proxies; middleboxes sit between two HTTP hops. Throws std::invalid_argument
/// with a one-line reason (unknown name or key, bad duration, bad order).
std::vector<Hop> parsePath(const std::vector<std::string>& specs);

/// The preset names, for help and error messages, in a stable order.
std::vector<std::string_view> hopPresetNames();

enum class LadderVerdict : std::uint8_t {
  kOk,          // reuse stops at least kLadderMargin before the close
  kTight,       // reuse stops before the close, by less than kLadderMargin
  kRace,        // the reusing side may send on a connection the other side closed
  kNoReuse,     // one side does not keep connections for reuse: nothing to order
  kSilentDrop,  // a middlebox forgets the flow before either side closes it
};
const char* ladderVerdictName(LadderVerdict v) noexcept;

/// One finding about the connection between hops[from] and hops[to].
struct LadderFinding {
  std::size_t from = 0, to = 0;  // indices of the two HTTP hops
  std::size_t middlebox = 0;     // index of the middlebox (kSilentDrop only)
  LadderVerdict verdict = LadderVerdict::kOk;
  Millis reuseUntil = kNoLimit;           // the reusing side's effective limit
  Millis closedAfter = kNoLimit;          // the accepting side's close
  bool byHint = false;                    // reuseUntil comes from the hint
  Millis suggestKeepalive = kNoLimit;     // kRace/kTight: accepting side's keepalive at least this
  Millis suggestPool = kNoLimit;          // kRace/kTight: reusing side's pool at most this
  Millis suggestTcpKeepalive = kNoLimit;  // kSilentDrop: TCP keepalive idle below the middlebox's
};

struct LadderReport {
  std::vector<Hop> hops;
  std::vector<LadderFinding> findings;  // one per HTTP pair, plus one per forgetting middlebox
  std::size_t problems = 0;             // findings that are kRace or kSilentDrop
};

LadderReport checkLadder(std::vector<Hop> hops);

}  // namespace tether::liveness
