// HTTP/1.1 client value types: the request a caller hands to a pool, and the
// result it gets back (response or a classified error, plus per-request stats).
//
// Plain values; thread-safe to copy and move. The pool that runs requests is in
// tether/http/pool.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tether/core/timer_wheel.h"

namespace tether::http::client {

using core::Millis;

/// One request. The pool adds `Host` (unless given) and `Content-Length` (when
/// there is a body, or for POST/PUT/PATCH); do not set framing headers yourself.
struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";  // origin-form: path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct ClientResponse {
  int status = 0;
  int versionMinor = 1;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// First value of header `name` (case-insensitive); empty if absent.
  std::string_view header(std::string_view name) const noexcept;
};

enum class ErrorKind : std::uint8_t {
  kNone,
  kInvalidRequest,                  // rejected before sending (bad method, target or header bytes)
  kConnectFailed,                   // connect() failed (errno says why: ECONNREFUSED, ...)
  kConnectTimeout,                  // no connection within the connect timeout
  kRequestTimeout,                  // no complete response within the request timeout
  kConnectionClosedBeforeResponse,  // EOF/RST/EPIPE before any response byte
  kConnectionClosedDuringResponse,  // EOF/RST after part of the response
  kMalformedResponse,               // the response could not be parsed
  kResponseTooLarge,                // body above PoolOptions::maxResponseBody
  kCancelled,                       // Pool::cancelAll()
  kTlsHandshakeFailed,              // https: the handshake failed (alert, not TLS, bad records)
  kTlsVerifyFailed,                 // https: the server's certificate was refused (detail says why)
};

/// Stable lower-case name, e.g. "connection_closed_before_response".
const char* errorKindName(ErrorKind kind) noexcept;

struct ClientError {
  ErrorKind kind = ErrorKind::kNone;
  int sysErrno = 0;             // errno behind the failure, 0 if none (EOF, timeout)
  bool requestSent = false;     // at least one request byte was accepted by the kernel
  bool maybeProcessed = false;  // the server may have acted on it: never replay blindly
  const char* detail = "";      // one line (static storage)
};

/// Per-request measurements, for tools. Durations in microseconds.
struct RequestStats {
  bool reused = false;               // the final attempt ran on a reused connection
  int attempts = 0;                  // 1, or 2 after the one permitted retry
  const char* retryReason = "";      // why the first attempt was retried ("" if not)
  const char* noRetryReason = "";    // why a failure was not retried ("" if success)
  bool firstAttemptReused = false;   // the first attempt ran on a reused connection
  Millis idleBeforeReuseMs = -1;     // idle age of the reused connection, -1 if fresh
  Millis firstAttemptIdleMs = -1;    // the same for the first attempt, kept across a retry
  std::int64_t connectUs = -1;       // connect() to writable, -1 if reused
  std::int64_t tlsHandshakeUs = -1;  // https: writable to handshake done, -1 if reused or plain
  bool tlsResumed = false;           // https: that handshake resumed a session
  std::int64_t firstByteUs = -1;     // request write start to first response byte
  std::int64_t totalUs = 0;          // request() to callback
  std::uint64_t connectionId = 0;
  std::uint64_t requestOnConnection = 0;   // 1-based
  std::uint64_t bytesSent = 0;             // of the final attempt
  std::uint64_t bytesReceived = 0;         // of the final attempt
  std::int64_t keepAliveHintSeconds = -1;  // the response's Keep-Alive: timeout=, -1 if none
};

struct ClientResult {
  ClientError error;
  ClientResponse response;  // valid when ok()
  RequestStats stats;
  bool ok() const noexcept { return error.kind == ErrorKind::kNone; }
};

/// RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or a request that
/// carries `Idempotency-Key` (or `X-Idempotency-Key`).
bool isReplayable(const ClientRequest& request) noexcept;

}  // namespace tether::http::client
