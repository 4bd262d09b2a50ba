// The `Connection` header's options and RFC 9112 §9.3's persistence rule, shared
// by the server's request parser and the client's response parsers. Pure;
// thread-safe.
#pragma once

#include <string_view>

namespace tether::http {

/// The connection options a message carried (Connection header tokens).
struct ConnectionTokens {
  bool close = false;
  bool keepAlive = false;
  bool upgrade = false;
};

/// Adds the comma-separated tokens of one `Connection` header value to `tokens`.
void addConnectionTokens(std::string_view value, ConnectionTokens& tokens) noexcept;

/// RFC 9112 §9.3: `close` wins; HTTP/1.1+ persists by default; HTTP/1.0 only
/// with `keep-alive`; anything older closes.
bool requestWantsPersistence(int major, int minor, const ConnectionTokens& tokens) noexcept;

}  // namespace tether::http
