// The io_uring backend's receive path under a Stream: a drained socket is read
// by a multishot receive into the loop's buffers; bytes stay in order across
// every switch between that and read() (backpressure stop, out of buffers);
// the FIN, a reset and the pre-reuse check come through it. Deterministic:
// socket pairs, runOnce(0), no sleeps.
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "net/receive_buffers.h"
#include "net_test_util.h"
#include "tether/net/stream.h"

namespace tether::net {
namespace {

using testing::Fd;
using Kind = IoResult::Kind;

struct Reader final : IoHandler {
  Stream stream;
  int events = 0;
  void onIoEvents(std::uint32_t e) override {
    ++events;
    stream.onEvents(e);
  }
  // Reads until the stream blocks; appends to `got`. The last result.
  IoResult readAll(std::string* got) {
    char buf[1000];  // not a multiple of the ring's buffers: chunks split
    for (;;) {
      IoResult r = stream.read(buf, sizeof buf);
      if (!r.done()) return r;
      got->append(buf, r.bytes);
    }
  }
};

class IoUringReceiveTest : public ::testing::Test {
 protected:
  void SetUp() override { TETHER_SKIP_IF_REFUSED(refused); }
  // Opens `r` on `fd`, sends it `first` from `peer` and reads it: the read
  // drains the socket, which hands it to the ring.
  void openAndDrain(Reader& r, int fd, int peer, const std::string& first = "first") {
    r.stream.open(loop, fd, &r, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
    ASSERT_EQ(::write(peer, first.data(), first.size()), static_cast<ssize_t>(first.size()));
    loop.runOnce(0);
    std::string got;
    EXPECT_EQ(r.readAll(&got).kind, Kind::kBlocked);
    EXPECT_EQ(got, first);
  }

  core::ManualClock clock;
  std::string refused;
  EventLoop loop{clock, testing::backendOrEpoll(IoBackend::kIoUring, &refused)};
  testing::DescriptorLimit descriptors;
};

std::string pattern(std::size_t from, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (from + i) % 26);
  return s;
}

TEST_F(IoUringReceiveTest, ADrainedSocketIsReadByTheRing) {
  ASSERT_NE(loop.receiveTransport(), nullptr) << "this kernel has buffer rings (5.19+)";
  Reader r;
  auto [a, b] = testing::smallSocketPair();
  Fd peer(b);
  openAndDrain(r, a, peer.fd);
  ASSERT_EQ(::write(peer.fd, "second", 6), 6);
  char buf[64];
  // No read() syscall any more: until the loop reaps the receive, nothing is there.
  EXPECT_EQ(r.stream.read(buf, sizeof buf).kind, Kind::kBlocked);
  int before = r.events;
  loop.runOnce(0);
  EXPECT_GT(r.events, before);
  EXPECT_TRUE(r.stream.readReady());
  std::string got;
  EXPECT_EQ(r.readAll(&got).kind, Kind::kBlocked);
  EXPECT_EQ(got, "second");
  EXPECT_TRUE(r.stream.transport() == nullptr) << "the ring is not the owner's transport";
  r.stream.close(loop, &r);
}

TEST_F(IoUringReceiveTest, BytesThenTheFinThenEndOfStream) {
  Reader r;
  auto [a, b] = testing::smallSocketPair();
  Fd peer(b);
  openAndDrain(r, a, peer.fd);
  ASSERT_EQ(::write(peer.fd, "last", 4), 4);
  ::shutdown(peer.fd, SHUT_WR);
  loop.runOnce(0);
  EXPECT_TRUE(r.stream.peerClosing());
  std::string got;
  EXPECT_EQ(r.readAll(&got).kind, Kind::kEof);
  EXPECT_EQ(got, "last");
  EXPECT_TRUE(r.stream.peerEof());
  r.stream.close(loop, &r);
}

TEST_F(IoUringReceiveTest, AResetIsAFailedReadOfThePeerReset) {
  Reader r;
  auto [client, server] = testing::tcpPair();
  Fd peer(client);
  openAndDrain(r, server, peer.fd);
  setLingerReset(peer.fd);
  ::close(peer.release());
  loop.runOnce(0);
  std::string got;
  IoResult res = r.readAll(&got);
  ASSERT_EQ(res.kind, Kind::kFailed);
  EXPECT_EQ(r.stream.classify(res.err, false), StreamError::kPeerReset);
  r.stream.close(loop, &r);
}

// The ring holds the file while a receive is armed: closing cancels it, and
// the peer sees the FIN as soon as close() returns, as with epoll.
TEST_F(IoUringReceiveTest, CloseReleasesASocketWithAnArmedReceiveAtOnce) {
  Reader r;
  auto [a, b] = testing::smallSocketPair();
  Fd peer(b);
  openAndDrain(r, a, peer.fd);
  loop.runOnce(0);  // the receive is armed
  r.stream.close(loop, &r);
  char buf[8];
  EXPECT_EQ(::read(peer.fd, buf, sizeof buf), 0) << "no FIN: the ring still holds the socket";
}

// Bytes the ring holds count as input wherever they are: in the socket, in a
// completion not yet reaped, or in the stream's queue. A stray byte (an
// unsolicited 408 before the server's close) must stop a client from reusing
// the connection (quietAndOpen), and eviction spares a connection whose next
// request has arrived (inputWaiting).
TEST_F(IoUringReceiveTest, BothInputChecksSeeBytesTheRingHolds) {
  Reader r;
  auto [a, b] = testing::smallSocketPair();
  Fd peer(b);
  openAndDrain(r, a, peer.fd);
  loop.runOnce(0);  // the receive is armed
  auto expectInput = [&](bool waiting, const char* where) {
    EXPECT_EQ(r.stream.inputWaiting(), waiting) << where;
    EXPECT_EQ(r.stream.quietAndOpen(), !waiting) << where;
  };
  expectInput(false, "nothing sent");
  ASSERT_EQ(::write(peer.fd, "GET", 3), 3);
  expectInput(true, "before the loop ran");
  loop.runOnce(0);
  expectInput(true, "queued");
  std::string got;
  r.readAll(&got);
  EXPECT_EQ(got, "GET");
  expectInput(false, "all read");
  r.stream.close(loop, &r);
}

// An owner that stops reading: the receive stops at the queue's limit (the
// socket buffer takes the rest), and when the owner reads again the bytes come
// in order through the queue, then read(), then the ring again. The peer writes
// from its own thread, so bytes arrive while the owner reads too: a read()
// while a receive may still complete would reorder them.
TEST_F(IoUringReceiveTest, BackpressureStopKeepsTheBytesInOrder) {
  Reader r;
  auto [client, server] = testing::tcpPair();
  Fd peer(client);
  openAndDrain(r, server, peer.fd);
  constexpr std::size_t kTotal = 4 * 1024 * 1024;  // many times the queue's limit (64 KiB)
  const std::string all = pattern(0, kTotal);
  std::thread writer([&] {
    int blocking = 0;
    ioctl(peer.fd, FIONBIO, &blocking);
    for (std::size_t sent = 0; sent < kTotal;) {
      ssize_t n = ::write(peer.fd, all.data() + sent, std::min<std::size_t>(kTotal - sent, 3000));
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  });
  std::string got;
  for (int round = 0; round < 200'000 && got.size() < kTotal; ++round) {
    loop.runOnce(0);
    // The owner reads only every 8th iteration: in between the queue fills.
    if (round % 8 == 7) r.readAll(&got);
  }
  writer.join();
  ASSERT_EQ(got.size(), kTotal);
  EXPECT_TRUE(got == all) << "bytes out of order or lost";
  r.stream.close(loop, &r);
}

// More sockets with input at once than the ring has buffers: those left
// without one (ENOBUFS) are read with read(); nothing is lost or mixed up.
TEST_F(IoUringReceiveTest, MoreSocketsWithInputThanBuffers) {
  constexpr int kSockets = 1'200;  // the ring offers at most 1,024 buffers
  if (!descriptors.allow(2 * kSockets + 100)) GTEST_SKIP() << "needs more descriptors";
  std::vector<Reader> readers(kSockets);
  std::vector<Fd> peers;
  for (Reader& r : readers) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    peers.emplace_back(sv[1]);
    openAndDrain(r, sv[0], sv[1]);
  }
  loop.runOnce(0);  // every receive armed
  for (int i = 0; i < kSockets; ++i) {
    std::string msg = "socket " + std::to_string(i) + pattern(static_cast<std::size_t>(i), 300);
    ASSERT_EQ(::write(peers[static_cast<std::size_t>(i)].fd, msg.data(), msg.size()),
              static_cast<ssize_t>(msg.size()));
  }
  // A socket whose message is in gets one byte more at once: a socket that
  // just went back to the poll gets it before its poll update is submitted.
  std::vector<std::string> got(kSockets);
  std::vector<bool> topped(kSockets);
  for (int round = 0; round < 20; ++round) {
    loop.runOnce(0);
    for (std::size_t i = 0; i < readers.size(); ++i) {
      if (readers[i].stream.readReady()) readers[i].readAll(&got[i]);
      if (!topped[i] && got[i].size() == 7 + std::to_string(i).size() + 300) {
        ASSERT_EQ(::write(peers[i].fd, "+", 1), 1);
        topped[i] = true;
      }
    }
  }
  for (int i = 0; i < kSockets; ++i) {
    EXPECT_EQ(got[static_cast<std::size_t>(i)],
              "socket " + std::to_string(i) + pattern(static_cast<std::size_t>(i), 300) + "+");
  }
  // Every buffer was offered and still ran short: a socket drained since then
  // is polled and read with read(), as on epoll (its bytes are there before
  // the loop runs), and its poll reports input again.
  std::vector<std::size_t> polled;
  for (std::size_t i = 0; i < readers.size(); ++i) {
    ASSERT_EQ(::write(peers[i].fd, "again", 5), 5);
    std::string now;
    readers[i].readAll(&now);
    if (now.empty()) continue;  // still with the ring (it never ran out)
    EXPECT_EQ(now, "again");
    polled.push_back(i);
  }
  EXPECT_GE(polled.size(), std::size_t{kSockets - ReceiveBuffers::kMaxBuffers});
  for (std::size_t i : polled) ASSERT_EQ(::write(peers[i].fd, "third", 5), 5);
  std::vector<std::string> third(readers.size());
  for (int round = 0; round < 10; ++round) {  // one wait delivers a batch, not all
    loop.runOnce(0);
    for (std::size_t i : polled) {
      if (readers[i].stream.readReady()) readers[i].readAll(&third[i]);
    }
  }
  for (std::size_t i : polled) EXPECT_EQ(third[i], "third") << "socket " << i << ": no EPOLLIN";
  for (Reader& r : readers) r.stream.close(loop, &r);
}

}  // namespace
}  // namespace tether::net
