// Stream over socket pairs: reads into the owner's buffer, the send loop,
// sendfile, drain, half-close, error vocabulary, stale events and the
// transport seam. Deterministic: no sleeps, no timing.
#include "tether/net/stream.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "net_test_util.h"

namespace tether::net {
namespace {

using testing::Fd;
using Kind = IoResult::Kind;

struct Handler final : IoHandler {
  Stream stream;
  int events = 0;
  Handler* closeOnEvent = nullptr;
  EventLoop* loop = nullptr;
  void onIoEvents(std::uint32_t e) override {
    ++events;
    stream.onEvents(e);
    if (closeOnEvent != nullptr) closeOnEvent->stream.close(*loop, closeOnEvent);
  }
};

class StreamTest : public ::testing::TestWithParam<IoBackend> {
 protected:
  void SetUp() override { TETHER_SKIP_IF_REFUSED(refused); }
  core::ManualClock clock;
  std::string refused;
  EventLoop loop{clock, testing::backendOrEpoll(GetParam(), &refused)};

  // Opens `h`'s stream on one end of a small socket pair; returns the other end.
  Fd openPair(Handler& h, std::uint32_t events = EPOLLIN | EPOLLOUT | EPOLLRDHUP) {
    auto [a, b] = testing::smallSocketPair();
    h.stream.open(loop, a, &h, events);
    return Fd(b);
  }
};

TEST_P(StreamTest, ReadsIntoTheOwnersBufferAndTracksTheEdge) {
  Handler h;
  Fd peer = openPair(h);
  ASSERT_EQ(::write(peer.fd, "hello", 5), 5);
  loop.runOnce(0);
  EXPECT_TRUE(h.stream.readReady());
  char buf[64];
  IoResult r = h.stream.read(buf, sizeof buf);
  ASSERT_EQ(r.kind, Kind::kDone);
  EXPECT_EQ(std::string(buf, r.bytes), "hello");
  EXPECT_FALSE(h.stream.readReady()) << "a short read drained the socket";
  EXPECT_EQ(h.stream.read(buf, sizeof buf).kind, Kind::kBlocked);
  ::shutdown(peer.fd, SHUT_WR);
  loop.runOnce(0);
  EXPECT_TRUE(h.stream.peerClosing());
  EXPECT_EQ(h.stream.read(buf, sizeof buf).kind, Kind::kEof);
  EXPECT_TRUE(h.stream.peerEof());
  h.stream.close(loop, &h);
  EXPECT_FALSE(h.stream.isOpen());
}

TEST_P(StreamTest, SendLoopStopsWhenFullAndResumesWhereItStopped) {
  Handler h;
  Fd peer = openPair(h);
  std::string data(1 << 20, 'x');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  std::size_t sent = 0;
  IoResult r = h.stream.writeAll(data, &sent);
  ASSERT_EQ(r.kind, Kind::kBlocked);
  EXPECT_GT(sent, 0u);
  EXPECT_LT(sent, data.size());
  EXPECT_FALSE(h.stream.writeReady());
  std::string received;
  char buf[65536];
  for (int round = 0; round < 10'000 && received.size() < data.size(); ++round) {
    ssize_t n;
    while ((n = ::read(peer.fd, buf, sizeof buf)) > 0) received.append(buf, std::size_t(n));
    loop.runOnce(0);
    if (h.stream.writeReady() && sent < data.size()) {
      r = h.stream.writeAll(data, &sent);
      ASSERT_NE(r.kind, Kind::kFailed);
    }
  }
  EXPECT_EQ(sent, data.size());
  EXPECT_EQ(received, data) << "bytes arrive once, in order";
  h.stream.close(loop, &h);
}

TEST_P(StreamTest, WritingToAClosedPeerIsAReset) {
  Handler h;
  openPair(h);  // the peer's end closes at once
  std::size_t sent = 0;
  IoResult r = h.stream.writeAll("x", &sent);
  ASSERT_EQ(r.kind, Kind::kFailed);
  EXPECT_EQ(r.err, EPIPE);
  EXPECT_EQ(h.stream.classify(r.err, false), StreamError::kPeerReset);
  h.stream.close(loop, &h);
}

// The socket's error reaches the writer even when the loop received it first:
// io_uring's armed receive takes a reset (or a user timeout's ETIMEDOUT) from
// the kernel, after which write() itself only says EPIPE.
TEST_P(StreamTest, AWriteAfterThePeersResetFailsWithTheReset) {
  auto [client, server] = testing::tcpPair();
  Fd peer(client);
  Handler h;
  h.stream.open(loop, server, &h, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  ASSERT_EQ(::write(peer.fd, "x", 1), 1);
  loop.runOnce(0);
  char buf[8];
  ASSERT_EQ(h.stream.read(buf, sizeof buf).bytes, 1u);
  EXPECT_EQ(h.stream.read(buf, sizeof buf).kind, Kind::kBlocked);
  loop.runOnce(0);  // io_uring: the receive is armed now
  setLingerReset(peer.fd);
  ::close(peer.release());
  loop.runOnce(0);
  EXPECT_TRUE(h.stream.writeReady()) << "the error wakes a writer";
  std::size_t sent = 0;
  IoResult r = h.stream.writeAll("response", &sent);
  ASSERT_EQ(r.kind, Kind::kFailed);
  EXPECT_EQ(r.err, ECONNRESET) << std::strerror(r.err);
  h.stream.close(loop, &h);
}

TEST_P(StreamTest, TimeoutIsUserTimeoutWithDataInFlightElseKeepalive) {
  auto [client, server] = testing::tcpPair();
  Fd peer(server);
  Handler h;
  h.stream.open(loop, client, &h, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  EXPECT_EQ(h.stream.classify(ETIMEDOUT, false), StreamError::kKeepaliveTimeout)
      << "idle, nothing queued anywhere: the keepalive probes went unanswered";
  EXPECT_EQ(h.stream.classify(ETIMEDOUT, true), StreamError::kUserTimeout)
      << "bytes still queued by the owner";
  EXPECT_EQ(h.stream.classify(ECONNRESET, false), StreamError::kPeerReset);
  EXPECT_EQ(h.stream.classify(EBADF, false), StreamError::kOther);
  h.stream.close(loop, &h);
}

TEST_P(StreamTest, SendFileAndDrain) {
  Handler h;
  Fd peer = openPair(h);
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  std::fputs("0123456789", f);
  std::fflush(f);
  IoResult r = h.stream.sendFile(fileno(f), 3, 4);
  ASSERT_EQ(r.kind, Kind::kDone);
  EXPECT_EQ(r.bytes, 4u);
  EXPECT_EQ(h.stream.sendFile(fileno(f), 10, 4).bytes, 0u) << "past the end: the file ended";
  std::fclose(f);
  char buf[16];
  ASSERT_EQ(::read(peer.fd, buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "3456");

  // Lingering close: our FIN goes out, the peer's late bytes are discarded.
  h.stream.shutdownWrite();
  EXPECT_EQ(::read(peer.fd, buf, sizeof buf), 0) << "the peer sees our FIN";
  ASSERT_EQ(::write(peer.fd, "late bytes", 10), 10);
  loop.runOnce(0);
  r = h.stream.drain(buf, 4);
  EXPECT_EQ(r.kind, Kind::kBlocked);
  EXPECT_EQ(r.bytes, 10u);
  ::shutdown(peer.fd, SHUT_WR);
  loop.runOnce(0);  // the FIN's event (a receiving backend reads it in the loop)
  EXPECT_EQ(h.stream.drain(buf, sizeof buf).kind, Kind::kEof);
  h.stream.close(loop, &h);
}

TEST_P(StreamTest, QuietAndOpenSeesAStrayByteAndAClose) {
  Handler h;
  Fd peer = openPair(h);
  EXPECT_TRUE(h.stream.quietAndOpen());
  ASSERT_EQ(::write(peer.fd, "H", 1), 1);  // e.g. an unsolicited 408
  EXPECT_FALSE(h.stream.quietAndOpen());
  char c;
  ASSERT_EQ(h.stream.read(&c, 1).kind, Kind::kDone);
  EXPECT_TRUE(h.stream.quietAndOpen());
  ::shutdown(peer.fd, SHUT_WR);
  EXPECT_FALSE(h.stream.quietAndOpen());
  h.stream.close(loop, &h);
}

TEST_P(StreamTest, ClosingAStreamDropsItsEventsAlreadyFetched) {
  // Both become readable in one batch; whichever handler runs first closes the
  // other, which must then see no event at all.
  Handler h1, h2;
  h1.loop = h2.loop = &loop;
  h1.closeOnEvent = &h2;
  h2.closeOnEvent = &h1;
  Fd p1 = openPair(h1, EPOLLIN);
  Fd p2 = openPair(h2, EPOLLIN);
  ASSERT_EQ(::write(p1.fd, "x", 1), 1);
  ASSERT_EQ(::write(p2.fd, "x", 1), 1);
  loop.runOnce(0);
  EXPECT_EQ(h1.events + h2.events, 1);
  h1.stream.close(loop, &h1);
  h2.stream.close(loop, &h2);
}

// A transport that flips every byte: proves reads and writes go through it.
struct FlipTransport final : Transport {
  int calls = 0;
  IoResult read(Stream& s, char* buf, std::size_t len) override {
    ++calls;
    ssize_t n = ::read(s.fd(), buf, len);
    if (n <= 0) return {n == 0 ? IoResult::Kind::kEof : IoResult::Kind::kBlocked};
    for (ssize_t i = 0; i < n; ++i) buf[i] = static_cast<char>(~buf[i]);
    return {IoResult::Kind::kDone, std::size_t(n)};
  }
  IoResult writev(Stream& s, const iovec* iov, int count) override {
    ++calls;
    std::string out;
    for (int i = 0; i < count; ++i) out.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
    for (char& c : out) c = static_cast<char>(~c);
    ssize_t n = ::write(s.fd(), out.data(), out.size());
    return {IoResult::Kind::kDone, std::size_t(n)};
  }
  IoResult sendFile(Stream&, int, std::uint64_t, std::size_t) override {
    ++calls;
    IoResult r{IoResult::Kind::kFailed};
    r.err = EOPNOTSUPP;
    return r;
  }
  void shutdownWrite(Stream& s) override {
    ++calls;
    ::shutdown(s.fd(), SHUT_WR);
  }
  bool quiet(const Stream&) noexcept override {
    ++calls;
    return true;
  }
};

TEST_P(StreamTest, TransportSeamCarriesEveryOperation) {
  Handler h;
  FlipTransport flip;
  Fd peer = openPair(h);
  h.stream.setTransport(&flip);
  std::size_t sent = 0;
  ASSERT_TRUE(h.stream.writeAll("ab", &sent).done());
  char raw[2];
  ASSERT_EQ(::read(peer.fd, raw, 2), 2);
  EXPECT_EQ(raw[0], static_cast<char>(~'a'));
  ASSERT_EQ(::write(peer.fd, raw, 2), 2);
  char buf[8];
  IoResult r = h.stream.read(buf, sizeof buf);
  ASSERT_EQ(r.kind, Kind::kDone);
  EXPECT_EQ(std::string(buf, r.bytes), "ab");
  EXPECT_EQ(h.stream.sendFile(0, 0, 1).err, EOPNOTSUPP);
  ASSERT_EQ(::write(peer.fd, "x", 1), 1);  // a raw peek would see this byte...
  EXPECT_TRUE(h.stream.quietAndOpen());    // ...the transport's answer counts
  h.stream.shutdownWrite();
  EXPECT_EQ(flip.calls, 5);
  h.stream.close(loop, &h);
}

// io_uring holds a reference to every socket it polls: a close() that did not
// cancel the poll would leave the socket open (the peer would never see EOF).
TEST_P(StreamTest, CloseReleasesTheSocketAtOnce) {
  Handler h;
  Fd peer = openPair(h);
  loop.runOnce(0);  // registered in the kernel
  h.stream.close(loop, &h);
  char byte;
  EXPECT_EQ(::read(peer.fd, &byte, 1), 0) << "the peer sees our FIN";
}

INSTANTIATE_TEST_SUITE_P(Backends, StreamTest, testing::kBackends, testing::backendName);

}  // namespace
}  // namespace tether::net
