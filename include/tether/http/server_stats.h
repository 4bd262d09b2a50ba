// Counters a server exposes (status endpoint, embedders). Snapshots are taken
// from any thread; each worker's counters have a single writer (its loop).
#pragma once

#include <array>
#include <cstdint>
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
  kCount
};

std::string_view closeReasonName(CloseReason reason) noexcept;

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

  std::uint64_t open() const noexcept { return idle + reading + writing + lingering; }
};

}  // namespace tether::http
