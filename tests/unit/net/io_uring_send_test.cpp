// The io_uring backend's send path under a Stream: a write is taken at once
// and reaches the socket with the loop's next wait (no send() call), and
// nothing the owner does next overtakes it: another write, a sendfile, the
// FIN, the close. A send the kernel cannot finish holds back what follows; a
// failed one is the owner's next error; one that outlives its socket's close
// ends at the limit. Deterministic: socket pairs, runOnce(0), no sleeps.
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "io_uring_test_util.h"
#include "net_test_util.h"
#include "tether/net/socket.h"
#include "tether/net/stream.h"

namespace tether::net {
namespace {

using testing::Fd;
using testing::readNow;
using testing::Writer;
using Kind = IoResult::Kind;

std::string pattern(std::size_t from, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (from + i) % 26);
  return s;
}

class IoUringSendTest : public ::testing::Test {
 protected:
  IoUringSendTest() { loop = testing::ioUringLoop(clock, &refused, &backend); }
  void SetUp() override {
    TETHER_SKIP_IF_REFUSED(refused);
    if (loop->receiveTransport() == nullptr) GTEST_SKIP() << "no buffer rings (kernel < 5.19)";
  }
  void TearDown() override {
    if (w.stream.isOpen()) w.stream.close(*loop, &w);
  }
  // Opens `w` on one end of a small AF_UNIX pair (the test holds the other,
  // `peer`) and runs the loop once: the ring is enabled.
  void openSmallPair() {
    auto [a, b] = testing::smallSocketPair();
    peer.fd = b;
    open(a);
  }
  // The same on loopback TCP; buffers of `bufferSize` bytes when not 0.
  void openTcpPair(int bufferSize = 0) {
    auto [client, server] = testing::tcpPair();
    peer.fd = client;
    if (bufferSize > 0) {
      setsockopt(server, SOL_SOCKET, SO_SNDBUF, &bufferSize, sizeof bufferSize);
      setsockopt(client, SOL_SOCKET, SO_RCVBUF, &bufferSize, sizeof bufferSize);
    }
    open(server);
  }
  void open(int fd) {
    w.stream.open(*loop, fd, &w, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
    loop->runOnce(0);
  }
  // Writes `all` in 3,000-byte pieces (each fits a send slot) as the owner's
  // loop would, running the loop between writes, until a write is refused
  // because a send waits in the kernel (the peer reads nothing). How many
  // bytes were taken.
  std::size_t writeUntilASendWaits(const std::string& all) {
    std::size_t sent = 0;
    for (int round = 0; round < 1000 && sent < all.size(); ++round) {
      std::size_t end = std::min(all.size(), sent + 3000);
      IoResult r = w.stream.writeAll(std::string_view(all).substr(0, end), &sent);
      if (r.kind == Kind::kBlocked) return sent;
      EXPECT_TRUE(r.done());
      loop->runOnce(0);
    }
    ADD_FAILURE() << "no send ever waited";
    return sent;
  }
  // Runs the loop and reads the peer until it sees the end (bounded).
  std::string drainToEnd(bool* eof, int* err = nullptr) {
    std::string got;
    for (int round = 0; round < 10'000 && !*eof && (err == nullptr || *err == 0); ++round) {
      loop->runOnce(0);
      got += readNow(peer.fd, eof, err);
    }
    return got;
  }

  core::ManualClock clock;
  std::string refused;
  IoUringBackend* backend = nullptr;
  std::unique_ptr<EventLoop> loop;
  Writer w;
  Fd peer;
  testing::DescriptorLimit descriptors;
};

TEST_F(IoUringSendTest, AWriteGoesOutWithTheNextWaitWithoutASendCall) {
  openSmallPair();
  std::size_t sent = 0;
  IoResult r = w.stream.writeAll("hello", &sent);
  EXPECT_EQ(r.kind, Kind::kDone);
  EXPECT_EQ(sent, 5u);
  EXPECT_EQ(readNow(peer.fd), "") << "not in the socket yet: no send() call";
  loop->runOnce(0);
  EXPECT_EQ(readNow(peer.fd), "hello");
}

// The client pool's streams: kDone must mean the kernel took the bytes.
TEST_F(IoUringSendTest, AStreamThatSendsDirectlyWritesAtOnce) {
  openSmallPair();
  w.stream.sendDirectly();
  std::size_t sent = 0;
  ASSERT_TRUE(w.stream.writeAll("now", &sent).done());
  EXPECT_EQ(readNow(peer.fd), "now") << "a send() call, not a submission";
  w.stream.shutdownWrite();
  bool eof = false;
  readNow(peer.fd, &eof);
  EXPECT_TRUE(eof);
}

TEST_F(IoUringSendTest, WritesBeforeTheSubmitGoOutInOrder) {
  openSmallPair();
  std::size_t sent = 0;
  EXPECT_TRUE(w.stream.writeAll("one,", &sent).done());
  sent = 0;
  EXPECT_TRUE(w.stream.writeAll("two,", &sent).done());
  char x[] = "three,", y[] = "four";
  iovec iov[2] = {{x, 6}, {y, 4}};
  IoResult r = w.stream.writev(iov, 2);
  EXPECT_EQ(r.kind, Kind::kDone);
  EXPECT_EQ(r.bytes, 10u);
  loop->runOnce(0);
  EXPECT_EQ(readNow(peer.fd), "one,two,three,four");
}

// Writes of many sockets in one iteration: the slot table grows while the
// first slots' sends wait in the submission queue, so a slot's bytes must not
// live inside the slot (a short std::string did: the pings of 10,000
// WebSockets went out as garbage).
TEST_F(IoUringSendTest, ShortWritesOfManySocketsInOneIterationArriveIntact) {
  constexpr int kSockets = 1'500;  // more than the submission queue's 1,024 entries
  if (!descriptors.allow(2 * kSockets + 100)) GTEST_SKIP() << "needs more descriptors";
  std::vector<std::unique_ptr<Writer>> writers;
  std::vector<Fd> peers;
  loop->runOnce(0);  // the ring is enabled: a full submission queue can be submitted
  for (int i = 0; i < kSockets; ++i) {
    auto [a, b] = testing::smallSocketPair();
    peers.emplace_back(b);
    writers.push_back(std::make_unique<Writer>());
    writers.back()->stream.open(*loop, a, writers.back().get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  }
  loop->runOnce(0);
  for (int i = 0; i < kSockets; ++i) {
    std::string message = "ping " + std::to_string(i);  // short: fits a string's own storage
    std::size_t sent = 0;
    ASSERT_TRUE(writers[static_cast<std::size_t>(i)]->stream.writeAll(message, &sent).done());
  }
  loop->runOnce(0);
  int wrong = 0;
  for (int i = 0; i < kSockets; ++i) {
    wrong += readNow(peers[static_cast<std::size_t>(i)].fd) != "ping " + std::to_string(i);
  }
  EXPECT_EQ(wrong, 0) << "sockets whose bytes did not arrive as written";
  for (auto& wr : writers) wr->stream.close(*loop, wr.get());
}

// A write too big for a slot is a send() call, but never ahead of a send the
// ring has not finished: it waits for EPOLLOUT.
TEST_F(IoUringSendTest, ABigWriteIsASendCallButWaitsForTheSendBeforeIt) {
  openTcpPair();
  const std::string big = pattern(0, 20'000);
  std::size_t sent = 0;
  ASSERT_TRUE(w.stream.writeAll("small,", &sent).done());
  sent = 0;
  EXPECT_EQ(w.stream.writeAll(big, &sent).kind, Kind::kBlocked);
  EXPECT_EQ(sent, 0u);
  int before = w.writable;
  loop->runOnce(0);
  EXPECT_GT(w.writable, before) << "the finished send says the socket takes writes again";
  EXPECT_TRUE(w.stream.writeAll(big, &sent).done());
  EXPECT_EQ(readNow(peer.fd), "small," + big) << "the big write went out at once, after";
}

// The peer does not read: a send waits in the kernel, the next write is
// refused until it finishes, and every byte arrives once, in order.
TEST_F(IoUringSendTest, AWriteWhileASendWaitsIsRefusedUntilItFinishes) {
  openSmallPair();
  const std::string all = pattern(0, 256 * 1024);
  std::size_t sent = writeUntilASendWaits(all);
  EXPECT_LT(sent, all.size());
  std::string got;
  int refusals = 1;
  for (int round = 0; round < 100'000 && got.size() < all.size(); ++round) {
    if (sent < all.size() && w.stream.writeReady()) {
      std::size_t end = std::min(all.size(), sent + 3000);
      IoResult r = w.stream.writeAll(std::string_view(all).substr(0, end), &sent);
      refusals += r.kind == Kind::kBlocked;
    }
    loop->runOnce(0);
    got += readNow(peer.fd);
  }
  EXPECT_TRUE(got == all) << "bytes lost, doubled or out of order (" << got.size() << " of "
                          << all.size() << ")";
  EXPECT_GE(w.writable, refusals) << "each refusal ends with EPOLLOUT";
}

TEST_F(IoUringSendTest, SendFileWaitsForTheSendBeforeIt) {
  openTcpPair();
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  std::fputs("file body", file);
  std::fflush(file);
  std::size_t sent = 0;
  ASSERT_TRUE(w.stream.writeAll("head:", &sent).done());
  EXPECT_EQ(w.stream.sendFile(fileno(file), 0, 9).kind, Kind::kBlocked);
  loop->runOnce(0);
  EXPECT_TRUE(w.stream.writeReady());
  IoResult r = w.stream.sendFile(fileno(file), 0, 9);
  EXPECT_EQ(r.kind, Kind::kDone);
  EXPECT_EQ(r.bytes, 9u);
  EXPECT_EQ(readNow(peer.fd), "head:file body");
  std::fclose(file);
}

TEST_F(IoUringSendTest, TheFinFollowsTheBytesOfASendNotSubmittedYet) {
  openSmallPair();
  std::size_t sent = 0;
  ASSERT_TRUE(w.stream.writeAll("bye", &sent).done());
  w.stream.shutdownWrite();
  bool eof = false;
  EXPECT_EQ(readNow(peer.fd, &eof), "");
  EXPECT_FALSE(eof) << "the FIN overtook the bytes";
  loop->runOnce(0);
  EXPECT_EQ(readNow(peer.fd, &eof), "bye");
  EXPECT_TRUE(eof);
}

TEST_F(IoUringSendTest, TheFinFollowsTheBytesOfASendThatWaits) {
  openSmallPair();
  const std::string all = pattern(0, 64 * 1024);
  std::size_t sent = writeUntilASendWaits(all);
  w.stream.shutdownWrite();
  bool eof = false;
  std::string got = drainToEnd(&eof);
  EXPECT_TRUE(eof);
  EXPECT_TRUE(got == all.substr(0, sent)) << got.size() << " of " << sent << " bytes";
}

// A close right after a write (Connection: close): the bytes, then the FIN,
// with no iteration in between (closing() submits).
TEST_F(IoUringSendTest, CloseAfterAWriteSendsTheBytesThenTheFin) {
  openSmallPair();
  std::size_t sent = 0;
  ASSERT_TRUE(w.stream.writeAll("last", &sent).done());
  w.stream.close(*loop, &w);
  bool eof = false;
  EXPECT_EQ(readNow(peer.fd, &eof), "last");
  EXPECT_TRUE(eof);
}

// The kernel holds the socket until the send that outlived the close is done,
// as it would hold the bytes of a send() before close() on epoll.
TEST_F(IoUringSendTest, ASendThatWaitsStillDeliversAfterTheClose) {
  openSmallPair();
  const std::string all = pattern(0, 64 * 1024);
  std::size_t sent = writeUntilASendWaits(all);
  w.stream.close(*loop, &w);
  bool eof = false;
  std::string got = drainToEnd(&eof);
  EXPECT_TRUE(eof);
  EXPECT_TRUE(got == all.substr(0, sent)) << got.size() << " of " << sent << " bytes";
}

// A peer that never reads again cannot hold a closed socket for ever.
TEST_F(IoUringSendTest, ASendOutlivingItsCloseEndsAtTheLimit) {
  backend->setOrphanSendLimit(0);
  openSmallPair();
  const std::string all = pattern(0, 64 * 1024);
  std::size_t sent = writeUntilASendWaits(all);
  w.stream.close(*loop, &w);
  loop->runOnce(0);  // the wait after the close cancels it
  loop->runOnce(0);
  bool eof = false;
  std::string got = readNow(peer.fd, &eof);  // what the socket buffers held
  EXPECT_TRUE(eof) << "the socket is released: the peer sees the end";
  EXPECT_LT(got.size(), sent) << "the waiting send was cancelled, not delivered";
}

// A reset does not wait for a send the kernel cannot finish.
TEST_F(IoUringSendTest, AResetDiscardsASendThatWaits) {
  openTcpPair(4096);
  const std::string all = pattern(0, 4 * 1024 * 1024);
  std::size_t sent = writeUntilASendWaits(all);
  w.stream.close(*loop, &w, /*reset=*/true);
  int err = 0;
  bool eof = false;
  std::string got = drainToEnd(&eof, &err);
  EXPECT_EQ(err, ECONNRESET) << "no reset after " << got.size() << " of " << sent << " bytes";
  EXPECT_LT(got.size(), sent) << "the reset waited for the send";
}

// An fd closed behind the loop's back (no closingFd()) whose number a new
// socket gets before the loop submits: the old socket's queued send must not
// go to the new one.
TEST_F(IoUringSendTest, AQueuedSendNeverReachesTheNextSocketWithItsNumber) {
  openSmallPair();
  std::size_t sent = 0;
  ASSERT_TRUE(w.stream.writeAll("stale", &sent).done());
  int old = w.stream.fd();
  ::close(old);
  auto [c, d] = testing::smallSocketPair();
  Fd newPeer(d);
  if (c != old) {
    ::close(c);
    GTEST_SKIP() << "the kernel gave the new socket another number";
  }
  w.stream.adopt(-1);  // the number is the new socket's now
  Writer next;
  next.stream.open(*loop, c, &next, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  loop->runOnce(0);
  loop->runOnce(0);
  EXPECT_EQ(readNow(newPeer.fd), "") << "the old socket's bytes went to the new one";
  next.stream.close(*loop, &next);
}

// A send the kernel refuses is the owner's next error, on read and write.
TEST_F(IoUringSendTest, AFailedSendIsTheOwnersNextError) {
  openTcpPair();
  setLingerReset(peer.fd);
  ::close(peer.release());
  std::size_t sent = 0;
  ASSERT_TRUE(w.stream.writeAll("into a reset", &sent).done());
  for (int round = 0; round < 10 && w.errors == 0; ++round) loop->runOnce(0);
  EXPECT_GT(w.errors, 0);
  char buf[16];
  IoResult r = w.stream.read(buf, sizeof buf);
  ASSERT_EQ(r.kind, Kind::kFailed);
  EXPECT_EQ(w.stream.classify(r.err, false), StreamError::kPeerReset);
}

}  // namespace
}  // namespace tether::net
