#include "keepalive_policy.h"

#include "tether/http/request.h"

namespace tether::http {

void addConnectionTokens(std::string_view value, ConnectionTokens& tokens) noexcept {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view token = trimOws(value.substr(0, comma));
    if (equalsIgnoreCase(token, "close")) tokens.close = true;
    if (equalsIgnoreCase(token, "keep-alive")) tokens.keepAlive = true;
    if (equalsIgnoreCase(token, "upgrade")) tokens.upgrade = true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

bool requestWantsPersistence(int major, int minor, const ConnectionTokens& tokens) noexcept {
  if (tokens.close) return false;
  if (major > 1 || (major == 1 && minor >= 1)) return true;
  return major == 1 && minor == 0 && tokens.keepAlive;
}

std::optional<CloseReason> closeAfterResponse(const PersistenceInput& in) noexcept {
  // Order matters only for which reason is counted; the most specific cause wins.
  if (in.protocolError || in.bodyUnread) return CloseReason::kBadRequest;
  if (in.shuttingDown) return CloseReason::kShutdown;
  if (!in.requestPersistent || in.handlerClose) return CloseReason::kClientRequested;
  if (!in.keepaliveEnabled) return CloseReason::kKeepaliveDisabled;
  if (in.maxRequests != 0 && in.requestNumber >= in.maxRequests) return CloseReason::kMaxRequests;
  if (in.lifetimeExpired) return CloseReason::kLifetime;
  return std::nullopt;
}

std::int64_t advertisedTimeoutSeconds(std::int64_t keepaliveTimeoutMs) noexcept {
  std::int64_t seconds = keepaliveTimeoutMs / 1000;
  return seconds < 1 ? 1 : seconds;
}

}  // namespace tether::http
