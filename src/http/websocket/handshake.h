// The opening handshake (RFC 6455 §4.2): checks a client's upgrade request and
// computes Sec-WebSocket-Accept. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "tether/http/request.h"

namespace tether::http::ws {

struct HandshakeCheck {
  int status = 101;               // 101, or the refusal: 400, 405, 426
  const char* problem = nullptr;  // what was wrong (the refusal's body)
  std::string accept;             // 101: the Sec-WebSocket-Accept value
};

HandshakeCheck checkHandshake(const Request& req);

/// base64(SHA-1(key + the RFC's GUID)).
std::string acceptKey(std::string_view key);

/// Whether the comma-separated list `value` holds `token`, case-insensitively.
bool listHasToken(std::string_view value, std::string_view token) noexcept;
/// Whether a comma-separated header value (all headers named `name`) lists
/// `token`, case-insensitively.
bool headerHasToken(const Request& req, std::string_view name, std::string_view token) noexcept;

}  // namespace tether::http::ws
