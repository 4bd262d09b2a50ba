// The io_uring backend's own promises, below the loop: completions of a closed
// registration never reach the handler of a reused fd number, a full
// submission queue is handed to the kernel, and a ring built on one thread
// runs on another (how a server builds its workers). No sleeps: each wait is
// bounded and returns on readiness.
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "net_test_util.h"
#include "tether/net/event_backend.h"
#include "tether/net/event_loop.h"

namespace tether::net {
namespace {

using testing::Fd;

struct Nobody final : IoHandler {
  void onIoEvents(std::uint32_t) override {}
};

class IoUringBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend = makeIoUringBackend(&refused);
    TETHER_SKIP_IF_REFUSED(refused);
  }
  // Waits (at most `timeoutMs`) and returns what came.
  std::vector<ReadyEvent> wait(std::size_t room, int timeoutMs = 1'000) {
    std::vector<ReadyEvent> out(room);
    out.resize(static_cast<std::size_t>(backend->wait(timeoutMs, out)));
    return out;
  }
  std::string refused;
  std::unique_ptr<EventBackend> backend;
  testing::DescriptorLimit descriptors;
};

TEST_F(IoUringBackendTest, ACompletionOfAClosedFdNeverReachesTheFdsNextOwner) {
  Nobody first, second, reuser;
  auto [a, aPeer] = testing::smallSocketPair();
  auto [b, bPeer] = testing::smallSocketPair();
  Fd keepA(a), keepAPeer(aPeer), keepB(b), keepBPeer(bPeer);
  backend->add(a, EPOLLIN, &first);
  backend->add(b, EPOLLIN, &second);
  ASSERT_EQ(::write(aPeer, "x", 1), 1);
  ASSERT_EQ(::write(bPeer, "x", 1), 1);
  // Both completions are posted in one enter; room for one leaves the other queued.
  std::vector<ReadyEvent> got = wait(1);
  ASSERT_EQ(got.size(), 1u);
  IoHandler* left = got[0].handler == &first ? static_cast<IoHandler*>(&second) : &first;
  int leftFd = (left == &first ? keepA : keepB).release();
  backend->closing(leftFd, false);
  ::close(leftFd);
  int reused = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);  // the lowest free number
  ASSERT_EQ(reused, leftFd);
  Fd keepReused(reused);
  backend->add(reused, EPOLLIN, &reuser);  // not readable: it must get nothing
  for (const ReadyEvent& ev : wait(8)) {
    EXPECT_NE(ev.handler, left) << "an event of a closed registration";
    EXPECT_NE(ev.handler, &reuser) << "the old socket's event reached the fd's next owner";
  }
}

// The race of an idle close with a request arriving: the peer's bytes wake
// the poll (its completion work is pending in our thread) just before we
// cancel it. IORING_OP_POLL_REMOVE fails then (-EALREADY) and the poll would
// keep the socket open for ever; the cancel must win anyway.
TEST_F(IoUringBackendTest, CloseWinsOverAWakeUpStillPendingInTheKernel) {
  Nobody h;
  auto [a, peer] = testing::smallSocketPair();
  Fd keepPeer(peer);
  backend->add(a, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &h);
  wait(8, 0);  // armed; the first writable event consumed
  std::atomic<bool> written{false};
  std::thread writer([&, p = peer] {
    EXPECT_EQ(::write(p, "GET / HTTP/1.1\r\n\r\n", 18), 18);
    written = true;
  });
  while (!written) {
  }  // spin: no syscall here, so the wake-up's work stays pending in this thread
  backend->closing(a, false);
  ::close(a);
  writer.join();
  char byte;
  ssize_t n = ::read(peer, &byte, 1);
  EXPECT_FALSE(n < 0 && errno == EAGAIN) << "the socket is still open: no FIN, no RST";
}

// A poll the kernel refuses (here: the fd was closed before the registration
// reached the kernel, without closingFd()) is an error event, never an abort.
TEST_F(IoUringBackendTest, ARefusedPollIsAnErrorEventForItsHandler) {
  Nobody h;
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  backend->add(fd, EPOLLIN, &h);
  ::close(fd);
  std::vector<ReadyEvent> got = wait(8, 0);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].handler, &h);
  EXPECT_TRUE(got[0].events & EPOLLERR);
  EXPECT_TRUE(wait(8, 0).empty()) << "not re-armed";
}

TEST_F(IoUringBackendTest, MoreRegistrationsThanTheSubmissionQueueHoldsAllArrive) {
  constexpr int kFds = 2'500;  // the submission queue holds 1,024, the completion queue 4,096
  if (!descriptors.allow(kFds + 100)) GTEST_SKIP() << "needs " << kFds + 100 << " descriptors";
  Nobody h;
  wait(1, 0);  // the first wait enables the ring: from now on a full queue is submitted
  std::vector<Fd> fds;
  for (int i = 0; i < kFds; ++i) {
    fds.emplace_back(::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC));  // readable at once
    ASSERT_GE(fds.back().fd, 0);
    backend->add(fds.back().fd, EPOLLIN, &h);
  }
  std::size_t first = wait(1'024).size();
  // One enter delivers a full batch. (With DEFER_TASKRUN, kernel 6.18 runs at
  // most 20 deferred completions per enter: 20 events per iteration.)
  EXPECT_EQ(first, 1'024u);
  std::size_t events = first;
  for (int round = 0; round < 100 && events < kFds; ++round) events += wait(1'024).size();
  EXPECT_EQ(events, static_cast<std::size_t>(kFds));
  for (Fd& f : fds) backend->closing(f.fd, false);
  fds.clear();
  wait(1, 0);
}

struct Counter final : IoHandler {
  int events = 0;
  void onIoEvents(std::uint32_t) override {}
};

// More ready sockets than the completion queue holds: no socket's readiness
// is lost. (The kernel keeps completions that do not fit on its overflow list,
// and may end the multishot polls they belong to: those are re-armed after
// the reap.)
TEST_F(IoUringBackendTest, ACompletionQueueOverflowLosesNoSocket) {
  constexpr int kFds = 6'000;  // the completion queue holds 4,096
  if (!descriptors.allow(kFds + 100)) GTEST_SKIP() << "needs " << kFds + 100 << " descriptors";
  std::vector<Counter> counters(kFds);
  std::vector<Fd> fds;
  wait(1, 0);
  for (Counter& c : counters) {
    fds.emplace_back(::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC));
    ASSERT_GE(fds.back().fd, 0);
    backend->add(fds.back().fd, EPOLLIN, &c);
  }
  int seen = 0;
  for (int round = 0; round < 200 && seen < kFds; ++round) {
    for (const ReadyEvent& ev : wait(256, 100)) {
      if (static_cast<Counter*>(ev.handler)->events++ == 0) ++seen;
    }
  }
  EXPECT_EQ(seen, kFds);
  // And then it settles: nothing new happened to the sockets, so no more
  // events. A poll the overflow ended and reap() re-armed reports the ready
  // socket at once; re-armed into a completion queue still full, it overflows
  // and ends again: a loop that kept a server at 100 % CPU.
  std::size_t late = 0;
  for (int round = 0; round < 100; ++round) {
    std::size_t n = wait(256, 0).size();
    if (round >= 50) late += n;
  }
  EXPECT_EQ(late, 0u) << "the completion queue never drained";
  for (Fd& f : fds) backend->closing(f.fd, false);
  fds.clear();
  wait(1, 0);
}

// Writable sockets whose poll the kernel ends on an overflow: re-armed, each
// reports EPOLLOUT at once. Once every socket has been seen, nothing new
// happens, so the events stop. (Before the backend emptied the completion
// queue at every wait, the re-armed polls overflowed it again and again: a
// server with 10,000 WebSockets spun at 100 % CPU.)
TEST_F(IoUringBackendTest, OverflowedPollsOfWritableSocketsSettle) {
  constexpr int kPairs = 5'000;  // 10,000 wake-ups against a completion queue of 4,096
  if (!descriptors.allow(2 * kPairs + 100)) GTEST_SKIP() << "needs more descriptors";
  std::vector<Counter> counters(kPairs);
  std::vector<Fd> ends, peers;
  wait(1, 0);
  for (Counter& c : counters) {
    auto [a, b] = testing::smallSocketPair();
    ends.emplace_back(a);
    peers.emplace_back(b);
    backend->add(a, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &c);
  }
  for (Fd& p : peers) ASSERT_EQ(::write(p.fd, "x", 1), 1);  // a wake-up for every poll
  int seen = 0;
  std::size_t late = 0;
  for (int round = 0; round < 300; ++round) {
    for (const ReadyEvent& ev : wait(256, 0)) {
      auto* c = static_cast<Counter*>(ev.handler);
      if ((ev.events & EPOLLIN) && c->events++ == 0) ++seen;
      if (round >= 250) ++late;
    }
  }
  EXPECT_EQ(seen, kPairs) << "a socket's input was never reported";
  EXPECT_EQ(late, 0u) << "still events after 250 waits with nothing new: a re-arm loop";
  for (Fd& f : ends) backend->closing(f.fd, false);
  ends.clear();
  wait(1, 0);
}

TEST(IoUringLoop, BuiltOnOneThreadRunsOnAnother) {
  std::string refused;
  auto backend = makeIoUringBackend(&refused);
  if (!backend) GTEST_SKIP() << "io_uring refused by the kernel: " << refused;
  core::ManualClock clock;
  EventLoop loop(clock, std::move(backend));  // registers its wake-up fd here
  bool ran = false;
  loop.runAfter(0, [&] { ran = true; });
  std::thread worker([&] { loop.runOnce(0); });
  worker.join();
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace tether::net
