#include "tether/http/client/request_writer.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace tether::http::client
