// The request-path MUSTs as decision tables: Host values, request-target forms,
// Transfer-Encoding lists (RFC 9110 §5.6.2, §7.2; RFC 9112 §3.2, §6.1, §6.3).
#include "http/request_rules.h"

#include <gtest/gtest.h>

#include <string_view>

namespace tether::http {
namespace {

TEST(ValidHost, AcceptsNamesAddressesAndPorts) {
  for (std::string_view h : {"example.com", "example.com:8080", "127.0.0.1", "127.0.0.1:80",
                             "[::1]", "[::1]:8080", "[2001:db8::1]:443", "localhost", "a-b_c~d",
                             "xn--bcher-kva.example", "host:", "%65xample.com"}) {
    EXPECT_TRUE(validHost(h)) << h;
  }
}

TEST(ValidHost, RejectsEmptyListsUserinfoPathsAndJunk) {
  for (std::string_view h : {"",
                             "a.example,b.example",
                             "a.example, b.example",
                             "user@example.com",
                             "user:pw@example.com",
                             "example.com/path",
                             "example.com?q",
                             "exa mple.com",
                             "example.com ",
                             "example.com:80:80",
                             "example.com:8o",
                             "example.com:123456",
                             "[::1",
                             "[::1]x",
                             "[zz]",
                             ":80",
                             "%zz.example",
                             "ex\tample",
                             "exämple.com",
                             "example.com#frag",
                             "\"example\""}) {
    EXPECT_FALSE(validHost(h)) << h;
  }
}

TEST(CheckTarget, OriginForm) {
  TargetCheck t = checkTarget("GET", "/a/b?x=1");
  EXPECT_EQ(t.status, 0);
  EXPECT_EQ(t.form, TargetForm::kOrigin);
}

TEST(CheckTarget, AbsoluteFormNamesItsHostAndPath) {
  TargetCheck t = checkTarget("GET", "http://example.com:8080/p?q=1");
  EXPECT_EQ(t.status, 0);
  EXPECT_EQ(t.form, TargetForm::kAbsolute);
  EXPECT_EQ(t.authority, "example.com:8080");
  EXPECT_EQ(t.path, "/p?q=1");
  TargetCheck bare = checkTarget("GET", "HTTPS://example.com");
  EXPECT_EQ(bare.status, 0);
  EXPECT_EQ(bare.path, "/");
}

TEST(CheckTarget, AsteriskOnlyWithOptions) {
  EXPECT_EQ(checkTarget("OPTIONS", "*").status, 0);
  EXPECT_EQ(checkTarget("OPTIONS", "*").form, TargetForm::kAsterisk);
  EXPECT_EQ(checkTarget("GET", "*").status, 400);
  EXPECT_EQ(checkTarget("HEAD", "*").status, 400);
}

TEST(CheckTarget, RejectsFragmentsBytesAndOtherShapes) {
  for (std::string_view t :
       {"/a#frag", "/caf\xc3\xa9", "/\xc0\xaf", "/a\x7f", "/a b", "", "example.com:443",
        "ftp://example.com/", "http://", "http:///p", "http://user@example.com/",
        "http://a.example,b.example/", "http://example.com?q", "a/b", "**"}) {
    EXPECT_EQ(checkTarget("GET", t).status, 400) << t;
  }
}

TEST(CheckTransferEncoding, ChunkedAloneOrLast) {
  EXPECT_EQ(checkTransferEncoding("chunked", false), 0);
  EXPECT_EQ(checkTransferEncoding("Chunked", false), 0);
  EXPECT_EQ(checkTransferEncoding(" chunked ", false), 0);
}

TEST(CheckTransferEncoding, FramingProblemsAre400) {
  for (std::string_view te :
       {"", " ", "chunked,", ",chunked", "chunked, , chunked", "chunked, chunked", "chunked, gzip",
        "chunk ed", "chunked\x01", "\"chunked\"", "gzip, chunked, chunked"}) {
    EXPECT_EQ(checkTransferEncoding(te, false), 400) << te;
  }
}

TEST(CheckTransferEncoding, UnknownCodingsAre501) {
  for (std::string_view te : {"gzip", "gzip, chunked", "identity", "x-custom;a=1, chunked"}) {
    EXPECT_EQ(checkTransferEncoding(te, false), 501) << te;
  }
}

TEST(CheckTransferEncoding, AnyCodingInHttp10Is400) {
  EXPECT_EQ(checkTransferEncoding("chunked", true), 400);
  EXPECT_EQ(checkTransferEncoding("gzip", true), 400);
}

}  // namespace
}  // namespace tether::http
