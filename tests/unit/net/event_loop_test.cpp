// EventLoop in virtual time: a ManualClock and runOnce(0) drive it; no sleeps.
#include "tether/net/event_loop.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace tether::net {
namespace {

class EventLoopTest : public ::testing::Test {
 protected:
  core::ManualClock clock{1'000};
  EventLoop loop{clock};

  void advance(Millis ms) {
    clock.advance(ms);
    loop.runOnce(0);
  }
};

TEST_F(EventLoopTest, NowFollowsTheInjectedClockOncePerIteration) {
  EXPECT_EQ(loop.now(), 1'000);
  clock.advance(250);
  EXPECT_EQ(loop.now(), 1'000);  // not re-read until the next iteration
  loop.runOnce(0);
  EXPECT_EQ(loop.now(), 1'250);
}

TEST_F(EventLoopTest, DelayedCallRunsAtItsDeadlineNotBefore) {
  int runs = 0;
  loop.runAfter(50, [&] { ++runs; });
  advance(49);
  EXPECT_EQ(runs, 0);
  advance(1);
  EXPECT_EQ(runs, 1);
  advance(1'000);
  EXPECT_EQ(runs, 1);  // once
}

TEST_F(EventLoopTest, CancelledCallNeverRuns) {
  int runs = 0;
  DelayedCallId id = loop.runAfter(10, [&] { ++runs; });
  loop.cancel(id);
  advance(100);
  EXPECT_EQ(runs, 0);
  loop.cancel(id);  // twice: no-op
  loop.cancel({});  // empty id: no-op
}

TEST_F(EventLoopTest, StaleIdDoesNotCancelTheCallThatReusedItsSlot) {
  std::vector<int> ran;
  DelayedCallId first = loop.runAfter(5, [&] { ran.push_back(1); });
  advance(5);
  DelayedCallId second = loop.runAfter(5, [&] { ran.push_back(2); });
  EXPECT_EQ(first.slot, second.slot);  // the slot was reused...
  loop.cancel(first);                  // ...so the old id must not touch it
  advance(5);
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
}

TEST_F(EventLoopTest, CallMayCancelItselfAndScheduleAnother) {
  std::vector<int> ran;
  DelayedCallId self;
  self = loop.runAfter(1, [&] {
    loop.cancel(self);  // already running: no-op
    ran.push_back(1);
    loop.runAfter(1, [&] { ran.push_back(2); });
  });
  advance(1);
  EXPECT_EQ(ran, (std::vector<int>{1}));
  advance(1);
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
}

TEST_F(EventLoopTest, PendingCallsAreDiscardedWithTheLoop) {
  int runs = 0;
  {
    core::ManualClock c;
    EventLoop l(c);
    l.runAfter(1, [&] { ++runs; });
  }
  EXPECT_EQ(runs, 0);
}

TEST_F(EventLoopTest, HooksRunEveryIterationAndCanBeRemovedFromInsideOne) {
  int a = 0, b = 0;
  std::uint64_t idB = 0;
  loop.addEndOfIterationHook([&] {
    ++a;
    if (a == 2) loop.removeEndOfIterationHook(idB);
  });
  idB = loop.addEndOfIterationHook([&] { ++b; });
  loop.runOnce(0);
  loop.runOnce(0);  // a removes b before b's turn: a removed hook never runs again, so its
  loop.runOnce(0);  // owner may be destroyed right after removing it
  EXPECT_EQ(a, 3);
  EXPECT_EQ(b, 1);
}

struct Recorder final : IoHandler {
  std::vector<std::uint32_t> events;
  void onIoEvents(std::uint32_t e) override { events.push_back(e); }
};

TEST_F(EventLoopTest, ReadinessIsDispatchedWithoutBlocking) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  Recorder r;
  loop.addFd(sv[0], EPOLLIN | EPOLLRDHUP, &r);
  loop.runOnce(0);
  EXPECT_TRUE(r.events.empty());
  ASSERT_EQ(::write(sv[1], "x", 1), 1);
  loop.runOnce(0);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_TRUE(r.events[0] & EPOLLIN);
  loop.removeFd(sv[0], &r);
  ::close(sv[0]);
  ::close(sv[1]);
}

}  // namespace
}  // namespace tether::net
