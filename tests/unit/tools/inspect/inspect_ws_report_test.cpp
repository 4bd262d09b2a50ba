// buildWsReport() on hand-made probe outcomes: the server's ping interval from
// the gaps, the quiet limit taken from the browser probe (not the mute one,
// which a server may close sooner on purpose), who set it, whether the
// pinger proved that pings help, and the advice each case gets.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "tether/tools/inspect_ws.h"

namespace tether::tools::inspect {
namespace {

WsProbeSeen probe(WsEnd end, double endedMs, std::uint16_t code = 0, std::string reason = {}) {
  WsProbeSeen p;
  p.end = end;
  p.openedMs = 2;
  p.endedMs = endedMs;
  p.closeCode = code;
  p.closeReason = std::move(reason);
  return p;
}

bool hasAdvice(const WsReport& r, const std::string& start) {
  return std::any_of(r.advice.begin(), r.advice.end(),
                     [&](const std::string& a) { return a.rfind(start, 0) == 0; });
}

class WsReportTest : public ::testing::Test {
 protected:
  WsReportTest() {
    config.url = "ws://example.test/ws";
    config.maxIdleWait = 120'000;
    config.pingInterval = 5'000;
  }
  WsConfig config;
  WsResult result;
};

TEST_F(WsReportTest, APingingServerKeepsBrowsersAndFindsDeadClients) {
  result.browser = probe(WsEnd::kOpen, 120'000);
  result.browser.serverPingsMs = {30'000, 60'010, 89'990, 120'000};
  result.mute = probe(WsEnd::kCloseFrame, 50'000, 1001, "ping timeout");
  result.pinger = probe(WsEnd::kOpen, 120'000);
  WsReport r = buildWsReport(config, result);
  EXPECT_TRUE(r.serverPings);
  // Gaps 30000, 30010, 29980, 30010: the upper middle one.
  EXPECT_DOUBLE_EQ(r.serverPingIntervalMs, 30'010);
  EXPECT_LT(r.quietLimitMs, 0) << "the mute probe's close is the dead-peer check, not a limit";
  EXPECT_TRUE(hasAdvice(r, "Browsers stay connected: the server's pings (every 30.0 s)"));
  EXPECT_TRUE(hasAdvice(r, "The server finds dead clients"));
  EXPECT_EQ(r.advice.size(), 2u);
}

TEST_F(WsReportTest, AProxyCutWithoutACloseFrameIsThePathsLimitAndPingsAreAdvised) {
  result.browser = probe(WsEnd::kFin, 60'400);
  result.mute = probe(WsEnd::kFin, 60'300);
  result.pinger = probe(WsEnd::kOpen, 70'400);
  result.pinger.pongs = 13;
  WsReport r = buildWsReport(config, result);
  EXPECT_FALSE(r.serverPings);
  EXPECT_DOUBLE_EQ(r.quietLimitMs, 60'400);
  EXPECT_EQ(r.quietLimitBy, "path");
  EXPECT_TRUE(r.clientPingsTested);
  EXPECT_TRUE(r.clientPingsHelp);
  EXPECT_TRUE(
      hasAdvice(r, "Something on this path closes quiet WebSocket connections after 60.4 s"));
  EXPECT_TRUE(hasAdvice(r, "Pings keep it open: ping every 45.3 s or less"));
  EXPECT_NE(r.advice[1].find("--ws-ping-interval 45s)"), std::string::npos) << r.advice[1];
  EXPECT_FALSE(hasAdvice(r, "The server never pinged")) << "the mute probe did not stay open";
}

TEST_F(WsReportTest, APingerThatDiesTooMeansPingsDoNotHelp) {
  result.browser = probe(WsEnd::kFin, 30'000);
  result.mute = probe(WsEnd::kFin, 30'000);
  result.pinger = probe(WsEnd::kFin, 30'100);
  WsReport r = buildWsReport(config, result);
  EXPECT_FALSE(r.clientPingsHelp);
  EXPECT_TRUE(hasAdvice(r, "Pings do not keep it open"));
}

TEST_F(WsReportTest, ALimitShorterThanThePingIntervalLeavesPingsUntested) {
  config.pingInterval = 5'000;
  result.browser = probe(WsEnd::kFin, 3'000);
  result.mute = probe(WsEnd::kFin, 3'000);
  result.pinger = probe(WsEnd::kFin, 3'000);
  WsReport r = buildWsReport(config, result);
  EXPECT_FALSE(r.clientPingsTested);
  EXPECT_TRUE(hasAdvice(r, "The pinging client's first ping came after that limit"));
}

TEST_F(WsReportTest, TheServersOwnCloseIsNamedWithItsCode) {
  result.browser = probe(WsEnd::kCloseFrame, 300'000, 1001, "idle timeout");
  result.mute = probe(WsEnd::kCloseFrame, 300'000, 1001, "idle timeout");
  result.pinger = probe(WsEnd::kCloseFrame, 300'000, 1001, "idle timeout");
  WsReport r = buildWsReport(config, result);
  EXPECT_EQ(r.quietLimitBy, "server");
  EXPECT_TRUE(hasAdvice(r,
                        "The server closes quiet WebSocket connections after 300.0 s (by a "
                        "close frame 1001 \"idle timeout\")"));
  EXPECT_TRUE(hasAdvice(r, "Pings do not keep it open")) << "an idle timeout counts messages";
}

TEST_F(WsReportTest, ServerPingsSlowerThanTheLimitAreCalledTooLate) {
  result.browser = probe(WsEnd::kFin, 60'000);
  result.browser.serverPingsMs = {59'000};
  result.mute = probe(WsEnd::kFin, 60'000);
  result.pinger = probe(WsEnd::kOpen, 70'000);
  config.pingInterval = 5'000;
  result.browser.serverPingsMs = {};  // none arrived before the cut...
  WsReport quiet = buildWsReport(config, result);
  EXPECT_FALSE(quiet.serverPings);
  result.browser.serverPingsMs = {90'000};  // ...or one that came from a longer interval
  WsReport late = buildWsReport(config, result);
  EXPECT_TRUE(hasAdvice(late, "The server's pings (every 90.0 s) come too late"));
}

TEST_F(WsReportTest, ASilentServerThatKeepsDeadClientsIsTold) {
  result.browser = probe(WsEnd::kOpen, 120'000);
  result.mute = probe(WsEnd::kOpen, 120'000);
  result.pinger = probe(WsEnd::kOpen, 120'000);
  WsReport r = buildWsReport(config, result);
  EXPECT_TRUE(hasAdvice(r, "No idle limit within 120.0 s"));
  EXPECT_TRUE(hasAdvice(r,
                        "The server never pinged in 120.0 s and kept a client that answered "
                        "nothing"));
}

TEST_F(WsReportTest, ARefusedPingerAndAnUnansweredPingAreNamed) {
  result.browser = probe(WsEnd::kOpen, 120'000);
  result.mute = probe(WsEnd::kOpen, 120'000);
  result.pinger = probe(WsEnd::kCloseFrame, 15'000, 1008, "too many pings");
  EXPECT_TRUE(hasAdvice(buildWsReport(config, result),
                        "The server closed the client that pinged "
                        "every 5.0 s for pinging too often"));
  result.pinger = probe(WsEnd::kNoPong, 10'000);
  EXPECT_TRUE(hasAdvice(buildWsReport(config, result), "The server did not answer a ping"));
}

TEST_F(WsReportTest, TheJsonCarriesEveryProbe) {
  result.browser = probe(WsEnd::kFin, 2'000);
  result.mute = probe(WsEnd::kReset, 2'000);
  result.pinger = probe(WsEnd::kOpen, 4'000);
  std::string json = formatWsJson(buildWsReport(config, result));
  EXPECT_NE(json.find("\"quiet_limit_by\":\"path\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"mute\":{\"end\":\"reset\""), std::string::npos) << json;
  EXPECT_EQ(json.back(), '\n');
}

}  // namespace
}  // namespace tether::tools::inspect
