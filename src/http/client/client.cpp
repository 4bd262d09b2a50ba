#include "tether/http/client.h"

#include "tether/http/request.h"

namespace tether::http::client {

std::string_view ClientResponse::header(std::string_view name) const noexcept {
  for (const auto& [n, v] : headers) {
    if (equalsIgnoreCase(n, name)) return v;
  }
  return {};
}

const char* errorKindName(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::kNone: return "none";
    case ErrorKind::kInvalidRequest: return "invalid_request";
    case ErrorKind::kConnectFailed: return "connect_failed";
    case ErrorKind::kConnectTimeout: return "connect_timeout";
    case ErrorKind::kRequestTimeout: return "request_timeout";
    case ErrorKind::kConnectionClosedBeforeResponse: return "connection_closed_before_response";
    case ErrorKind::kConnectionClosedDuringResponse: return "connection_closed_during_response";
    case ErrorKind::kMalformedResponse: return "malformed_response";
    case ErrorKind::kResponseTooLarge: return "response_too_large";
    case ErrorKind::kCancelled: return "cancelled";
    case ErrorKind::kTlsHandshakeFailed: return "tls_handshake_failed";
    case ErrorKind::kTlsVerifyFailed: return "tls_verify_failed";
  }
  return "unknown";
}

bool isReplayable(const ClientRequest& request) noexcept {
  for (std::string_view m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    if (request.method == m) return true;
  }
  for (const auto& [name, value] : request.headers) {
    if (equalsIgnoreCase(name, "idempotency-key") || equalsIgnoreCase(name, "x-idempotency-key")) {
      return true;
    }
  }
  return false;
}

}  // namespace tether::http::client
