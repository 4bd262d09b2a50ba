// The io_uring backend's accept path under an Acceptor: once the listener is
// drained, the ring accepts each connection (a completion carrying its fd,
// no accept4 call), every connection reaches the owner once, a handover
// (acceptPendingAndClose) gets what the ring accepted before the close, and
// what nobody took is reset at the next wait, never leaked. Deterministic:
// loopback, runOnce(0), no sleeps. With COOP_TASKRUN the ring's accept runs
// when this thread returns from its next syscall: the connect() itself.
#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "io_uring_test_util.h"
#include "net_test_util.h"
#include "tether/net/acceptor.h"
#include "tether/net/socket.h"

namespace tether::net {
namespace {

using testing::Fd;

struct Accepted final : Acceptor::Owner {
  std::vector<Fd> fds;
  void onAccepted(int fd) override { fds.emplace_back(fd); }
};

// The connection's end (FIN or reset) is there, or comes within 2 s: a
// bound for a broken build, which would otherwise leave the client hanging.
bool ended(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 2000) != 1) return false;
  char b;
  ssize_t n = ::read(fd, &b, 1);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

int openFds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (::readdir(d) != nullptr) ++n;
  ::closedir(d);
  return n;
}

class IoUringAcceptTest : public ::testing::Test {
 protected:
  IoUringAcceptTest() { loop = testing::ioUringLoop(clock, &refused); }
  void SetUp() override {
    TETHER_SKIP_IF_REFUSED(refused);
    auto addr = parseSocketAddress("127.0.0.1:0");
    lfd = listenTcp(*addr, 512, &bound);
    ASSERT_GE(lfd, 0);
  }

  Fd connectOne() {
    Fd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::connect(c.fd, bound.raw(), bound.length), 0);
    return c;
  }
  // Runs the loop (bounded) until `owner` holds `n` connections.
  void runUntilAccepted(const Accepted& owner, std::size_t n) {
    for (int i = 0; i < 100 && owner.fds.size() < n; ++i) loop->runOnce(50);
  }
  // A first connection accepted by accept4(), which drains the queue: the
  // ring's multishot accept is armed and, after one more wait, submitted.
  void armTheRing(Accepted& owner) {
    clients.push_back(connectOne());
    runUntilAccepted(owner, 1);
    ASSERT_EQ(owner.fds.size(), 1u);
    loop->runOnce(0);
  }
  // Each accepted socket serves a distinct client of `clients`, and both ends
  // are connected: a byte from the server's end arrives.
  void expectEachClientServedOnce(const std::vector<Fd>& accepted) {
    std::vector<std::string> peers, locals;
    for (const Fd& a : accepted) {
      peers.push_back(peerAddress(a.fd).toString());
      ASSERT_EQ(::write(a.fd, "x", 1), 1);
    }
    for (const Fd& c : clients) {
      locals.push_back(localAddress(c.fd).toString());
      pollfd p{c.fd, POLLIN, 0};
      char b = 0;
      bool served = ::poll(&p, 1, 2000) == 1 && ::read(c.fd, &b, 1) == 1;
      EXPECT_TRUE(served) << "client " << locals.back() << " was not served";
    }
    std::sort(peers.begin(), peers.end());
    std::sort(locals.begin(), locals.end());
    EXPECT_EQ(peers, locals);
  }

  core::ManualClock clock;
  std::string refused;
  std::unique_ptr<EventLoop> loop;
  SocketAddress bound;
  int lfd = -1;
  std::vector<Fd> clients;
};

TEST_F(IoUringAcceptTest, OnceDrainedTheRingAcceptsWithoutAnAcceptCall) {
  Accepted owner;
  Acceptor acceptor(*loop, lfd, owner, /*noDelay=*/false);
  armTheRing(owner);
  clients.push_back(connectOne());
  // The ring took it already: the listener's own queue is empty.
  errno = 0;
  EXPECT_EQ(::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK), -1);
  EXPECT_EQ(errno, EAGAIN);
  runUntilAccepted(owner, 2);
  ASSERT_EQ(owner.fds.size(), 2u);
  expectEachClientServedOnce(owner.fds);
}

TEST_F(IoUringAcceptTest, ManyConnectionsReachTheOwnerOnceEach) {
  Accepted owner;
  Acceptor acceptor(*loop, lfd, owner, /*noDelay=*/true);
  armTheRing(owner);
  for (int i = 0; i < 300; ++i) clients.push_back(connectOne());
  runUntilAccepted(owner, clients.size());
  ASSERT_EQ(owner.fds.size(), clients.size());
  expectEachClientServedOnce(owner.fds);
}

// A --share-port handover: connections the ring accepted into completions
// not reaped yet belong to the owner, not to a reset.
TEST_F(IoUringAcceptTest, AHandoverGetsWhatTheRingAcceptedBeforeTheClose) {
  Accepted owner;
  Acceptor acceptor(*loop, lfd, owner, /*noDelay=*/false);
  armTheRing(owner);
  for (int i = 0; i < 20; ++i) clients.push_back(connectOne());
  acceptor.acceptPendingAndClose();
  EXPECT_EQ(acceptor.fd(), -1);
  ASSERT_EQ(owner.fds.size(), clients.size());
  loop->runOnce(0);  // nothing the owner holds is reset by the wait
  expectEachClientServedOnce(owner.fds);
}

TEST_F(IoUringAcceptTest, ConnectionsNobodyTookAreResetAtTheNextWaitNotLeaked) {
  Accepted owner;
  Acceptor acceptor(*loop, lfd, owner, /*noDelay=*/false);
  armTheRing(owner);
  int before = openFds();
  std::vector<Fd> dropped;
  for (int i = 0; i < 3; ++i) dropped.push_back(connectOne());
  acceptor.close();  // not acceptPendingAndClose(): what was accepted is dropped
  loop->runOnce(0);
  EXPECT_EQ(owner.fds.size(), 1u);
  EXPECT_EQ(openFds(), before + 3 - 1) << "the clients' 3 only; the listener is closed";
  for (const Fd& c : dropped) EXPECT_TRUE(ended(c.fd)) << "client left hanging";
}

// A listener's number taken by a new listener before any wait: the new one
// never hands out the old one's connections.
TEST_F(IoUringAcceptTest, ANewListenerWithTheOldNumberGetsNoneOfItsConnections) {
  Accepted oldOwner, newOwner;
  auto first = std::make_unique<Acceptor>(*loop, lfd, oldOwner, /*noDelay=*/false);
  armTheRing(oldOwner);
  int number = lfd;
  clients.push_back(connectOne());  // accepted by the ring for the old listener
  first->close();
  auto addr = parseSocketAddress("127.0.0.1:0");
  SocketAddress other;
  int again = listenTcp(*addr, 16, &other);
  if (again != number) GTEST_SKIP() << "the number was not reused (" << again << ")";
  Acceptor second(*loop, again, newOwner, /*noDelay=*/false);
  second.acceptPending();
  EXPECT_TRUE(newOwner.fds.empty());
  loop->runOnce(0);
  EXPECT_TRUE(newOwner.fds.empty());
  EXPECT_TRUE(ended(clients.back().fd)) << "the old listener's client is reset";
}

}  // namespace
}  // namespace tether::net
