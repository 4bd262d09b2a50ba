#include "tether/liveness/detection_bound.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "profile_fixture.h"

namespace tether::liveness {
namespace {

KeepaliveProfile ka(int idle, int intvl, int cnt, Millis uto = 0) {
  return test_support::profile(true, idle, intvl, cnt, uto);
}

std::vector<std::string> codes(const KeepaliveProfile& p) {
  std::vector<std::string> out;
  for (const Warning& w : keepaliveWarnings(p)) out.push_back(w.code);
  return out;
}

const Warning* find(const std::vector<Warning>& ws, const std::string& code) {
  for (const Warning& w : ws) {
    if (w.code == code) return &w;
  }
  return nullptr;
}

TEST(IdleDetection, Keepalive30s1s3Is33Seconds) {
  IdleDetection d = idleDetection(ka(30, 1, 3));
  EXPECT_TRUE(d.detected);
  EXPECT_EQ(d.deadAt, 33'000);
  EXPECT_EQ(d.probes, 3);
  EXPECT_FALSE(d.byUserTimeout);
  EXPECT_EQ(d.probeWindow(), 3'000);
  std::size_t elided = 99;
  std::vector<ProbeEvent> t = probeTimeline(ka(30, 1, 3), 12, &elided);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(elided, 0u);
  EXPECT_EQ(t[0].at, 30'000);
  EXPECT_EQ(t[0].probe, 1);
  EXPECT_EQ(t[1].at, 31'000);
  EXPECT_EQ(t[2].at, 32'000);
  EXPECT_EQ(t[2].probe, 3);
  EXPECT_EQ(t[3].at, 33'000);
  EXPECT_EQ(t[3].probe, 0);
}

TEST(IdleDetection, KernelDefaultsGive7875Seconds) {
  EXPECT_EQ(idleDetection(ka(7200, 75, 9)).deadAt, 7'875'000);
  EXPECT_EQ(idleDetection(ka(2, 1, 3)).deadAt, 5'000);  // what tests/netns/test_bed.py measures
}

TEST(IdleDetection, OffIsNeverDetected) {
  KeepaliveProfile off;
  off.userTimeout = 4000;
  EXPECT_FALSE(idleDetection(off).detected);
  EXPECT_TRUE(probeTimeline(off, 12, nullptr).empty());
  EXPECT_EQ(codes(off), std::vector<std::string>{"idle_undetected"});
}

// With TCP_USER_TIMEOUT, TCP_KEEPCNT is ignored: the kill is the first timer run
// idle + k*interval (k >= 1) at or past the user timeout (tcp_keepalive_timer).
TEST(IdleDetection, UserTimeoutReplacesTheProbeCount) {
  IdleDetection r4 = idleDetection(ka(2, 5, 10, 4000));  // measured 7.17 s, formula 7
  EXPECT_EQ(r4.deadAt, 7'000);
  EXPECT_EQ(r4.probes, 1);
  EXPECT_TRUE(r4.byUserTimeout);
  EXPECT_EQ(idleDetection(ka(30, 1, 3, 10'000)).deadAt, 31'000);  // UTO <= idle: one probe
  EXPECT_EQ(idleDetection(ka(30, 1, 3, 33'000)).deadAt, 33'000);  // equal: same as count
  EXPECT_EQ(idleDetection(ka(2, 1, 3, 4'500)).deadAt, 5'000);     // rounds up to a timer run
  IdleDetection longer = idleDetection(ka(2, 1, 3, 60'000));      // beyond count: keeps probing
  EXPECT_EQ(longer.deadAt, 60'000);
  EXPECT_EQ(longer.probes, 58);
}

TEST(IdleDetection, LongTimelinesKeepBothEnds) {
  std::size_t elided = 0;
  std::vector<ProbeEvent> t = probeTimeline(ka(2, 1, 3, 60'000), 12, &elided);
  ASSERT_EQ(t.size(), 12u);
  EXPECT_EQ(elided, 58u - 11u);
  EXPECT_EQ(t.front().at, 2'000);
  EXPECT_EQ(t.front().probe, 1);
  EXPECT_EQ(t[t.size() - 2].probe, 58);
  EXPECT_EQ(t[t.size() - 2].at, 59'000);
  EXPECT_EQ(t.back().at, 60'000);
  EXPECT_EQ(t.back().probe, 0);
}

TEST(InFlight, Retries2ModelMatchesTheKernel) {
  EXPECT_EQ(retransmitModelTimeout(15), 924'600);  // ip-sysctl: "924.6 seconds"
  EXPECT_EQ(retransmitModelTimeout(5), 12'600);    // (2^6 - 1) * 0.2 s
  EXPECT_EQ(retransmitModelTimeout(9), 204'600);   // last exponential step
  EXPECT_EQ(retransmitModelTimeout(10), 324'600);  // then linear in RTO_MAX
  EXPECT_EQ(retransmitModelTimeout(0), 200);
}

TEST(InFlight, EffectiveKillIsTheFirstExpiryPastTheModel) {
  InFlightDetection d = inFlightDetection(0, 15, 200);
  EXPECT_FALSE(d.byUserTimeout);
  EXPECT_EQ(d.modelTimeout, 924'600);
  EXPECT_EQ(d.deadAt, 924'600);  // RTO 200 ms: expiries land exactly on the model
  EXPECT_EQ(d.retransmissions, 15);
  // Initial RTO 1 s: 1, 3, 7, ..., 127, then +120 s each: 967 s after 13 retransmissions.
  InFlightDetection slow = inFlightDetection(0, 15, 1000);
  EXPECT_EQ(slow.deadAt, 967'000);
  EXPECT_EQ(slow.retransmissions, 13);
  EXPECT_EQ(inFlightDetection(0, 5, 200).deadAt, 12'600);
}

TEST(InFlight, UserTimeoutBoundsDataInFlight) {
  InFlightDetection d = inFlightDetection(4000, 15, 200);
  EXPECT_TRUE(d.byUserTimeout);
  EXPECT_EQ(d.deadAt, 4000);
}

TEST(ProbeCost, OneProbeAndOneAckPerIdlePeriod) {
  ProbeTraffic t = probeTraffic(ka(30, 1, 3));
  EXPECT_DOUBLE_EQ(t.probesPerHour, 120);
  EXPECT_DOUBLE_EQ(t.packetsPerHour, 240);
  EXPECT_DOUBLE_EQ(t.ipv4BytesPerHour, 240 * 52);
  EXPECT_DOUBLE_EQ(t.ipv6BytesPerHour, 240 * 72);
  EXPECT_DOUBLE_EQ(t.ipv4FrameBytesPerHour, 240 * 66);
  EXPECT_DOUBLE_EQ(probeTraffic(ka(7200, 75, 9)).packetsPerHour, 1);
  EXPECT_DOUBLE_EQ(probeTraffic(KeepaliveProfile{}).packetsPerHour, 0);
}

TEST(Warnings, ShortProbeWindow) {
  EXPECT_EQ(codes(ka(30, 1, 3)), std::vector<std::string>{"short_probe_window"});
  EXPECT_EQ(codes(ka(30, 1, 10)), std::vector<std::string>{});  // exactly 10 s is fine
  EXPECT_EQ(codes(ka(30, 3, 3)), std::vector<std::string>{"short_probe_window"});
}

TEST(Warnings, IdleBeyondMiddleboxTimeoutsNamesThem) {
  auto ws = keepaliveWarnings(ka(7200, 75, 9));
  ASSERT_EQ(ws.size(), 1u);
  EXPECT_EQ(ws[0].code, "idle_exceeds_middlebox");
  EXPECT_NE(ws[0].message.find("AWS Classic ELB 60 s"), std::string::npos) << ws[0].message;
  EXPECT_NE(ws[0].message.find("350 s"), std::string::npos);
  EXPECT_NE(ws[0].message.find("Azure"), std::string::npos);
  // 2 h < RFC 5382's 2 h 4 min floor and Linux conntrack's 5 days: not listed.
  EXPECT_EQ(ws[0].message.find("RFC 5382"), std::string::npos);
  EXPECT_EQ(ws[0].message.find("conntrack"), std::string::npos);
  auto minute = keepaliveWarnings(ka(60, 10, 5));  // at the ELB's 60 s: flagged
  ASSERT_EQ(minute.size(), 1u);
  EXPECT_NE(minute[0].message.find("ELB"), std::string::npos);
  EXPECT_EQ(minute[0].message.find("Azure"), std::string::npos);
  EXPECT_TRUE(keepaliveWarnings(ka(59, 10, 5)).empty());
}

TEST(Warnings, UserTimeoutBelowTheKeepaliveWindow) {
  auto ws = keepaliveWarnings(ka(30, 5, 3, 10'000));
  const Warning* w = find(ws, "user_timeout_below_keepalive");
  ASSERT_NE(w, nullptr);
  EXPECT_NE(w->message.find("dropped at 35 s after 1 unanswered probe(s) instead of 3"),
            std::string::npos)
      << w->message;
}

TEST(Warnings, UserTimeoutAboveTheKeepaliveWindow) {
  auto ws = keepaliveWarnings(ka(20, 5, 3, 60'000));
  const Warning* w = find(ws, "user_timeout_above_keepalive");
  ASSERT_NE(w, nullptr);
  EXPECT_NE(w->message.find("found only at 60 s (8 probes)"), std::string::npos) << w->message;
  EXPECT_EQ(codes(ka(20, 5, 3, 35'000)), std::vector<std::string>{});  // equal: consistent
}

TEST(FormatSeconds, HumanUnits) {
  EXPECT_EQ(formatSeconds(33'000), "33 s");
  EXPECT_EQ(formatSeconds(500), "0.5 s");
  EXPECT_EQ(formatSeconds(924'600), "924.6 s (15.4 min)");
  EXPECT_EQ(formatSeconds(7'875'000), "7875 s (2.19 h)");
}

}  // namespace
}  // namespace tether::liveness
