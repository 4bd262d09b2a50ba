// The io_uring backend's polls under a Stream: an idle stream whose receive is
// armed holds that one request and no poll (counted in the ring's fdinfo, as
// the kernel lists them); a write that finds the socket full still gets its
// EPOLLOUT, whether the backend or the owner (sendDirectly()) wrote, and
// whether it blocked before or after the receive took over; closing releases
// a socket whose write waits for room. Deterministic: socket pairs,
// runOnce(0), no sleeps.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>

#include "io_uring_test_util.h"
#include "net_test_util.h"
#include "tether/net/stream.h"

namespace tether::net {
namespace {

using testing::ArmedRequests;
using testing::Fd;
using testing::readNow;
using testing::Writer;
using Kind = IoResult::Kind;

class IoUringPollTest : public ::testing::Test {
 protected:
  IoUringPollTest() { loop = testing::ioUringLoop(clock, &refused, &backend); }
  void SetUp() override {
    TETHER_SKIP_IF_REFUSED(refused);
    if (loop->receiveTransport() == nullptr) GTEST_SKIP() << "no buffer rings (kernel < 5.19)";
    loop->runOnce(0);  // the ring is enabled; the loop's own wake-up poll is armed
    auto armed = testing::armedRequests(*backend);
    if (!armed) GTEST_SKIP() << "this kernel's io_uring fdinfo has no PollList";
    base = *armed;
  }
  void TearDown() override {
    if (o.stream.isOpen()) o.stream.close(*loop, &o);
  }
  // Requests armed now beyond those of the loop itself.
  ArmedRequests armed() {
    ArmedRequests now = testing::armedRequests(*backend).value_or(ArmedRequests{});
    return {now.polls - base.polls, now.receives - base.receives, now.other - base.other};
  }
  // Opens `o` on one end of a small AF_UNIX pair; the test holds the other.
  void open() {
    auto [a, b] = testing::smallSocketPair();
    peer.fd = b;
    o.stream.open(*loop, a, &o, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
    loop->runOnce(0);
    o.writable = 0;  // the poll's first report: the socket is writable
  }
  // The peer sends a byte and the owner reads until the socket is drained:
  // the receive takes over.
  void drain() {
    ASSERT_EQ(::write(peer.fd, "x", 1), 1);
    loop->runOnce(0);
    char buf[16];
    while (o.stream.read(buf, sizeof buf).done()) {
    }
    loop->runOnce(0);  // submitted
  }
  // Writes until the socket is full: more than a send slot takes at once, so
  // the backend's write is a send() call that finds no room.
  void fill() {
    std::size_t sent = 0;
    for (int round = 0; round < 100; ++round) {
      IoResult r = o.stream.writeAll(all, &sent);
      if (r.kind == Kind::kBlocked) break;
      ASSERT_EQ(r.kind, Kind::kDone);
      sent = 0;
    }
    ASSERT_FALSE(o.stream.writeReady());
    loop->runOnce(0);
    EXPECT_EQ(o.writable, 0) << "no room yet";
  }
  // The peer reads; EPOLLOUT must follow within a few loop runs.
  void expectEpolloutOnceThePeerReads() {
    EXPECT_FALSE(readNow(peer.fd).empty());
    for (int round = 0; round < 10 && o.writable == 0; ++round) loop->runOnce(0);
    EXPECT_GT(o.writable, 0) << "a write waits for room and was never told";
    EXPECT_TRUE(o.stream.writeReady());
  }

  core::ManualClock clock;
  std::string refused;
  IoUringBackend* backend = nullptr;
  std::unique_ptr<EventLoop> loop;
  ArmedRequests base;
  Writer o;
  Fd peer;
  const std::string all = std::string(64 * 1024, 'w');
};

TEST_F(IoUringPollTest, AnIdleStreamHoldsItsReceiveAndNoPoll) {
  open();
  EXPECT_EQ(armed().polls, 1) << "a new stream is polled for everything, as on epoll";
  EXPECT_EQ(armed().receives, 0);
  drain();
  EXPECT_EQ(armed().receives, 1);
  EXPECT_EQ(armed().polls, 0) << "the receive reports input, FIN and errors: no poll beside it";
  // And the receive alone still reports input and the FIN.
  ASSERT_EQ(::write(peer.fd, "y", 1), 1);
  ::shutdown(peer.fd, SHUT_WR);
  loop->runOnce(0);
  EXPECT_TRUE(o.stream.readReady());
  EXPECT_TRUE(o.stream.peerClosing());
}

TEST_F(IoUringPollTest, AFullSocketGetsEpolloutWhileTheReceiveIsArmed) {
  open();
  drain();
  fill();
  EXPECT_EQ(armed().polls, 1) << "one poll for EPOLLOUT while the write waits";
  expectEpolloutOnceThePeerReads();
  EXPECT_EQ(armed().polls, 0) << "the poll for room ends with its event";
  EXPECT_EQ(armed().receives, 1);
}

// The client pool's streams write with send() themselves: their kBlocked
// reaches the backend through the stream (Transport::writeBlocked()).
TEST_F(IoUringPollTest, AStreamThatSendsDirectlyGetsEpolloutToo) {
  open();
  o.stream.sendDirectly();
  drain();
  fill();
  EXPECT_EQ(armed().polls, 1);
  expectEpolloutOnceThePeerReads();
}

// The write blocked while the poll for everything was armed; the receive
// took over before room came: the EPOLLOUT still owed needs a poll of its own.
TEST_F(IoUringPollTest, AWriteBlockedBeforeTheReceiveStillGetsEpollout) {
  open();
  fill();
  drain();
  EXPECT_EQ(armed().receives, 1);
  EXPECT_EQ(armed().polls, 1) << "the poll for everything gave way to one for room";
  expectEpolloutOnceThePeerReads();
}

// A poll for room holds the socket like any request: the close cancels it,
// so the peer sees the hang-up at once, then reads the bytes and the end,
// without the loop running. (Checked before the peer reads: reading makes
// room, which would end the poll by itself.)
TEST_F(IoUringPollTest, CloseReleasesASocketWhoseWriteWaitsForRoom) {
  open();
  drain();
  fill();
  o.stream.close(*loop, &o);
  pollfd p{peer.fd, POLLRDHUP, 0};
  ASSERT_EQ(::poll(&p, 1, 0), 1) << "no hang-up: the ring still holds the socket";
  EXPECT_TRUE(p.revents & POLLRDHUP);
  bool eof = false;
  EXPECT_FALSE(readNow(peer.fd, &eof).empty());
  EXPECT_TRUE(eof);
}

}  // namespace
}  // namespace tether::net
