#include "http/websocket/client_opening.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "http/websocket/handshake.h"

namespace tether::http::ws {
namespace {

using liveness::wire::DecodeResult;
using liveness::wire::DecodeStatus;

std::string randomKey() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) std::abort();  // no entropy: no safe key
  unsigned char b64[25];
  int n = EVP_EncodeBlock(b64, raw, sizeof raw);
  return std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
}

}  // namespace

ClientOpening::ClientOpening(std::string_view host, std::string_view target)
    : host_(host), target_(target), key_(randomKey()) {}

void ClientOpening::appendRequest(std::string& out) const {
  fmt::format_to(std::back_inserter(out),
                 "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\r\n",
                 target_, host_, key_);
}

DecodeResult ClientOpening::decodeResponse(std::string_view in) {
  std::size_t consumed = 0;
  auto event = parser_.execute(in.data(), in.size(), consumed);
  if (event == client::ResponseParser::Event::kError) {
    return fail(fmt::format("bad HTTP response to the upgrade: {}", parser_.errorReason()));
  }
  // Judge the status as soon as the head is in: a refusal's body may never end.
  if (parser_.headComplete() && parser_.status() != 101) {
    std::string_view reason = parser_.reason();
    return fail(fmt::format("the server answered {}{}{} instead of 101 Switching Protocols",
                            parser_.status(), reason.empty() ? "" : " ", reason));
  }
  if (event == client::ResponseParser::Event::kNeedMore) {
    return {DecodeStatus::kNeedMore, consumed, ""};
  }
  return check101(consumed);
}

DecodeResult ClientOpening::check101(std::size_t consumed) {
  if (!listHasToken(parser_.header("upgrade"), "websocket")) {
    return fail("the 101 does not say Upgrade: websocket");
  }
  if (!parser_.connectionTokens().upgrade) return fail("the 101 does not say Connection: Upgrade");
  if (parser_.header("sec-websocket-accept") != acceptKey(key_)) {
    return fail("the 101's Sec-WebSocket-Accept does not match our key");
  }
  // We offered none: accepting either would change the framing or the meaning.
  if (!parser_.header("sec-websocket-extensions").empty()) {
    return fail("the 101 names an extension that was not offered");
  }
  if (!parser_.header("sec-websocket-protocol").empty()) {
    return fail("the 101 names a subprotocol that was not offered");
  }
  return {DecodeStatus::kOk, consumed, ""};
}

DecodeResult ClientOpening::fail(std::string message) {
  error_ = std::move(message);
  return {DecodeStatus::kError, 0, error_.c_str()};
}

}  // namespace tether::http::ws
