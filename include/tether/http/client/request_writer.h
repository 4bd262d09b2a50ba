// The one HTTP/1.1 request serializer (RFC 9112 §3, §6): the pool writes every request with
// it, `tether inspect` its probe requests and `tether bench` the request it sends (serialized
// once before the run, then copied; serializeRequestLines()). Pure; thread-safe.
//
// Bytes written, in order: the request line, `Host: <host>` unless the request has a Host
// header, the request's header fields in their order, `Content-Length` when there is a body
// or the method is POST, PUT or PATCH (see RequestWriteOptions::callerFraming),
// `Connection: close` when asked for (RequestWriteOptions::close), the blank line, the body.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "tether/http/client.h"

namespace tether::http::client {

/// What a caller may ask for beyond the pool's defaults (the defaults: neither).
struct RequestWriteOptions {
  /// Adds `Connection: close` after the other fields, unless the request has a Connection
  /// header of its own.
  bool close = false;
  /// The caller owns framing: Content-Length and Transfer-Encoding fields are written as
  /// given, and Content-Length is added only when the request has none (a load generator
  /// sends what its user typed). Default: such fields are rejected.
  bool callerFraming = false;
};

/// A request whose header fields are lines as a user typed them, "Name: value" (`tether bench
/// -H`): each line is written byte for byte, whatever whitespace follows its colon.
struct RequestLines {
  std::string_view method = "GET";
  std::string_view target = "/";  // origin-form: path and query
  std::span<const std::string> headers;
  std::string_view body;
};

/// Writes the request into `out` (cleared first; its capacity is reused). `host` is the Host
/// value used when the request has none. Returns "" on success, or why the request cannot be
/// sent (nothing usable in `out`): a method that is not a token, a target that is empty or has
/// whitespace or control bytes, a header name that is not a token (a header line without a
/// colon), a value with CR, LF or NUL, or a framing header without `callerFraming`.
const char* serializeRequest(const ClientRequest& request, std::string_view host, std::string& out,
                             const RequestWriteOptions& options = {});
/// The same for a request whose header fields are lines as typed.
const char* serializeRequestLines(const RequestLines& request, std::string_view host,
                                  std::string& out, const RequestWriteOptions& options = {});

}  // namespace tether::http::client
