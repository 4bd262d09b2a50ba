// Serialization of a response head, the one place that writes framing and
// connection headers. Pure: appends to a string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tether/http/response.h"

namespace tether::http {

struct HeadFraming {
  bool keepAlive = true;  // connection stays open after this response
  bool upgrade = false;   // a 101: `Connection: Upgrade`, no keep-alive headers
  bool stream = false;    // a body of unknown length (event stream): chunked, no Content-Length
  bool http10 = false;    // request was HTTP/1.0 (needs explicit keep-alive)
  bool advertise = true;  // send `Keep-Alive: timeout=N[, max=R]`
  std::int64_t timeoutSeconds = 0;
  std::uint64_t remaining = 0;  // requests still allowed; 0 = unlimited (omit max)
  std::string_view date;
};

/// Whether a response with this status carries a body (not 1xx, 204, 304).
bool statusHasBody(int status) noexcept;

/// Appends status line and headers (ending with the blank line) to `out`.
void appendResponseHead(std::string& out, int status, std::string_view contentType,
                        std::string_view extraHeaders, std::uint64_t bodySize,
                        const HeadFraming& framing);

}  // namespace tether::http
