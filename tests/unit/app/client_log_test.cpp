// `tether heartbeat connect`'s exit codes (docs/heartbeat-protocol.md) for each
// way the library's client or adaptive driver can finish.
#include "heartbeat/client_log.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace tether::app::heartbeat {
namespace {

using liveness::ClientEnd;
using liveness::ClientFinished;
using Reason = liveness::SessionCloseReason;

int closedWith(Reason r) { return exitCodeFor(ClientFinished{ClientEnd::kClosed, r, 0}); }

TEST(HeartbeatExitCode, EachCloseReasonHasItsCode) {
  EXPECT_EQ(closedWith(Reason::kLocal), 0) << "--duration or a signal";
  EXPECT_EQ(closedWith(Reason::kError), 1);
  EXPECT_EQ(closedWith(Reason::kHeartbeatTimeout), 3);
  EXPECT_EQ(closedWith(Reason::kKeepaliveTimeout), 4);
  EXPECT_EQ(closedWith(Reason::kUserTimeout), 4);
  EXPECT_EQ(closedWith(Reason::kPeerClosed), 5);
  EXPECT_EQ(closedWith(Reason::kTooManyPings), 5);
  EXPECT_EQ(closedWith(Reason::kPeerReset), 6);
}

TEST(HeartbeatExitCode, AConnectErrorIs1AndAStopBeforeConnecting0) {
  EXPECT_EQ(exitCodeFor(ClientFinished{ClientEnd::kConnectError, Reason::kError, ECONNREFUSED}), 1);
  EXPECT_EQ(exitCodeFor(ClientFinished{ClientEnd::kStopped, Reason::kLocal, 0}), 0);
}

}  // namespace
}  // namespace tether::app::heartbeat
