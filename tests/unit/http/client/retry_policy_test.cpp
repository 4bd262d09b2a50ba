#include "http/client/retry_policy.h"

#include <gtest/gtest.h>

#include "tether/http/client.h"

namespace tether::http::client {
namespace {

// The whole RFC 9110 §9.2.2 table, one row per case that matters.
TEST(ClientRetryPolicy, Table) {
  struct Row {
    bool replayable, reused, sent, responseByte, closed;
    int attempt;
    bool retry;
    const char* why;
  } rows[] = {
      // The keep-alive race on a reused connection: idempotent requests retry once.
      {true, true, true, false, true, 1, true, "idempotent, reused, no response byte"},
      {false, true, true, false, true, 1, false, "POST may have been processed"},
      {false, true, false, false, true, 1, true, "POST never left: cannot have been seen"},
      {true, true, true, false, true, 2, false, "never retry a retry"},
      {false, true, false, false, true, 2, false, "never retry a retry, even unsent"},
      {true, false, true, false, true, 1, false, "fresh connection: not the race"},
      {true, false, false, false, true, 1, false, "fresh connection, unsent"},
      {true, true, true, true, true, 1, false, "response had begun"},
      {true, true, true, false, false, 1, false, "timeout or bad response: not a close"},
      {false, true, true, true, true, 1, false, "POST, response begun"},
  };
  for (const Row& r : rows) {
    RetryInput in;
    in.replayable = r.replayable;
    in.reusedConnection = r.reused;
    in.requestBytesSent = r.sent;
    in.responseBytesReceived = r.responseByte;
    in.connectionClosed = r.closed;
    in.attempt = r.attempt;
    RetryDecision d = decideRetry(in);
    EXPECT_EQ(d.retry, r.retry) << r.why;
    EXPECT_STRNE(d.reason, "") << r.why;
  }
}

TEST(ClientRetryPolicy, ReplayableMethodsAndIdempotencyKey) {
  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    EXPECT_TRUE(isReplayable(ClientRequest{m, "/", {}, ""})) << m;
  }
  for (const char* m : {"POST", "PATCH", "CONNECT", "LOCK", "get"}) {
    EXPECT_FALSE(isReplayable(ClientRequest{m, "/", {}, ""})) << m;
  }
  EXPECT_TRUE(isReplayable(ClientRequest{"POST", "/", {{"Idempotency-Key", "k1"}}, "x"}));
  EXPECT_TRUE(isReplayable(ClientRequest{"POST", "/", {{"x-idempotency-key", "k1"}}, "x"}));
}

}  // namespace
}  // namespace tether::http::client
