// EventLoop in virtual time: a ManualClock and runOnce(0) drive it; no sleeps.
#include "tether/net/event_loop.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net_test_util.h"

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

// Deadlines that fall due together (a grid of heartbeat pings) fire in slices
// of 256 per iteration, earliest first, and the loop does not block between
// them: I/O is polled after each slice.
TEST_F(EventLoopTest, ThousandsOfDeadlinesDueTogetherFireInSlices) {
  std::vector<int> ran;
  for (int i = 0; i < 600; ++i) loop.runAfter(10 + i / 100, [&ran, i] { ran.push_back(i); });
  clock.advance(100);
  loop.runOnce(0);
  EXPECT_EQ(ran.size(), 256U);
  EXPECT_LE(loop.timers().nextWakeup(), loop.now()) << "the rest is due now: no blocking wait";
  loop.runOnce(0);
  EXPECT_EQ(ran.size(), 512U);
  loop.runOnce(0);
  ASSERT_EQ(ran.size(), 600U);
  EXPECT_TRUE(loop.timers().empty());
  for (std::size_t i = 1; i < ran.size(); ++i) EXPECT_LE(ran[i - 1] / 100, ran[i] / 100);
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

class EventLoopIoTest : public ::testing::TestWithParam<IoBackend> {
 protected:
  void SetUp() override { TETHER_SKIP_IF_REFUSED(refused); }
  core::ManualClock clock{1'000};
  std::string refused;
  EventLoop loop{clock, testing::backendOrEpoll(GetParam(), &refused)};
};

TEST_P(EventLoopIoTest, ReadinessIsDispatchedWithoutBlocking) {
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

// Readiness that came before the registration (or before io_uring's poll
// update that puts EPOLLIN back) is reported: the poll checks the socket when
// it is armed, as epoll_ctl does.
TEST_P(EventLoopIoTest, InputWaitingBeforeTheRegistrationIsReported) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  ASSERT_EQ(::write(sv[1], "x", 1), 1);
  Recorder r;
  loop.addFd(sv[0], EPOLLIN | EPOLLRDHUP, &r);
  loop.runOnce(0);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_TRUE(r.events[0] & EPOLLIN);
  loop.removeFd(sv[0], &r);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST_P(EventLoopIoTest, QueuedWorkFromAnotherThreadWakesABlockedLoop) {
  std::atomic<bool> ran{false};
  std::thread other([&] { loop.queueInLoop([&] { ran = true; }); });
  // Blocks until the wake-up (bounded: a lost wake-up fails after 5 s, not forever).
  for (int i = 0; i < 100 && !ran; ++i) loop.runOnce(50);
  other.join();
  EXPECT_TRUE(ran);
}

INSTANTIATE_TEST_SUITE_P(Backends, EventLoopIoTest, testing::kBackends, testing::backendName);

// A backend that delivers scripted events: the loop needs nothing else.
struct ScriptedBackend final : EventBackend {
  std::vector<ReadyEvent> next;
  std::vector<int> added, removed;
  std::vector<int> waits;  // timeouts asked for
  const char* name() const noexcept override { return "scripted"; }
  void add(int fd, std::uint32_t, IoHandler*) override { added.push_back(fd); }
  void remove(int fd) override { removed.push_back(fd); }
  void closing(int fd, bool) noexcept override { removed.push_back(fd); }
  int wait(int timeoutMs, std::span<ReadyEvent> out) override {
    waits.push_back(timeoutMs);
    std::size_t n = std::min(next.size(), out.size());
    std::copy_n(next.begin(), n, out.begin());
    next.clear();
    return static_cast<int>(n);
  }
};

struct Closer final : IoHandler {
  EventLoop* loop = nullptr;
  IoHandler* victim = nullptr;
  int calls = 0;
  void onIoEvents(std::uint32_t) override {
    ++calls;
    if (victim != nullptr) loop->removeFd(99, victim);  // as Stream::close() would
  }
};

TEST(EventLoopBackend, DispatchesTheBackendsEventsAndDropsThoseOfAClosedHandler) {
  auto owned = std::make_unique<ScriptedBackend>();
  ScriptedBackend& backend = *owned;
  core::ManualClock clock;
  EventLoop loop(clock, std::move(owned));
  EXPECT_STREQ(loop.backendName(), "scripted");
  ASSERT_EQ(backend.added.size(), 1u) << "the loop's own wake-up descriptor";
  Closer first, second;
  first.loop = second.loop = &loop;
  first.victim = &second;
  backend.next = {{&first, EPOLLIN}, {&second, EPOLLIN}, {&second, EPOLLOUT}};
  loop.runOnce(0);
  EXPECT_EQ(first.calls, 1);
  EXPECT_EQ(second.calls, 0) << "closed by the first handler in the same batch";
  EXPECT_EQ(backend.removed, std::vector<int>{99});
  EXPECT_EQ(backend.waits.back(), 0) << "runOnce(0) never blocks";
  loop.runAfter(250, [] {});
  loop.runOnce(core::TimerWheel::kNever);
  EXPECT_GT(backend.waits.back(), 0) << "waits until the next timer";
  EXPECT_LE(backend.waits.back(), 250);
}

}  // namespace
}  // namespace tether::net
