#include <gtest/gtest.h>

#include "tether/tools/bench.h"

namespace tether::tools::bench {
namespace {

TEST(BenchRequest, DefaultGet) {
  RequestSpec s;
  s.target = "/plaintext";
  s.host = "127.0.0.1:8080";
  EXPECT_EQ(buildRequest(s), "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
}

TEST(BenchRequest, HeadersBodyAndClose) {
  RequestSpec s;
  s.method = "POST";
  s.target = "/echo?x=1";
  s.host = "h";
  s.headers = {"X-A: 1", "host: other"};
  s.body = "hello";
  s.keepAlive = false;
  EXPECT_EQ(buildRequest(s),
            "POST /echo?x=1 HTTP/1.1\r\nX-A: 1\r\nhost: other\r\nContent-Length: 5\r\n"
            "Connection: close\r\n\r\nhello");
}

TEST(BenchRequest, EmptyPostStillHasALength) {
  RequestSpec s;
  s.method = "POST";
  s.host = "h";
  EXPECT_EQ(buildRequest(s), "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
}

}  // namespace
}  // namespace tether::tools::bench
