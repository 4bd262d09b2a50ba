#include "handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "tether/http/response.h"
#include "tether/http/websocket.h"

namespace tether::http::ws {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// A Sec-WebSocket-Key is the base64 of 16 bytes: 22 characters and "==".
bool validKey(std::string_view key) noexcept {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  unsigned char raw[18];
  int n = EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(key.data()), 24);
  return n == 18;  // DecodeBlock counts the padding as zero bytes
}

HandshakeCheck refuse(int status, const char* problem) {
  HandshakeCheck c;
  c.status = status;
  c.problem = problem;
  return c;
}

}  // namespace

bool listHasToken(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    if (equalsIgnoreCase(trimOws(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool headerHasToken(const Request& req, std::string_view name, std::string_view token) noexcept {
  for (const Header& h : req.headers) {
    if (equalsIgnoreCase(h.name, name) && listHasToken(h.value, token)) return true;
  }
  return false;
}

// In the order a client can fix them: the upgrade itself (426 tells it what
// to speak), then the method and version, then the key.
HandshakeCheck checkHandshake(const Request& req) {
  if (!headerHasToken(req, "upgrade", "websocket")) {
    return refuse(426, "this resource speaks WebSocket: send Upgrade: websocket");
  }
  if (req.method != "GET") return refuse(405, "a WebSocket handshake is a GET");
  if (req.versionMinor < 1) return refuse(400, "a WebSocket handshake needs HTTP/1.1");
  if (!headerHasToken(req, "connection", "upgrade")) {
    return refuse(400, "Upgrade: websocket without Connection: Upgrade");
  }
  if (req.header("sec-websocket-version") != "13") {
    return refuse(426, "unsupported Sec-WebSocket-Version (this server speaks 13)");
  }
  std::string_view key = req.header("sec-websocket-key");
  if (!validKey(key)) return refuse(400, "Sec-WebSocket-Key is not 16 bytes in base64");
  HandshakeCheck ok;
  ok.accept = acceptKey(key);
  return ok;
}

std::string acceptKey(std::string_view key) {
  std::string input(key);
  input.append(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char b64[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int n = EVP_EncodeBlock(b64, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
}

}  // namespace tether::http::ws

namespace tether::http {

std::function<void(const Request&, Response&)> webSocket(WebSocketFactory factory) {
  return [factory = std::move(factory)](const Request& req, Response& res) {
    ws::HandshakeCheck check = ws::checkHandshake(req);
    if (check.status == 101) {
      std::unique_ptr<WebSocketHandler> handler = factory(req, res);
      if (handler != nullptr) {
        res.addHeader("Upgrade", "websocket");
        res.addHeader("Sec-WebSocket-Accept", check.accept);
        return res.upgradeToWebSocket(std::move(handler));
      }
      if (res.status() != 200) return;  // the factory said why
      check = {403, "the server refused this WebSocket", {}};
    }
    res.setStatus(check.status);
    if (check.status == 426) {
      res.addHeader("Sec-WebSocket-Version", "13");
      res.addHeader("Upgrade", "websocket");
    }
    if (check.status == 405) res.addHeader("Allow", "GET");
    res.setContentType("text/plain");
    res.setBody(std::string(check.problem) + "\n");
  };
}

}  // namespace tether::http
