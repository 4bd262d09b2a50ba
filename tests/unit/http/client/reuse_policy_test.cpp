#include "http/client/reuse_policy.h"

#include <gtest/gtest.h>

namespace tether::http::client {
namespace {

constexpr Millis kNever = core::TimerWheel::kNever;

TEST(ClientReusePolicy, IdleDeadlineTable) {
  struct Row {
    bool reusable;
    Millis idleTimeout;
    bool honour;
    std::int64_t hint;
    Millis margin;
    Millis lifetimeEnd;
    std::uint64_t done, max;
    KeepVerdict verdict;
    Millis deadline;  // absolute, now = 1000
    const char* why;
  } rows[] = {
      {true, 4000, true, -1, 1000, kNever, 1, 0, KeepVerdict::kKeep, 5000, "no hint: pool timeout"},
      {true, 4000, true, 5, 1000, kNever, 1, 0, KeepVerdict::kKeep, 5000, "hint 5 s - 1 s = 4 s"},
      {true, 4000, true, 3, 1000, kNever, 1, 0, KeepVerdict::kKeep, 3000, "hint 3 s - 1 s = 2 s"},
      {true, 4000, true, 75, 1000, kNever, 1, 0, KeepVerdict::kKeep, 5000, "hint capped"},
      {true, 4000, true, 1, 1000, kNever, 1, 0, KeepVerdict::kHintTooShort, 0, "1 s - 1 s"},
      {true, 4000, true, 0, 1000, kNever, 1, 0, KeepVerdict::kHintTooShort, 0, "timeout=0"},
      {true, 4000, false, 1, 1000, kNever, 1, 0, KeepVerdict::kKeep, 5000, "hint ignored"},
      {true, 4000, true, 2, 500, kNever, 1, 0, KeepVerdict::kKeep, 2500, "margin 0.5 s"},
      {false, 4000, true, 5, 1000, kNever, 1, 0, KeepVerdict::kServerClose, 0, "server close"},
      {true, 4000, true, -1, 1000, kNever, 100, 100, KeepVerdict::kMaxRequests, 0, "max reached"},
      {true, 4000, true, -1, 1000, kNever, 99, 100, KeepVerdict::kKeep, 5000, "one left"},
      {true, 4000, true, -1, 1000, 1000, 1, 0, KeepVerdict::kLifetime, 0, "lifetime over"},
      {true, 4000, true, -1, 1000, 2500, 1, 0, KeepVerdict::kKeep, 2500, "lifetime caps idle"},
      {true, 0, true, -1, 1000, kNever, 1, 0, KeepVerdict::kIdleDisabled, 0, "idle off"},
  };
  for (const Row& r : rows) {
    IdleInput in;
    in.now = 1000;
    in.responseReusable = r.reusable;
    in.idleTimeout = r.idleTimeout;
    in.honourHint = r.honour;
    in.hintSeconds = r.hint;
    in.hintMargin = r.margin;
    in.lifetimeEnd = r.lifetimeEnd;
    in.requestsDone = r.done;
    in.maxRequests = r.max;
    IdleDecision d = decideIdle(in);
    EXPECT_EQ(d.verdict, r.verdict) << r.why;
    if (r.verdict == KeepVerdict::kKeep) {
      EXPECT_EQ(d.deadline, r.deadline) << r.why;
    }
  }
}

TEST(ClientReusePolicy, LifetimeJitterSpreadsWithinBounds) {
  EXPECT_EQ(lifetimeEnd(100, 0, 10, 0.5), kNever);
  EXPECT_EQ(lifetimeEnd(100, 10'000, 0, 0.9), 10'100);
  EXPECT_EQ(lifetimeEnd(100, 10'000, 10, 0.0), 100 + 9'000);   // -10 %
  EXPECT_EQ(lifetimeEnd(100, 10'000, 10, 0.5), 100 + 10'000);  // middle
  Millis hi = lifetimeEnd(100, 10'000, 10, 0.999999);
  EXPECT_GE(hi, 100 + 10'999);
  EXPECT_LE(hi, 100 + 11'000);
}

}  // namespace
}  // namespace tether::http::client
