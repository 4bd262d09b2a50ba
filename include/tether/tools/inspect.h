// `tether inspect`: measures what an HTTP/1.1 server really does with keep-alive.
//
// runInspection() opens a handful of probe connections on one event loop (on the
// calling thread, which it blocks) and records what each saw: responses, their
// Connection and Keep-Alive headers, and how and when the server closed.
// buildReport() turns those raw outcomes into findings and pool recommendations
// (pure, unit-tested); formatText()/formatJson() print them.
//
// Units: durations in milliseconds (Millis) unless a name says otherwise.
// Thread: runInspection() is self-contained (its own loop); the rest is pure.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tether/core/timer_wheel.h"
#include "tether/liveness/keepalive_profile.h"
#include "tether/net/socket.h"

namespace tether::net {
class TlsContext;
}

namespace tether::tools::inspect {

using core::Millis;

/// Where runInspection() is: the idle probes wait for the server's idle close,
/// which takes as long as the server's idle timeout (capped by maxIdleWait).
struct InspectProgress {
  Millis elapsedMs = 0;
  int running = 0;  // probes still waiting
  int total = 0;
  bool idleResponseSeen = false;         // the first idle probe has its response
  std::int64_t advertisedTimeoutS = -1;  // its `Keep-Alive: timeout=`, -1 if absent
  Millis maxIdleWait = 0;                // the cap on the idle wait
};
constexpr Millis kProgressEveryMs = 500;

struct InspectConfig {
  net::SocketAddress target;
  std::string host;    // Host header value (the URL's authority)
  std::string path;    // origin-form target of every probe request
  std::string origin;  // http[s]://authority/path, for the report
  /// https: the client context and the name for SNI and the certificate
  /// check; null for http.
  std::shared_ptr<const net::TlsContext> tls;
  std::string tlsServerName;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (-H)
  Millis maxIdleWait = 120'000;                              // cap on the idle-timeout wait
  std::uint64_t maxRequests = 1000;                          // cap on the max-requests probe
  Millis requestTimeout = 5'000;                             // per request (and for connect)
  /// TCP keepalive / TCP_USER_TIMEOUT for the probe connections (none: system default).
  std::optional<liveness::KeepaliveProfile> keepalive;
  /// Called on runInspection()'s thread every kProgressEveryMs while probes
  /// run, so a terminal can show what the inspection waits for; may be empty.
  std::function<void(const InspectProgress&)> progress;
};

/// https: what one probe connection's handshake was.
struct TlsSeen {
  bool done = false;    // the handshake finished
  std::string version;  // "TLSv1.3"
  std::string alpn;     // "" when none was chosen
  std::string cipher;
  bool resumed = false;
  double handshakeMs = -1;       // TCP connection writable to handshake done
  bool peerCloseNotify = false;  // the server sent close_notify before its close
  bool refused = false;          // the certificate check failed (ProbeOutcome::error says why)
};

/// One response as the probe saw it.
struct ResponseSeen {
  int status = 0;
  int versionMinor = 1;
  bool connectionClose = false;        // `Connection: close`
  bool connectionKeepAlive = false;    // `Connection: keep-alive`
  std::int64_t keepAliveTimeout = -1;  // `Keep-Alive: timeout=` in seconds, -1 if absent
  std::int64_t keepAliveMax = -1;      // `Keep-Alive: max=`, -1 if absent
  std::uint64_t bodyBytes = 0;
  bool reusable = false;  // framing and headers allow another request
};

enum class CloseStyle : std::uint8_t {
  kOpen,  // still open when the probe stopped waiting
  kFin,   // read returned 0
  kRst,   // ECONNRESET (or EPIPE on write)
};
const char* closeStyleName(CloseStyle s) noexcept;  // "open", "fin", "rst"

struct ProbeOutcome {
  std::string error;     // "" or why the probe could not do its job (timeout, malformed)
  int connectErrno = 0;  // non-zero: connect() failed with it
  std::uint64_t responseCount = 0;
  std::vector<ResponseSeen> responses;  // every response, or first and last (max-requests)
  CloseStyle close = CloseStyle::kOpen;
  /// From the end of the last complete response to the server's close, -1 if none.
  double closeAfterMs = -1;
  /// How long the probe waited after the last response before giving up (kOpen).
  Millis waitedMs = 0;
  bool closedMidResponse = false;         // the close cut a response short
  bool closedWithRequestPending = false;  // we had sent a request no response answered
  std::uint64_t unexpectedBytes = 0;      // bytes after the responses we expected
  TlsSeen tls;                            // https only
};

/// https: the handshake probes, run one after another once the others ended
/// (so the sessions they offer come from connections the server closed idle).
struct TlsProbes {
  ProbeOutcome resumed[3];       // offering a session (TLS 1.3 ticket) from the earlier probes
  ProbeOutcome full[3];          // offering none
  ProbeOutcome sessionIdFirst;   // TLS 1.2 without tickets: the server's session cache...
  ProbeOutcome sessionIdSecond;  // ...offered again
};

/// Raw outcomes, one per probe. Three idle probes run in parallel.
struct InspectResult {
  ProbeOutcome idle[3];            // HTTP/1.1 GET, no Connection header, wait for the close
  ProbeOutcome http10;             // HTTP/1.0 GET
  ProbeOutcome http10KeepAlive;    // HTTP/1.0 GET with Connection: keep-alive
  ProbeOutcome connectionClose;    // HTTP/1.1 GET with Connection: close
  ProbeOutcome lingering;          // GET with Connection: close + an unread request, one write
  ProbeOutcome pipeline;           // GET path, GET missing path, HEAD path, one write
  ProbeOutcome maxRequests;        // sequential GETs until the server closes
  TlsProbes tls;                   // https only
  Millis persistenceWindowMs = 0;  // how long the persistence probes wait for a close
  Millis elapsedMs = 0;
};

/// Runs every probe in parallel. Throws std::runtime_error (one line) when the
/// server cannot be reached at all.
InspectResult runInspection(const InspectConfig& config);

// ---------------------------------------------------------------- report (pure)

/// Median of the idle samples (ms); `reached` false when a probe was still open
/// at --max-idle-wait ("at least").
struct IdleEstimate {
  std::vector<double> samplesMs;  // close times observed, sorted
  bool reached = false;           // at least one sample, and no probe outlived the cap
  double medianMs = -1;
  double minMs = -1, maxMs = -1;
  double atLeastMs = -1;    // when not reached: the longest wait without a close
  bool consistent = false;  // samples within 2 x 50 ms of each other
};
constexpr double kIdlePrecisionMs = 50;

/// Median of 3 (or fewer) close times; open connections make it "at least".
/// Only probes whose response allowed reuse count.
IdleEstimate estimateIdle(const ProbeOutcome* probes, int count);

enum class Tri : std::uint8_t { kNo, kYes, kUnknown };
const char* triName(Tri t) noexcept;  // "no", "yes", "unknown"

struct Persistence {
  Tri http11Default = Tri::kUnknown;
  Tri http10 = Tri::kUnknown;
  Tri http10KeepAlive = Tri::kUnknown;
  Tri closeHonoured = Tri::kUnknown;
};

/// https findings. Handshake times are medians of the probes (ms, -1 if none).
struct TlsFindings {
  bool enabled = false;
  std::string version, alpn, cipher;
  Tri closeNotifyAtIdleClose = Tri::kUnknown;  // unknown: no idle close was seen
  Tri resumesWithTicket = Tri::kUnknown;       // after the server closed the connection idle
  Tri resumesWithSessionId = Tri::kUnknown;    // unknown: TLS 1.2 refused or failed
  double fullHandshakeMs = -1;
  double resumedHandshakeMs = -1;
  std::string advice;
};

struct InspectReport {
  std::string origin;
  TlsFindings tls;
  Persistence persistence;
  std::int64_t advertisedTimeoutS = -1, advertisedMax = -1;
  bool advertisedOnlyOnRequest = false;  // sent only to `Connection: keep-alive` requests
  IdleEstimate idle;
  CloseStyle idleCloseStyle = CloseStyle::kOpen;
  std::uint64_t maxRequests = 0;    // responses on one connection before the close
  bool maxRequestsReached = false;  // false: the cap was hit first ("at least")
  bool lastSaidClose = false;
  CloseStyle maxRequestsCloseStyle = CloseStyle::kOpen;
  // Lingering close: the full final response arrived despite the unread request.
  Tri finalResponseSurvives = Tri::kUnknown;
  CloseStyle lingeringCloseStyle = CloseStyle::kOpen;
  // Pipelining.
  std::vector<int> pipelineStatuses;
  Tri pipelineComplete = Tri::kUnknown;
  Tri pipelineInOrder = Tri::kUnknown;
  std::string pipelineNote;
  // Recommendations.
  bool poolable = false;
  double recommendedIdleMs = -1;  // -1: do not keep idle connections
  std::string idleAdvice, retryAdvice, maxRequestsAdvice;
  std::uint64_t recommendedMaxRequests = 0;  // 0: no cap needed
  std::vector<std::string> problems;         // probes that failed, one line each
  Millis elapsedMs = 0;
};

constexpr Millis kIdleMarginMs = 1000;

InspectReport buildReport(const InspectConfig& config, const InspectResult& result);
std::string formatText(const InspectReport& report);
std::string formatJson(const InspectReport& report);

}  // namespace tether::tools::inspect
