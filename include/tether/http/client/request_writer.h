// Serializes a client request into HTTP/1.1 wire bytes (RFC 9112 §3, §6).
// Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "tether/http/client.h"

namespace tether::http::client {

/// Appends the request to `out` (cleared first; its capacity is reused).
/// `host` is the Host value used when the request has none. Returns "" on
/// success, or why the request cannot be sent (nothing usable in `out`):
/// a method that is not a token, a target with whitespace or control bytes, a
/// header name that is not a token, a value with CR/LF/NUL, or a framing header
/// (Content-Length, Transfer-Encoding) the writer owns.
const char* serializeRequest(const ClientRequest& request, std::string_view host, std::string& out);

}  // namespace tether::http::client
