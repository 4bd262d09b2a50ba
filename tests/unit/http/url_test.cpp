// http::parseUrl(): every form the tools accept, and every rejection with its reason.
#include "tether/http/url.h"

#include <gtest/gtest.h>

namespace tether::http {
namespace {

Url parsed(std::string_view text) {
  std::string error;
  auto u = parseUrl(text, &error);
  EXPECT_TRUE(u.has_value()) << text << ": " << error;
  return u.value_or(Url{});
}

std::string rejected(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parseUrl(text, &error).has_value()) << text;
  return error;
}

TEST(Url, SplitsHostPortAuthorityAndTarget) {
  Url u = parsed("http://example.test:8080/a/b?x=1#frag");
  EXPECT_EQ(u.host, "example.test");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.authority, "example.test:8080");
  EXPECT_EQ(u.target, "/a/b?x=1") << "the fragment never goes on the wire";
  EXPECT_EQ(parsed("http://a").port, 80);
  EXPECT_EQ(parsed("http://a").target, "/");
  EXPECT_EQ(parsed("http://a?q").target, "/?q");
  EXPECT_EQ(parsed("http://[::1]:9/x").host, "::1");
  EXPECT_EQ(parsed("http://[::1]:9/x").authority, "[::1]:9");
  EXPECT_EQ(parsed("http://127.0.0.1:1").port, 1);
  EXPECT_FALSE(parsed("http://a").tls);
}

TEST(Url, HttpsDefaultsToPort443AndTheSchemeIgnoresCase) {
  Url u = parsed("https://example.test/x");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.authority, "example.test");
  EXPECT_EQ(parsed("HTTPS://[::1]:8443/").port, 8443);
  EXPECT_TRUE(parsed("HTTPS://[::1]:8443/").tls);
  EXPECT_FALSE(parsed("HTTP://a").tls);
}

TEST(Url, RejectsWithAOneLineReason) {
  EXPECT_NE(rejected("ftp://a/").find("http:// or https://"), std::string::npos);
  EXPECT_NE(rejected("https:/a/").find("http:// or https://"), std::string::npos);
  EXPECT_NE(rejected("http://u@a/").find("user info"), std::string::npos);
  EXPECT_NE(rejected("http://[::1/").find("unterminated"), std::string::npos);
  EXPECT_NE(rejected("http://[::1]x/").find("after [IPv6]"), std::string::npos);
  EXPECT_NE(rejected("http:///p").find("missing host"), std::string::npos);
  EXPECT_NE(rejected("http://a b/").find("spaces"), std::string::npos);
  EXPECT_NE(rejected("http://a:0/").find("invalid port"), std::string::npos);
  EXPECT_NE(rejected("http://a:65536/").find("invalid port"), std::string::npos);
  EXPECT_NE(rejected("http://a:/").find("invalid port"), std::string::npos);
  EXPECT_NE(rejected("http://a:8x/").find("invalid port"), std::string::npos);
}

}  // namespace
}  // namespace tether::http
