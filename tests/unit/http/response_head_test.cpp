#include "http/response_head.h"

#include <gtest/gtest.h>

namespace tether::http {
namespace {

std::string head(int status, const HeadFraming& f, std::uint64_t size = 13) {
  std::string out;
  appendResponseHead(out, status, "text/plain", "X-A: 1\r\n", size, f);
  return out;
}

TEST(ResponseHead, KeepAliveAdvertisesTimeoutAndRemaining) {
  HeadFraming f;
  f.timeoutSeconds = 75;
  f.remaining = 999;
  f.date = "Sat, 21 Nov 2026 10:00:00 GMT";
  EXPECT_EQ(head(200, f),
            "HTTP/1.1 200 OK\r\nServer: tether\r\nDate: Sat, 21 Nov 2026 10:00:00 GMT\r\n"
            "Content-Type: text/plain\r\nContent-Length: 13\r\n"
            "Connection: keep-alive\r\nKeep-Alive: timeout=75, max=999\r\nX-A: 1\r\n\r\n");
}

TEST(ResponseHead, UnlimitedRequestsOmitMax) {
  HeadFraming f;
  f.timeoutSeconds = 5;
  f.remaining = 0;
  EXPECT_NE(head(200, f).find("Keep-Alive: timeout=5\r\n"), std::string::npos);
}

TEST(ResponseHead, CloseSaysSoAndNothingElse) {
  HeadFraming f;
  f.keepAlive = false;
  std::string h = head(200, f);
  EXPECT_NE(h.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(h.find("Keep-Alive"), std::string::npos);
}

TEST(ResponseHead, Http10KeepAliveIsExplicitEvenWithoutHeader) {
  HeadFraming f;
  f.http10 = true;
  f.advertise = false;
  std::string h = head(200, f);
  EXPECT_NE(h.find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(h.find("Keep-Alive:"), std::string::npos);
  f.http10 = false;  // HTTP/1.1 persists by default: no header needed
  EXPECT_EQ(head(200, f).find("Connection:"), std::string::npos);
}

TEST(ResponseHead, NoContentLengthWhereNoBodyIsAllowed) {
  HeadFraming f;
  EXPECT_EQ(head(204, f, 0).find("Content-Length"), std::string::npos);
  EXPECT_EQ(head(304, f, 0).find("Content-Length"), std::string::npos);
  EXPECT_NE(head(404, f, 0).find("Content-Length: 0\r\n"), std::string::npos);
}

}  // namespace
}  // namespace tether::http
