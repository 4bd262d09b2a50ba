#include "tether/liveness/keepalive_profile.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "profile_fixture.h"
#include "tether/net/socket.h"

namespace tether::liveness {
namespace {

using test_support::profile;

// The one-line message of a rejected spec ("" when it was accepted).
std::string errorOf(std::string_view spec) {
  try {
    parseKeepaliveProfile(spec, nullptr);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(KeepaliveProfile, OnOffAndFullSpec) {
  EXPECT_EQ(parseKeepaliveProfile("off", nullptr), profile(false, 0, 0, 0));
  EXPECT_EQ(parseKeepaliveProfile("on", nullptr), profile(true, 0, 0, 0));
  EXPECT_EQ(parseKeepaliveProfile("30:1:3", nullptr), profile(true, 30, 1, 3));
}

TEST(KeepaliveProfile, OmittedFieldsKeepTheSystemValue) {
  EXPECT_EQ(parseKeepaliveProfile("30m::10", nullptr), profile(true, 1800, 0, 10));
  EXPECT_EQ(parseKeepaliveProfile("::5", nullptr), profile(true, 0, 0, 5));
  EXPECT_EQ(parseKeepaliveProfile(":15:", nullptr), profile(true, 0, 15, 0));
  EXPECT_EQ(parseKeepaliveProfile("45", nullptr), profile(true, 45, 0, 0));
  EXPECT_EQ(parseKeepaliveProfile("45:2", nullptr), profile(true, 45, 2, 0));
}

TEST(KeepaliveProfile, UnitsDefaultToSeconds) {
  EXPECT_EQ(parseKeepaliveProfile("1h:30s:3", nullptr), profile(true, 3600, 30, 3));
  EXPECT_EQ(parseKeepaliveProfile("2m:1m30s:9", nullptr), profile(true, 120, 90, 9));
  std::vector<std::string> warnings;
  EXPECT_EQ(parseKeepaliveProfile("5000ms:1000ms:3", &warnings), profile(true, 5, 1, 3));
  EXPECT_TRUE(warnings.empty()) << "whole seconds written in ms need no rounding";
}

TEST(KeepaliveProfile, MillisecondsRoundUpWithAWarning) {
  std::vector<std::string> warnings;
  EXPECT_EQ(parseKeepaliveProfile("1500ms:500ms:3", &warnings), profile(true, 2, 1, 3));
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("1500ms rounded up to 2s"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("500ms rounded up to 1s"), std::string::npos) << warnings[1];
  EXPECT_EQ(parseKeepaliveProfile("1ms", nullptr), profile(true, 1, 0, 0));  // null sink is fine
}

TEST(KeepaliveProfile, KernelRangesAreEnforced) {
  EXPECT_EQ(parseKeepaliveProfile("32767:32767:127", nullptr), profile(true, 32767, 32767, 127));
  EXPECT_EQ(parseKeepaliveProfile("1:1:1", nullptr), profile(true, 1, 1, 1));
  EXPECT_NE(errorOf("32768:1:1").find("range 1-32767"), std::string::npos);
  EXPECT_NE(errorOf("1:32768:1").find("range 1-32767"), std::string::npos);
  EXPECT_NE(errorOf("10h").find("idle '10h' is outside"), std::string::npos);
  EXPECT_NE(errorOf("0:1:1").find("idle '0' is outside"), std::string::npos);
  EXPECT_NE(errorOf("1:0:1").find("interval '0' is outside"), std::string::npos);
  EXPECT_NE(errorOf("1:1:0").find("range 1-127"), std::string::npos);
  EXPECT_NE(errorOf("1:1:128").find("range 1-127"), std::string::npos);
}

TEST(KeepaliveProfile, SyntaxErrorsAreOneLine) {
  for (std::string_view bad :
       {"", "::", ":", "a:b:c", "1:2:3:4", "30:1:3x", "on:1", "30:1:3s", "-1:1:1", "ON", "30x"}) {
    std::string e = errorOf(bad);
    EXPECT_FALSE(e.empty()) << "accepted '" << bad << "'";
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    EXPECT_NE(e.find("examples:"), std::string::npos) << e;
  }
}

TEST(KeepaliveProfile, UserTimeout) {
  EXPECT_EQ(parseUserTimeout("4s"), 4000);
  EXPECT_EQ(parseUserTimeout("250ms"), 250);
  EXPECT_EQ(parseUserTimeout("0"), 0);
  EXPECT_EQ(parseUserTimeout("2147483647ms"), kMaxUserTimeoutMs);
  EXPECT_THROW(parseUserTimeout("2147483648ms"), std::invalid_argument);
  EXPECT_THROW(parseUserTimeout("25d"), std::invalid_argument);
  EXPECT_THROW(parseUserTimeout("soon"), std::invalid_argument);
  EXPECT_THROW(parseUserTimeout(""), std::invalid_argument);
}

TEST(KeepaliveProfile, ResolveFillsOnlyOmittedFields) {
  SystemKeepaliveDefaults sys;  // 7200 / 75 / 9
  EXPECT_EQ(resolveKeepaliveProfile(profile(true, 0, 0, 0), sys), profile(true, 7200, 75, 9));
  EXPECT_EQ(resolveKeepaliveProfile(profile(true, 1800, 0, 10, 5000), sys),
            profile(true, 1800, 75, 10, 5000));
}

TEST(KeepaliveProfile, FormatsBackToNginxSyntax) {
  EXPECT_EQ(formatKeepaliveSpec(profile(false, 0, 0, 0)), "off");
  EXPECT_EQ(formatKeepaliveSpec(profile(true, 0, 0, 0)), "on");
  EXPECT_EQ(formatKeepaliveSpec(profile(true, 1800, 0, 10)), "30m::10");
  EXPECT_EQ(formatKeepaliveSpec(profile(true, 30, 1, 3)), "30s:1s:3");
}

class SysctlDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tether-sysctl-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string dir_;
};

TEST_F(SysctlDir, ReadsAllFour) {
  write("tcp_keepalive_time", "600\n");
  write("tcp_keepalive_intvl", "10\n");
  write("tcp_keepalive_probes", "4\n");
  write("tcp_retries2", "8\n");
  SystemKeepaliveDefaults d = readSystemKeepaliveDefaults(dir_);
  EXPECT_EQ(d.idleS, 600);
  EXPECT_EQ(d.intervalS, 10);
  EXPECT_EQ(d.count, 4);
  EXPECT_EQ(d.retries2, 8);
  EXPECT_TRUE(d.fromSystem);
}

TEST_F(SysctlDir, MissingOrMalformedFilesKeepKernelDefaults) {
  write("tcp_keepalive_time", "garbage\n");
  write("tcp_keepalive_probes", "3\n");
  SystemKeepaliveDefaults d = readSystemKeepaliveDefaults(dir_);
  EXPECT_EQ(d.idleS, 7200);
  EXPECT_EQ(d.intervalS, 75);
  EXPECT_EQ(d.count, 3);
  EXPECT_EQ(d.retries2, 15);
  EXPECT_FALSE(d.fromSystem);
}

// Real loopback sockets: the listener's options must reach the accepted socket
// (the kernel copies them in inet_csk_clone_lock), and outgoing sockets take them too.
TEST(KeepaliveProfileSockets, AcceptedSocketsInheritTheListenersSettings) {
  net::SocketAddress bound;
  int lfd = net::listenTcp(*net::parseSocketAddress("127.0.0.1:0"), 16, &bound);
  ASSERT_GE(lfd, 0);
  ASSERT_TRUE(applyKeepaliveProfile(lfd, profile(true, 2, 1, 3, 4000)));
  int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(cfd, 0);
  ASSERT_TRUE(applyKeepaliveProfile(cfd, profile(true, 7, 5, 9, 1500)));
  ASSERT_EQ(connect(cfd, bound.raw(), bound.length), 0);
  // The handshake is complete once connect() returned; poll() only guards a
  // non-blocking listener against a slow kernel (bounded, no sleeping loop).
  pollfd ready{lfd, POLLIN, 0};
  ASSERT_EQ(poll(&ready, 1, 1000), 1);
  int afd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(afd, 0);
  auto server = net::getKeepalive(afd);
  ASSERT_TRUE(server.has_value());
  EXPECT_TRUE(server->on);
  EXPECT_EQ(server->idleS, 2);
  EXPECT_EQ(server->intvlS, 1);
  EXPECT_EQ(server->cnt, 3);
  EXPECT_EQ(server->userTimeoutMs, 4000u);
  auto client = net::getKeepalive(cfd);
  ASSERT_TRUE(client.has_value());
  EXPECT_TRUE(client->on);
  EXPECT_EQ(client->idleS, 7);
  EXPECT_EQ(client->intvlS, 5);
  EXPECT_EQ(client->cnt, 9);
  EXPECT_EQ(client->userTimeoutMs, 1500u);
  ::close(afd);
  ::close(cfd);
  ::close(lfd);
}

TEST(KeepaliveProfileSockets, DefaultProfileLeavesTheSocketAlone) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(applyKeepaliveProfile(fd, KeepaliveProfile{}));
  auto s = net::getKeepalive(fd);
  ASSERT_TRUE(s.has_value());
  EXPECT_FALSE(s->on);
  EXPECT_EQ(s->userTimeoutMs, 0u);
  // "on" without fields: SO_KEEPALIVE only; the kernel reports its sysctl values.
  ASSERT_TRUE(applyKeepaliveProfile(fd, profile(true, 0, 0, 0)));
  s = net::getKeepalive(fd);
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->on);
  SystemKeepaliveDefaults sys = readSystemKeepaliveDefaults();
  if (sys.fromSystem) {
    EXPECT_EQ(s->idleS, sys.idleS);
  }
  ::close(fd);
}

}  // namespace
}  // namespace tether::liveness
