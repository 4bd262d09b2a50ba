#include "tether/http/client/request_writer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tether::http::client {
namespace {

TEST(ClientRequestWriter, GetAddsHostOnly) {
  std::string out;
  EXPECT_STREQ(serializeRequest({"GET", "/a?b=1", {{"Accept", "*/*"}}, ""}, "h:1", out), "");
  EXPECT_EQ(out, "GET /a?b=1 HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n\r\n");
}

TEST(ClientRequestWriter, BodyGetsContentLengthAndPostAlwaysDoes) {
  std::string out;
  serializeRequest({"POST", "/p", {}, "hello"}, "h", out);
  EXPECT_EQ(out, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello");
  serializeRequest({"POST", "/p", {}, ""}, "h", out);
  EXPECT_EQ(out, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
}

TEST(ClientRequestWriter, CallerHostWins) {
  std::string out;
  serializeRequest({"GET", "/", {{"host", "example"}}, ""}, "h", out);
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nhost: example\r\n\r\n");
}

TEST(ClientRequestWriter, RejectsWhatWouldBreakFraming) {
  std::string out;
  EXPECT_STRNE(serializeRequest({"G T", "/", {}, ""}, "h", out), "");
  EXPECT_STRNE(serializeRequest({"", "/", {}, ""}, "h", out), "");
  EXPECT_STRNE(serializeRequest({"GET", "/a b", {}, ""}, "h", out), "");
  EXPECT_STRNE(serializeRequest({"GET", "", {}, ""}, "h", out), "");
  EXPECT_STRNE(serializeRequest({"GET", "/\r\nX: y", {}, ""}, "h", out), "");
  EXPECT_STRNE(serializeRequest({"GET", "/", {{"X", "a\r\nInjected: 1"}}, ""}, "h", out), "");
  EXPECT_STRNE(serializeRequest({"GET", "/", {{"Bad Name", "v"}}, ""}, "h", out), "");
  EXPECT_STRNE(serializeRequest({"POST", "/", {{"Content-Length", "3"}}, "abc"}, "h", out), "");
  EXPECT_STRNE(serializeRequest({"POST", "/", {{"Transfer-Encoding", "chunked"}}, ""}, "h", out),
               "");
  EXPECT_TRUE(out.empty());
}

TEST(ClientRequestWriter, PoolRequestExactBytes) {
  std::string out;
  ClientRequest r{"PATCH", "/items/7?v=2", {{"Accept", "application/json"}, {"X-Id", "a b"}}, "{}"};
  EXPECT_STREQ(serializeRequest(r, "api:8080", out), "");
  EXPECT_EQ(out,
            "PATCH /items/7?v=2 HTTP/1.1\r\nHost: api:8080\r\nAccept: application/json\r\n"
            "X-Id: a b\r\nContent-Length: 2\r\n\r\n{}");
}

TEST(ClientRequestWriter, CloseAddsConnectionCloseUnlessTheRequestHasOne) {
  std::string out;
  RequestWriteOptions close;
  close.close = true;
  serializeRequest({"POST", "/", {}, "ab"}, "h", out, close);
  EXPECT_EQ(out, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab");
  serializeRequest({"GET", "/", {{"connection", "keep-alive"}}, ""}, "h", out, close);
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nHost: h\r\nconnection: keep-alive\r\n\r\n");
}

TEST(ClientRequestWriter, CallerFramingWritesTheCallersLengthInstead) {
  std::string out;
  RequestWriteOptions framing;
  framing.callerFraming = true;
  EXPECT_STREQ(serializeRequest({"POST", "/", {{"Content-Length", "3"}}, "abc"}, "h", out, framing),
               "");
  EXPECT_EQ(out, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
}

TEST(ClientRequestWriter, HeaderLinesAreWrittenAsTyped) {
  std::vector<std::string> lines = {"X-A:1", "X-B:  two ", "Host: other"};
  RequestLines r;
  r.method = "PUT";
  r.target = "/u";
  r.headers = lines;
  r.body = "xyz";
  std::string out;
  EXPECT_STREQ(serializeRequestLines(r, "h", out), "");
  EXPECT_EQ(
      out, "PUT /u HTTP/1.1\r\nX-A:1\r\nX-B:  two \r\nHost: other\r\nContent-Length: 3\r\n\r\nxyz");
}

TEST(ClientRequestWriter, HeaderLinesAreCheckedLikeHeaders) {
  std::string out;
  auto check = [&](std::vector<std::string> lines) {
    RequestLines r;
    r.headers = lines;
    return std::string(serializeRequestLines(r, "h", out));
  };
  EXPECT_EQ(check({"X: ok"}), "");
  EXPECT_NE(check({"no colon"}), "");
  EXPECT_NE(check({": empty name"}), "");
  EXPECT_NE(check({"Bad Name: v"}), "");
  EXPECT_NE(check({std::string("X: a\0b", 6)}), "");
  EXPECT_NE(check({"Content-Length: 0"}), "") << "framing is the writer's without callerFraming";
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace tether::http::client
