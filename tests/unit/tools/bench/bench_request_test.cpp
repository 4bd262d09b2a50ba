// The bytes `tether bench` sends, exactly: the request is serialized once before the run by
// the http client's serializer (serializeRequestLines()), and these are the bytes
// it has always sent.
#include <gtest/gtest.h>

#include <stdexcept>

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

TEST(BenchRequest, HeaderLinesAreSentAsTyped) {
  RequestSpec s;
  s.host = "h";
  s.headers = {"X-Tight:1", "X-Wide:   two  ", "X-Empty:"};
  EXPECT_EQ(buildRequest(s),
            "GET / HTTP/1.1\r\nHost: h\r\nX-Tight:1\r\nX-Wide:   two  \r\nX-Empty:\r\n\r\n");
}

TEST(BenchRequest, TheUsersContentLengthAndConnectionWin) {
  RequestSpec s;
  s.method = "PUT";
  s.host = "h";
  s.headers = {"content-length: 3", "Connection: keep-alive"};
  s.body = "abc";
  s.keepAlive = false;
  EXPECT_EQ(buildRequest(s),
            "PUT / HTTP/1.1\r\nHost: h\r\ncontent-length: 3\r\nConnection: keep-alive\r\n\r\nabc");
}

TEST(BenchRequest, BodyOnAGetGetsALengthAndHeadDoesNotWithoutOne) {
  RequestSpec s;
  s.host = "h";
  s.body = "xy";
  EXPECT_EQ(buildRequest(s), "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nxy");
  RequestSpec head;
  head.method = "HEAD";
  head.target = "/f";
  head.host = "h";
  head.keepAlive = false;
  EXPECT_EQ(buildRequest(head), "HEAD /f HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
}

}  // namespace
}  // namespace tether::tools::bench
