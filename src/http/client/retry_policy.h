// When a failed request may be sent again: RFC 9110 §9.2.2 / RFC 9112 §9.3.1,
// as a pure function so the whole table is unit-tested.
#pragma once

namespace tether::http::client {

/// What the connection knew when the attempt failed.
struct RetryInput {
  bool replayable = false;        // isReplayable(request)
  bool reusedConnection = false;  // the attempt ran on a connection taken from the pool
  bool requestBytesSent = false;  // the kernel accepted at least one request byte
  bool responseBytesReceived = false;
  bool connectionClosed = false;  // EOF, RST or EPIPE (not a timeout, not a bad response)
  int attempt = 1;                // 1-based number of the failed attempt
};

struct RetryDecision {
  bool retry = false;
  const char* reason = "";  // static string, for stats and logs
};

/// At most one retry, on a new connection, only after a reused connection closed
/// before any response byte, and only if the request is replayable or provably
/// never sent (the kernel took no byte of it, so the server cannot have seen it).
RetryDecision decideRetry(const RetryInput& in) noexcept;

}  // namespace tether::http::client
