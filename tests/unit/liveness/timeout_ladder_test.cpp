// The timeout ladder: every verdict at its boundary (the margin, equality, no
// limit on either side), hints, middleboxes with and without counted keepalive,
// and the chain parser's roles, values and errors.
#include "tether/liveness/timeout_ladder.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace tether::liveness {
namespace {

LadderReport check(std::vector<std::string> specs) { return checkLadder(parsePath(specs)); }

LadderVerdict verdictOf(std::vector<std::string> specs, std::size_t finding = 0) {
  LadderReport r = check(std::move(specs));
  EXPECT_LT(finding, r.findings.size());
  return finding < r.findings.size() ? r.findings[finding].verdict : LadderVerdict::kOk;
}

TEST(TimeoutLadder, ReuseLongerThanTheCloseIsARace) {
  LadderReport r = check({"client:pool=90s", "server:keepalive=60s"});
  ASSERT_EQ(r.findings.size(), 1u);
  const LadderFinding& f = r.findings[0];
  EXPECT_EQ(f.verdict, LadderVerdict::kRace);
  EXPECT_EQ(f.reuseUntil, 90'000);
  EXPECT_EQ(f.closedAfter, 60'000);
  EXPECT_EQ(f.suggestKeepalive, 95'000);
  EXPECT_EQ(f.suggestPool, 55'000);
  EXPECT_EQ(r.problems, 1u);
}

TEST(TimeoutLadder, EqualTimeoutsRace) {
  EXPECT_EQ(verdictOf({"client:pool=60s", "server:keepalive=60s"}), LadderVerdict::kRace);
}

TEST(TimeoutLadder, MarginBoundary) {
  EXPECT_EQ(verdictOf({"client:pool=55001ms", "server:keepalive=60s"}), LadderVerdict::kTight);
  EXPECT_EQ(verdictOf({"client:pool=55s", "server:keepalive=60s"}), LadderVerdict::kOk);
  EXPECT_EQ(check({"client:pool=59s", "server:keepalive=60s"}).problems, 0u)
      << "tight is a warning";
}

TEST(TimeoutLadder, NoLimitOnEitherSide) {
  EXPECT_EQ(verdictOf({"requests", "server:keepalive=3600s"}), LadderVerdict::kRace)
      << "a pool without an idle limit races any server that closes idle connections";
  EXPECT_EQ(verdictOf({"requests", "server:keepalive=none"}), LadderVerdict::kOk);
  EXPECT_EQ(verdictOf({"client:pool=off", "server:keepalive=1s"}), LadderVerdict::kNoReuse);
  EXPECT_EQ(verdictOf({"client:pool=90s", "server:keepalive=off"}), LadderVerdict::kNoReuse);
}

TEST(TimeoutLadder, HintReadingClientFollowsTheAdvertisedTimeout) {
  // undici reuses until the hint minus 2 s: tether's 75 s hint -> 73 s, tether closes at 76 s.
  LadderReport r = check({"undici", "tether"});
  EXPECT_TRUE(r.findings[0].byHint);
  EXPECT_EQ(r.findings[0].reuseUntil, 73'000);
  EXPECT_EQ(r.findings[0].closedAfter, 76'000);
  EXPECT_EQ(r.findings[0].verdict, LadderVerdict::kTight);
  // Without a hint undici's own 4 s applies.
  LadderReport g = check({"undici", "gunicorn"});
  EXPECT_FALSE(g.findings[0].byHint);
  EXPECT_EQ(g.findings[0].reuseUntil, 4'000);
  EXPECT_EQ(g.findings[0].verdict, LadderVerdict::kRace) << "gunicorn closes at 2 s";
  // The cap bounds a long hint.
  EXPECT_EQ(check({"undici", "server:keepalive=2h,hint=2h"}).findings[0].reuseUntil, 600'000);
}

TEST(TimeoutLadder, TetherKeepaliveAddsItsGraceAndAdvertisesTheSetting) {
  std::vector<Hop> hops = parsePath({"client", "tether:keepalive=5s"});
  EXPECT_EQ(hops[1].t.keepalive, 6'000);
  EXPECT_EQ(hops[1].t.hint, 5'000);
  EXPECT_EQ(parsePath({"client", "tether:keepalive=5s,hint=off"})[1].t.hint, kNoLimit);
}

TEST(TimeoutLadder, TheIssueExampleFlagsBothRaces) {
  LadderReport r = check({"client:pool=90s", "alb:idle=60s", "nginx:keepalive=75s,upstream=60s",
                          "tether:keepalive=5s"});
  ASSERT_EQ(r.findings.size(), 3u);
  EXPECT_EQ(r.findings[0].verdict, LadderVerdict::kRace);  // client 90 s vs ALB 60 s
  EXPECT_EQ(r.findings[1].verdict, LadderVerdict::kOk);    // ALB 60 s vs nginx 75 s
  EXPECT_EQ(r.findings[2].verdict, LadderVerdict::kRace);  // nginx upstream 60 s vs tether 6 s
  EXPECT_EQ(r.findings[2].suggestKeepalive, 65'000);
  EXPECT_EQ(r.problems, 2u);
}

TEST(TimeoutLadder, MiddleboxForgetsAFlowThatOutlivesIt) {
  LadderReport r = check({"client:pool=none", "nat:idle=300s", "server:keepalive=none"});
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[1].verdict, LadderVerdict::kSilentDrop);
  EXPECT_EQ(r.findings[1].middlebox, 1u);
  EXPECT_EQ(r.findings[1].suggestTcpKeepalive, 150'000);
  EXPECT_EQ(r.problems, 1u);
}

TEST(TimeoutLadder, MiddleboxBoundaryAndKeepalive) {
  // The flow closes at 300 s idle: exactly the NAT's timeout is still safe.
  EXPECT_EQ(check({"client:pool=300s", "nat:idle=300s", "server:keepalive=310s"}).findings.size(),
            1u);
  EXPECT_EQ(check({"client:pool=301s", "nat:idle=300s", "server:keepalive=310s"}).findings.size(),
            2u);
  // Keepalive probes before the timeout keep the state, if the middlebox counts them.
  LadderReport ka = check({"client:pool=none,tcpka=60s", "nat:idle=300s", "server:keepalive=none"});
  EXPECT_EQ(ka.findings.size(), 1u);
  LadderReport late =
      check({"client:pool=none,tcpka=300s", "nat:idle=300s", "server:keepalive=none"});
  EXPECT_EQ(late.findings.size(), 2u) << "a probe at the timeout comes too late";
  EXPECT_TRUE(check({"go:pool=none", "nlb", "server:keepalive=none"}).findings.size() == 1u)
      << "Go's 30 s keepalive keeps an NLB flow";
}

TEST(TimeoutLadder, NoReuseMeansNoIdleFlowForAMiddlebox) {
  EXPECT_EQ(check({"client:pool=off", "nat:idle=1s", "server:keepalive=none"}).problems, 0u);
}

TEST(TimeoutLadderParse, RolesFollowThePosition) {
  std::vector<Hop> hops = parsePath({"alb", "nlb", "nginx", "tether"});
  EXPECT_EQ(hops[0].role, HopRole::kProxy) << "a proxy may start the path";
  EXPECT_EQ(hops[1].role, HopRole::kMiddlebox);
  EXPECT_EQ(hops[2].role, HopRole::kProxy);
  EXPECT_EQ(hops[3].role, HopRole::kServer);
  EXPECT_EQ(parsePath({"go", "nginx"})[1].role, HopRole::kServer);
}

TEST(TimeoutLadderParse, IdleIsTheRolesOwnLimit) {
  std::vector<Hop> hops =
      parsePath({"client:idle=30s", "alb:idle=120s", "nat:idle=10m", "server:idle=1h"});
  EXPECT_EQ(hops[0].t.pool, 30'000);
  EXPECT_EQ(hops[1].t.pool, 120'000);
  EXPECT_EQ(hops[1].t.keepalive, 120'000);
  EXPECT_EQ(hops[2].t.idle, 600'000);
  EXPECT_EQ(hops[3].t.keepalive, 3'600'000);
  EXPECT_NE(hops[1].source.find("your values: idle=120s"), std::string::npos) << hops[1].source;
}

TEST(TimeoutLadderParse, Errors) {
  auto message = [](std::vector<std::string> specs) {
    try {
      parsePath(specs);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({"clinet", "tether"}).find("unknown hop 'clinet'"), std::string::npos);
  EXPECT_NE(message({"client", "tether:keepalvie=5s"}).find("unknown key 'keepalvie'"),
            std::string::npos);
  EXPECT_NE(message({"client", "tether:keepalive=5x"}).find("not a duration"), std::string::npos);
  EXPECT_NE(message({"client", "tether:keepalive"}).find("not KEY=VALUE"), std::string::npos);
  EXPECT_NE(message({"tether"}).find("at least two HTTP hops"), std::string::npos);
  EXPECT_NE(message({"nat", "client", "tether"}).find("between two HTTP hops"), std::string::npos);
  EXPECT_NE(message({"tether", "client"}).find("tether cannot be a client"), std::string::npos);
  EXPECT_NE(message({"client", "go", "tether"}).find("go cannot be a proxy"), std::string::npos);
}

TEST(TimeoutLadderParse, EveryPresetParsesInARoleItAllows) {
  for (std::string_view name : hopPresetNames()) {
    std::string n(name);
    bool parsed = false;
    for (auto specs :
         {std::vector<std::string>{n, "server"}, {"client", n}, {"client", n, "server"}}) {
      try {
        parsePath(specs);
        parsed = true;
      } catch (const std::invalid_argument&) {
      }
    }
    EXPECT_TRUE(parsed) << name;
  }
}

}  // namespace
}  // namespace tether::liveness
