// Counters a server exposes (status endpoint, embedders). Snapshots are taken
// from any thread; each worker's counters have a single writer (its loop).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tether::http {

/// Why a server connection was closed. Exactly one reason per connection.
enum class CloseReason : std::uint8_t {
  kClientClosed,       // peer closed the connection (EOF)
  kClientRequested,    // `Connection: close`, or HTTP/1.0 without keep-alive
  kKeepaliveDisabled,  // --keepalive-timeout 0
  kIdleTimeout,        // keep-alive idle timer expired
  kMaxRequests,        // --keepalive-requests reached
  kLifetime,           // --keepalive-time crossed
  kHeaderTimeout,      // request header incomplete after --client-header-timeout
  kBodyTimeout,        // --client-body-timeout between two body reads
  kSendTimeout,        // --send-timeout between two writes
  kBadRequest,         // protocol error answered with 4xx/5xx
  kError,              // socket error
  kEviction,           // oldest idle connection closed at --max-connections
  kShutdown,           // graceful shutdown
  kKeepaliveTimeout,   // ETIMEDOUT with nothing in flight: TCP keepalive probes unanswered
  kUserTimeout,        // ETIMEDOUT with data in flight: TCP_USER_TIMEOUT (or tcp_retries2)
  kClientReset,        // peer reset the connection (ECONNRESET, EPIPE)
  // TLS handshake unfinished after --tls-handshake-timeout
  kTlsHandshakeTimeout,
  // plain HTTP on a TLS port (answered 400 in plain text)
  kTlsPlainHttp,
  // an alert ended the handshake (ours or the client's)
  kTlsAlert,
  // malformed TLS records or any other TLS error
  kTlsProtocolError,
  // WebSocket: the close handshake completed (either side began it)
  kWsClosed,
  // WebSocket: bad frames, invalid UTF-8, a message over the limit (1002, 1007, 1009)
  kWsProtocolError,
  // WebSocket: nothing arrived within --ws-ping-timeout after our ping
  kWsPingTimeout,
  // WebSocket: the peer pinged too often (1008)
  kWsTooManyPings,
  // WebSocket: no data message either way for --ws-idle-timeout
  kWsIdleTimeout,
  // WebSocket: our close frame went unanswered for --ws-close-timeout
  kWsCloseTimeout,
  // an event stream ended by its handler
  kSseEnded,
  kCount
};

std::string_view closeReasonName(CloseReason reason) noexcept;

/// Distributions a server records, each into fixed buckets (histogramSpec()).
enum class Distribution : std::uint8_t {
  kRequestsPerConnection,  // at each close: requests begun on the connection
  kConnectionSeconds,      // at each close: time since accept
  kIdleGapSeconds,         // each reuse: end of a response to the next request's first byte
  kIdleClosedSeconds,      // each close of an idle keep-alive connection: how long it had waited
  kRequestSeconds,         // each response: the request's first byte to the response queued
  kWsPingRttSeconds,       // each WebSocket pong answering our latest ping: its round trip
  kCount
};

/// The WebSocket close codes counted one by one (closes by code); any other
/// code counts as "other".
inline constexpr std::array<std::uint16_t, 10> kWsCountedCloseCodes = {
    1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011};
/// Index into ServerStatsSnapshot::wsCloseCodes (the last one: other codes).
std::size_t wsCloseCodeIndex(std::uint16_t code) noexcept;
/// The label of index `i` there: the code ("1000"), or "other".
std::string wsCloseCodeLabel(std::size_t i);

/// Most finite bucket bounds of any distribution.
inline constexpr std::size_t kMaxBuckets = 20;

/// A distribution's buckets: `bounds` are the inclusive upper bounds (Prometheus
/// `le`) in the unit values are recorded in (milliseconds for the _seconds
/// ones, whole requests for the other); one more bucket holds the rest.
struct HistogramSpec {
  std::string_view name;  // Prometheus name, base unit in it
  std::string_view help;
  std::uint64_t perUnit;  // recorded values per exported unit (1000: ms -> s)
  std::array<std::uint64_t, kMaxBuckets> bounds;
  std::size_t size;  // finite bounds used
};

const HistogramSpec& histogramSpec(Distribution d) noexcept;

/// Merged counts: `buckets[i]` observations in bucket i (not cumulative; the
/// last used index, spec.size, is everything above the last bound).
struct HistogramSnapshot {
  std::array<std::uint64_t, kMaxBuckets + 1> buckets{};
  std::uint64_t count = 0;
  std::uint64_t sum = 0;  // in recorded units
};

struct ServerStatsSnapshot {
  // Connections open now, by state.
  std::uint64_t idle = 0;       // waiting for a request (fresh or keep-alive)
  std::uint64_t reading = 0;    // receiving a request header or body
  std::uint64_t writing = 0;    // handler running or response being sent
  std::uint64_t lingering = 0;  // half-closed, draining before close
  // Totals since start.
  std::uint64_t accepted = 0;
  std::uint64_t requests = 0;        // request headers completely received
  std::uint64_t reusedRequests = 0;  // of those, not the first on their connection
  std::array<std::uint64_t, static_cast<std::size_t>(CloseReason::kCount)> closes{};
  // TLS connections: finished handshakes (full or resumed, by version) and
  // those the client abandoned by closing before the handshake finished.
  std::uint64_t tlsFullHandshakes = 0, tlsResumedHandshakes = 0;
  std::uint64_t tls12 = 0, tls13 = 0;
  std::uint64_t tlsHandshakesAbandoned = 0;
  // WebSocket: open now (also counted in open()), and totals.
  std::uint64_t websockets = 0;
  std::uint64_t eventStreams = 0;  // open now (also counted in open())
  std::uint64_t sseOpened = 0, sseEvents = 0, sseHeartbeats = 0;
  std::uint64_t wsOpened = 0, wsMessagesIn = 0, wsMessagesOut = 0;
  std::uint64_t wsPingsSent = 0, wsPongsReceived = 0;
  // Closes by the close handshake's code (kWsCountedCloseCodes, then other).
  std::array<std::uint64_t, kWsCountedCloseCodes.size() + 1> wsCloseCodes{};
  std::array<HistogramSnapshot, static_cast<std::size_t>(Distribution::kCount)> histograms{};
  const HistogramSnapshot& histogram(Distribution d) const noexcept {
    return histograms[static_cast<std::size_t>(d)];
  }

  std::uint64_t open() const noexcept {
    return idle + reading + writing + lingering + websockets + eventStreams;
  }
};

}  // namespace tether::http
