// The opening handshake: RFC 6455's own example key, and each refusal with
// the status a client can act on.
#include "http/websocket/handshake.h"

#include <gtest/gtest.h>

#include <vector>

namespace tether::http::ws {
namespace {

struct Upgrade {
  std::vector<Header> headers = {{"Host", "localhost"},
                                 {"Upgrade", "websocket"},
                                 {"Connection", "keep-alive, Upgrade"},
                                 {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                 {"Sec-WebSocket-Version", "13"}};
  Request request() const {
    Request r;
    r.method = "GET";
    r.target = r.path = "/chat";
    r.headers = headers;
    return r;
  }
  Upgrade& set(std::string_view name, std::string_view value) {
    for (Header& h : headers) {
      if (equalsIgnoreCase(h.name, name)) h.value = value;
    }
    return *this;
  }
};

TEST(HandshakeTest, ComputesTheRfcExampleAcceptKey) {
  // RFC 6455 §1.3.
  EXPECT_EQ(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  HandshakeCheck c = checkHandshake(Upgrade().request());
  EXPECT_EQ(c.status, 101);
  EXPECT_EQ(c.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(HandshakeTest, TokensAreCaseInsensitiveAndMayBeListed) {
  Upgrade u;
  u.set("Upgrade", "WebSocket").set("Connection", "UPGRADE");
  EXPECT_EQ(checkHandshake(u.request()).status, 101);
  u.headers.push_back({"Connection", "close"});
  EXPECT_EQ(checkHandshake(u.request()).status, 101) << "a second Connection header adds tokens";
}

TEST(HandshakeTest, RefusesWithTheStatusAClientCanActOn) {
  EXPECT_EQ(checkHandshake(Upgrade().set("Upgrade", "h2c").request()).status, 426);
  EXPECT_EQ(checkHandshake(Upgrade().set("Sec-WebSocket-Version", "8").request()).status, 426);
  EXPECT_EQ(checkHandshake(Upgrade().set("Connection", "keep-alive").request()).status, 400);
  EXPECT_EQ(checkHandshake(Upgrade().set("Sec-WebSocket-Key", "short==").request()).status, 400);
  EXPECT_EQ(
      checkHandshake(Upgrade().set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ").request()).status,
      400);
  EXPECT_EQ(checkHandshake(Upgrade().set("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!==").request())
                .status,
            400);
  Request post = Upgrade().request();
  post.method = "POST";
  EXPECT_EQ(checkHandshake(post).status, 405);
  Request http10 = Upgrade().request();
  http10.versionMinor = 0;
  EXPECT_EQ(checkHandshake(http10).status, 400);
  Request plain = Upgrade().request();
  plain.headers.clear();
  HandshakeCheck c = checkHandshake(plain);
  EXPECT_EQ(c.status, 426);
  EXPECT_NE(std::string(c.problem).find("Upgrade: websocket"), std::string::npos);
}

}  // namespace
}  // namespace tether::http::ws
