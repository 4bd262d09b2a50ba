// TCP keepalive profile: SO_KEEPALIVE + TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT,
// paired with TCP_USER_TIMEOUT. A plain value type parsed from nginx's
// `so_keepalive` syntax, plus the system defaults it falls back to.
// Pure functions except readSystemKeepaliveDefaults() (reads files) and
// applyKeepaliveProfile() (setsockopt); all thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tether/core/timer_wheel.h"

namespace tether::liveness {

using core::Millis;

// The kernel's limits (include/net/tcp.h: MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL,
// MAX_TCP_KEEPCNT). TCP_USER_TIMEOUT takes a non-negative int of milliseconds.
inline constexpr int kMaxKeepIdleS = 32767;
inline constexpr int kMaxKeepIntvlS = 32767;
inline constexpr int kMaxKeepCnt = 127;
inline constexpr Millis kMaxUserTimeoutMs = 2147483647;

/// What a socket gets. A field of 0 keeps the system value (sysctl), as nginx
/// does for an omitted field; a default-constructed profile changes nothing.
struct KeepaliveProfile {
  bool enabled = false;    // SO_KEEPALIVE; off is the socket default (RFC 1122)
  int idleS = 0;           // TCP_KEEPIDLE: silence before the first probe, seconds
  int intervalS = 0;       // TCP_KEEPINTVL: between unanswered probes, seconds
  int count = 0;           // TCP_KEEPCNT: unanswered probes before the kill
  Millis userTimeout = 0;  // TCP_USER_TIMEOUT in ms; 0: not set (tcp_retries2 rules)

  bool operator==(const KeepaliveProfile&) const = default;
};

/// The host's defaults, from /proc/sys/net/ipv4. Initialized to the kernel's
/// built-in values, used when a file cannot be read.
struct SystemKeepaliveDefaults {
  int idleS = 7200;         // tcp_keepalive_time
  int intervalS = 75;       // tcp_keepalive_intvl
  int count = 9;            // tcp_keepalive_probes
  int retries2 = 15;        // tcp_retries2
  bool fromSystem = false;  // true when all four were read from `dir`
};

/// Reads tcp_keepalive_time, _intvl, _probes and tcp_retries2 from `dir`
/// (tests pass a temporary directory). Unreadable or malformed files keep the
/// built-in default for that field.
SystemKeepaliveDefaults readSystemKeepaliveDefaults(const std::string& dir = "/proc/sys/net/ipv4");

/// Parses `on`, `off` or `IDLE:INTVL:CNT` where any field may be empty (`30m::10`
/// keeps the system interval) and IDLE/INTVL take ms/s/m/h (bare number:
/// seconds). Sub-second parts are rounded UP to whole seconds (the kernel's
/// unit) and a line is appended to `warnings` (may be null). Values outside the
/// kernel's ranges, an all-empty spec, or more than three fields throw
/// std::invalid_argument with a one-line message. userTimeout stays 0.
KeepaliveProfile parseKeepaliveProfile(std::string_view text, std::vector<std::string>* warnings);

/// Parses a TCP_USER_TIMEOUT duration (`4s`, `500ms`; `0` = not set). Throws
/// std::invalid_argument beyond the kernel's range.
Millis parseUserTimeout(std::string_view text);

/// The profile with every 0 field replaced by the system value.
KeepaliveProfile resolveKeepaliveProfile(const KeepaliveProfile& profile,
                                         const SystemKeepaliveDefaults& system);

/// `on`, `off` or `30s:1s:3` (omitted fields stay empty), for logs and status.
std::string formatKeepaliveSpec(const KeepaliveProfile& profile);

/// Applies the profile to a socket (listening or connected; accepted sockets
/// inherit a listener's settings). Fields of 0 are left alone. Returns false
/// with errno set when a setsockopt fails.
bool applyKeepaliveProfile(int fd, const KeepaliveProfile& profile);

}  // namespace tether::liveness
