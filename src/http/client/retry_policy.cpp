#include "retry_policy.h"

namespace tether::http::client {

RetryDecision decideRetry(const RetryInput& in) noexcept {
  if (!in.connectionClosed) {
    return {false, "not a connection close: the server may still be working on it"};
  }
  if (in.attempt >= 2) return {false, "already retried once (RFC 9110 9.2.2)"};
  if (!in.reusedConnection) return {false, "fresh connection: not the keep-alive race"};
  if (in.responseBytesReceived) return {false, "the response had begun"};
  if (!in.requestBytesSent) return {true, "nothing was sent on a reused connection"};
  if (!in.replayable) return {false, "not idempotent and may have been processed"};
  return {true, "reused connection closed before any response byte"};
}

}  // namespace tether::http::client
