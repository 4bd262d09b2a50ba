// A server's TlsTransport over the io_uring loop's transport: its records go
// out as ring sends (not in the socket until the loop's next wait) and come
// in through the ring's receive queue, and the FIN after close_notify waits
// for the records before it. The client end is a plain socket TlsTransport,
// driven by hand. Deterministic: loopback, runOnce(0), bounded polls.
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "io_uring_test_util.h"
#include "tether/net/socket.h"
#include "tls_test_util.h"

namespace tether::net {
namespace {

using Kind = IoResult::Kind;
using End = testing::TlsEnd;

struct Handler final : IoHandler {
  Stream stream;
  void onIoEvents(std::uint32_t e) override { stream.onEvents(e); }
};

// Nothing to read on `fd` right now (a non-blocking peek).
bool nothingYet(int fd) {
  char b;
  return ::recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

class TlsOverRingTest : public ::testing::Test {
 protected:
  TlsOverRingTest() { loop = testing::ioUringLoop(clock, &refused); }
  void SetUp() override {
    TETHER_SKIP_IF_REFUSED(refused);
    if (loop->receiveTransport() == nullptr) GTEST_SKIP() << "no buffer rings (kernel < 5.19)";
    TlsClientConfig c;
    c.verify = false;
    clientCtx = TlsContext::client(c);
    auto [clientFd, serverFd] = testing::tcpPair();
    // As the server's acceptor does: without it Nagle holds a small record
    // back whatever path it takes, and "not sent yet" would prove nothing.
    ASSERT_TRUE(setNoDelay(serverFd));
    client = std::make_unique<End>(*clientCtx, clientFd);
    server.stream.open(*loop, serverFd, &server, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
    ASSERT_NE(server.stream.loopTransport(), nullptr);
    tls = std::make_unique<TlsTransport>(testing::selfSignedServer(), server.stream);
    server.stream.setTransport(tls.get());
  }
  void TearDown() override {
    if (server.stream.isOpen()) {
      server.stream.setTransport(nullptr);
      server.stream.close(*loop, &server);
    }
  }

  // The server's reads and the loop's waits, alternated with the client's.
  bool handshake() {
    std::string ignored;
    for (int i = 0; i < 200; ++i) {
      if (client->tls->handshakeDone() && tls->handshakeDone()) return true;
      if (client->read(ignored).kind == Kind::kFailed) return false;
      if (serverRead(ignored).kind == Kind::kFailed) return false;
      loop->runOnce(10);
    }
    return false;
  }
  IoResult serverRead(std::string& into) {
    char buf[4096];
    IoResult r = server.stream.read(buf, sizeof buf);
    if (r.done()) into.append(buf, r.bytes);
    return r;
  }
  // The client reads (bounded) until `want` bytes or an end.
  IoResult clientReads(std::string& into, std::size_t want) {
    IoResult r;
    for (int i = 0; i < 200 && into.size() < want; ++i) {
      if (!testing::waitReadable(client->stream.fd())) break;
      r = client->read(into);
      if (r.kind == Kind::kEof || r.kind == Kind::kFailed) return r;
    }
    return r;
  }

  core::ManualClock clock;
  std::string refused;
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<TlsContext> clientCtx;
  std::unique_ptr<End> client;
  Handler server;
  std::unique_ptr<TlsTransport> tls;
};

TEST_F(TlsOverRingTest, RecordsGoOutWithTheLoopsWaitAndComeInThroughItsQueue) {
  ASSERT_TRUE(handshake());
  loop->runOnce(0);  // the handshake's last records out: TLS 1.3 tickets
  std::string ignored;
  ASSERT_TRUE(testing::waitReadable(client->stream.fd()));
  while (client->read(ignored).done()) {
  }
  ASSERT_TRUE(nothingYet(client->stream.fd()));

  std::size_t sent = 0;
  ASSERT_EQ(server.stream.writeAll("hello over the ring", &sent).kind, Kind::kDone);
  EXPECT_TRUE(nothingYet(client->stream.fd())) << "a send() call: the record went out at once";
  loop->runOnce(0);
  std::string got;
  clientReads(got, 19);
  EXPECT_EQ(got, "hello over the ring");

  // The other way, many records, the last ones through the ring's receive.
  std::string request;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(client->write("request " + std::to_string(i) + "\n"));
    request += "request " + std::to_string(i) + "\n";
  }
  std::string in;
  for (int i = 0; i < 200 && in.size() < request.size(); ++i) {
    loop->runOnce(10);
    while (serverRead(in).done()) {
    }
  }
  EXPECT_EQ(in, request);
}

// close_notify and the FIN right after a response, with no wait between: the
// FIN must not overtake the records the loop still holds.
TEST_F(TlsOverRingTest, TheFinFollowsTheResponseAndTheCloseNotify) {
  ASSERT_TRUE(handshake());
  std::string response(3000, 'r');
  std::size_t sent = 0;
  ASSERT_EQ(server.stream.writeAll(response, &sent).kind, Kind::kDone);
  server.stream.shutdownWrite();
  loop->runOnce(0);
  std::string got;
  IoResult end = clientReads(got, response.size() + 1);
  EXPECT_EQ(got.size(), response.size());
  EXPECT_EQ(end.kind, Kind::kEof);
  EXPECT_TRUE(client->tls->peerCloseNotify()) << "the FIN came before the close_notify";
}

// A reset the ring took is the server's next read's error, as recv() would
// have said it.
TEST_F(TlsOverRingTest, AClientResetIsAFailedRead) {
  ASSERT_TRUE(handshake());
  std::string ignored;
  for (int i = 0; i < 5; ++i) {  // drain: the ring receives from here on
    loop->runOnce(0);
    serverRead(ignored);
  }
  setLingerReset(client->stream.fd());
  ::close(client->stream.fd());
  client->stream.adopt(-1);
  IoResult r;
  for (int i = 0; i < 100; ++i) {
    loop->runOnce(10);
    r = serverRead(ignored);
    if (r.kind != Kind::kBlocked) break;
  }
  ASSERT_EQ(r.kind, Kind::kFailed);
  EXPECT_EQ(r.err, ECONNRESET);
}

}  // namespace
}  // namespace tether::net
