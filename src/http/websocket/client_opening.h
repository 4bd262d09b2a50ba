// The client's half of the opening handshake (RFC 6455 §4.1): the upgrade
// request with a fresh Sec-WebSocket-Key, and the checks on the server's
// answer (101, Upgrade, Connection, Sec-WebSocket-Accept, no extension or
// subprotocol that was not offered).
//
// Threading: one object per connection, one thread at a time.
#pragma once

#include <string>
#include <string_view>

#include "tether/http/client/response_parser.h"
#include "tether/liveness/heartbeat_protocol.h"

namespace tether::http::ws {

class ClientOpening {
 public:
  /// `host`: the Host header; `target`: path and query. Draws the key.
  ClientOpening(std::string_view host, std::string_view target);

  void appendRequest(std::string& out) const;
  /// Feeds the server's bytes. kNeedMore consumes everything (the parser keeps
  /// what it needs); kOk: `consumed` ends at the 101's last byte, the frames
  /// follow; kError: error() says why in one line.
  liveness::wire::DecodeResult decodeResponse(std::string_view in);

  const std::string& key() const noexcept { return key_; }
  /// The server's status (0 before its head arrived).
  int status() const noexcept { return parser_.headComplete() ? parser_.status() : 0; }
  const std::string& error() const noexcept { return error_; }

 private:
  liveness::wire::DecodeResult fail(std::string message);
  liveness::wire::DecodeResult check101(std::size_t consumed);

  std::string host_, target_, key_;
  client::ResponseParser parser_;
  std::string error_;
};

}  // namespace tether::http::ws
