// The keep-alive decisions of RFC 9112 §9.3 and of the server's policy, as pure
// functions so the whole decision table is unit-tested.
#pragma once

#include <cstdint>
#include <optional>

#include "tether/http/connection_tokens.h"
#include "tether/http/server_stats.h"

namespace tether::http {

/// Everything the server knows when a response is about to be sent.
struct PersistenceInput {
  bool requestPersistent = true;    // requestWantsPersistence()
  bool keepaliveEnabled = true;     // keepalive timeout > 0
  std::uint64_t requestNumber = 1;  // 1-based, on this connection
  std::uint64_t maxRequests = 0;    // 0: unlimited
  bool lifetimeExpired = false;     // connection older than its lifetime
  bool shuttingDown = false;
  bool handlerClose = false;   // handler asked for a close
  bool protocolError = false;  // a 4xx/5xx for bad input: framing is lost
  bool bodyUnread = false;     // request body not consumed (e.g. early 413)
};

/// nullopt: keep the connection; otherwise the reason it closes after this
/// response (the response then carries `Connection: close`).
std::optional<CloseReason> closeAfterResponse(const PersistenceInput& in) noexcept;

/// The `timeout=` value to advertise: whole seconds, at least 1.
std::int64_t advertisedTimeoutSeconds(std::int64_t keepaliveTimeoutMs) noexcept;

}  // namespace tether::http
