// The one connect and the one accept loop, on loopback, driven by runOnce():
// the loop waits for real socket events only (bounded), never sleeps.
#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "net_test_util.h"
#include "tether/net/acceptor.h"
#include "tether/net/connector.h"

namespace tether::net {
namespace {

using testing::Fd;

class NetTest : public ::testing::TestWithParam<IoBackend> {
 protected:
  void SetUp() override { TETHER_SKIP_IF_REFUSED(refused); }
  core::ManualClock clock;
  std::string refused;
  EventLoop loop{clock, testing::backendOrEpoll(GetParam(), &refused)};

  // Runs iterations until `done` or a bound; each waits at most 50 ms for I/O.
  template <typename Pred>
  void runUntil(Pred done) {
    for (int i = 0; i < 100 && !done(); ++i) loop.runOnce(50);
  }
};

struct Accepted final : Acceptor::Owner {
  std::vector<Fd> fds;
  int starved = 0;
  void onAccepted(int fd) override { fds.emplace_back(fd); }
  bool onOutOfDescriptors() override {
    ++starved;
    return false;
  }
};

TEST_P(NetTest, ConnectorConnectsAndHandsOverTheSocket) {
  SocketAddress bound;
  Fd listener(testing::loopbackListener(&bound));
  int gotFd = -2, gotErr = -1;
  Connector c(loop, [&](int fd, int err) {
    gotFd = fd;
    gotErr = err;
  });
  SocketSetup setup;
  setup.noDelay = true;
  int prepared = -1;
  setup.prepare = [&](int fd) {
    prepared = fd;
    return true;
  };
  c.start(bound, 1'000, setup);
  runUntil([&] { return gotFd != -2; });
  ASSERT_GE(gotFd, 0);
  Fd owned(gotFd);
  EXPECT_EQ(gotErr, 0);
  EXPECT_EQ(prepared, gotFd) << "prepare ran on the connecting socket";
  EXPECT_FALSE(c.pending());
  EXPECT_EQ(peerAddress(gotFd).port(), bound.port());
}

TEST_P(NetTest, ConnectorReportsARefusedConnect) {
  SocketAddress bound;
  { Fd listener(testing::loopbackListener(&bound)); }  // closed: the port refuses
  int gotFd = -2, gotErr = 0;
  Connector c(loop, [&](int fd, int err) {
    gotFd = fd;
    gotErr = err;
  });
  c.start(bound, 1'000, {});
  runUntil([&] { return gotFd != -2; });
  EXPECT_EQ(gotFd, -1);
  EXPECT_EQ(gotErr, ECONNREFUSED);
}

TEST_P(NetTest, ConnectorFailingPrepareFailsTheConnect) {
  SocketAddress bound;
  Fd listener(testing::loopbackListener(&bound));
  int gotErr = 0;
  Connector c(loop, [&](int, int err) { gotErr = err; });
  SocketSetup setup;
  setup.prepare = [](int) {
    errno = EPERM;
    return false;
  };
  c.start(bound, 1'000, setup);
  EXPECT_EQ(gotErr, EPERM);
}

TEST_P(NetTest, CancelledConnectNeverCallsBack) {
  SocketAddress bound;
  Fd listener(testing::loopbackListener(&bound));
  int calls = 0;
  {
    Connector c(loop, [&](int fd, int) {
      ++calls;
      if (fd >= 0) ::close(fd);
    });
    c.start(bound, 1'000, {});
    c.cancel();
    EXPECT_FALSE(c.pending());
  }
  for (int i = 0; i < 5; ++i) loop.runOnce(10);
  clock.advance(2'000);
  loop.runOnce(0);
  EXPECT_EQ(calls, 0);
}

TEST_P(NetTest, ConnectTimeoutFiresInVirtualTime) {
  // A listener whose accept queue is full does not answer new SYNs (with
  // syncookies the kernel may still complete it: then the test proves nothing
  // about the timeout and says so).
  SocketAddress bound;
  Fd listener(testing::loopbackListener(&bound));
  ASSERT_EQ(::listen(listener.fd, 0), 0);
  std::vector<Fd> fillers;
  for (int i = 0; i < 4; ++i) {
    fillers.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    ::connect(fillers.back().fd, bound.raw(), bound.length);
  }
  int gotFd = -2, gotErr = 0;
  Connector c(loop, [&](int fd, int err) {
    gotFd = fd;
    gotErr = err;
    if (fd >= 0) ::close(fd);
  });
  c.start(bound, 5'000, {});
  loop.runOnce(0);
  if (gotFd != -2) GTEST_SKIP() << "the kernel completed the connect despite the full queue";
  clock.advance(4'999);
  loop.runOnce(0);
  EXPECT_EQ(gotFd, -2) << "not before the timeout";
  clock.advance(1);
  loop.runOnce(0);
  EXPECT_EQ(gotFd, -1);
  EXPECT_EQ(gotErr, ETIMEDOUT);
}

// Numeric hosts only: a unit test sends no DNS query.
TEST(Resolve, NumericHostsResolveToTheirAddress) {
  std::string error;
  auto v4 = resolve("127.0.0.1", 8080, &error);
  ASSERT_TRUE(v4.has_value()) << error;
  EXPECT_EQ(v4->toString(), "127.0.0.1:8080");
  auto v6 = resolve("::1", 9, &error);
  ASSERT_TRUE(v6.has_value()) << error;
  EXPECT_EQ(v6->toString(), "[::1]:9");
}

// `localhost` on Debian is ::1 and 127.0.0.1, and a server on 127.0.0.1 only
// refuses the first: the probe moves on to the one that accepts, as curl does.
TEST(Resolve, FirstReachableSkipsAddressesThatRefuse) {
  SocketAddress open, closed;
  Fd listener(testing::loopbackListener(&open));
  { Fd gone(testing::loopbackListener(&closed)); }  // closed: its port refuses
  EXPECT_EQ(firstReachable({closed, open}, 1'000).toString(), open.toString());
  EXPECT_EQ(firstReachable({open, closed}, 1'000).toString(), open.toString());
  // Nothing accepts: the first, so that the real connect reports the error.
  EXPECT_EQ(firstReachable({closed}, 1'000).toString(), closed.toString());
}

TEST_P(NetTest, AcceptorAcceptsEverythingQueued) {
  SocketAddress bound;
  int lfd = testing::loopbackListener(&bound);
  Accepted owner;
  Acceptor acceptor(loop, lfd, owner, /*noDelay=*/true);
  std::vector<Fd> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back(::socket(AF_INET, SOCK_STREAM, 0));
    ASSERT_EQ(::connect(clients.back().fd, bound.raw(), bound.length), 0);
  }
  runUntil([&] { return owner.fds.size() == 3; });
  ASSERT_EQ(owner.fds.size(), 3u);
  int nodelay = 0;
  socklen_t len = sizeof nodelay;
  ASSERT_EQ(getsockopt(owner.fds[0].fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
  EXPECT_EQ(nodelay, 1) << "accepted sockets get the acceptor's options";
  acceptor.close();
  EXPECT_EQ(acceptor.fd(), -1);
}

TEST_P(NetTest, AcceptorKeepsServingAfterRunningOutOfDescriptors) {
  SocketAddress bound;
  int lfd = testing::loopbackListener(&bound);
  Accepted owner;
  Acceptor acceptor(loop, lfd, owner, /*noDelay=*/false);
  auto connectOne = [&] {
    Fd c(::socket(AF_INET, SOCK_STREAM, 0));
    EXPECT_EQ(::connect(c.fd, bound.raw(), bound.length), 0);
    return c;
  };
  // Serving normally first (this also keeps the sanitizer runtime, which may
  // need a descriptor the first time it checks a type, out of the starved part).
  Fd first = connectOne();
  runUntil([&] { return owner.fds.size() == 1; });
  ASSERT_EQ(owner.fds.size(), 1u);

  // io_uring: that drain armed a multishot accept, submitted by the next wait
  // with the descriptor limit of that moment (the kernel reads it then): the
  // connection below meets the limit there first, then in accept4().
  Fd second(::socket(AF_INET, SOCK_STREAM, 0));
  rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  int probe = ::dup(lfd);  // the lowest free descriptor: the limit makes it unavailable
  ASSERT_GE(probe, 0);
  ::close(probe);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(probe);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  EXPECT_EQ(::connect(second.fd, bound.raw(), bound.length), 0);
  loop.runOnce(0);  // the edge arrives, accepting fails with EMFILE, the owner cannot help
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(owner.starved, 1);
  EXPECT_EQ(owner.fds.size(), 1u);

  clock.advance(Acceptor::kRetryDelay - 1);
  loop.runOnce(0);
  EXPECT_EQ(owner.fds.size(), 1u) << "the retry waits its delay (the edge is consumed)";
  clock.advance(1);
  loop.runOnce(0);
  EXPECT_EQ(owner.fds.size(), 2u) << "accepting resumed by itself";
}

INSTANTIATE_TEST_SUITE_P(Backends, NetTest, testing::kBackends, testing::backendName);

}  // namespace
}  // namespace tether::net
