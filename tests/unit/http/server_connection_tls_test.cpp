// ServerConnection over TLS in virtual time: a Worker on a ManualClock with a
// TLS listener on loopback, a client TlsTransport on the other end, the loop
// run one iteration at a time. The handshake deadline, the header wait that
// starts after it, counters, and close_notify at a server-initiated close.
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "http/server_connection.h"
#include "http/worker.h"
#include "http/worker_test_util.h"
#include "tether/http/server.h"
#include "tether/net/tls.h"

namespace tether::http {
namespace {

using Kind = net::IoResult::Kind;
constexpr Millis kHandshake = 3'000, kHeader = 10'000, kKeepalive = 5'000, kGrace = 1'000;

ServerOptions tlsOptions() {
  ServerOptions o;
  o.workers = 1;
  o.maxConnections = 100;
  o.clientHeaderTimeout = kHeader;
  o.keepaliveTimeout = kKeepalive;
  o.keepaliveGrace = kGrace;
  o.keepaliveJitterPercent = 0;
  o.tlsListen = {true};
  o.tlsHandshakeTimeout = kHandshake;
  o.listen = {*net::parseSocketAddress("127.0.0.1:0")};
  return o;
}

std::unique_ptr<net::TlsContext> selfSigned() {
  net::TlsServerConfig c;
  c.selfSigned = true;
  return net::TlsContext::server(c);
}

std::vector<int> listener(net::SocketAddress* bound) {
  int fd = net::listenTcp(*net::parseSocketAddress("127.0.0.1:0"), 16, bound);
  EXPECT_GE(fd, 0);
  return {fd};
}

class ServerConnectionTlsTest : public ::testing::Test {
 protected:
  ServerConnectionTlsTest() {
    server.handle("/", [](const Request&, Response& res) { res.setBody("ok"); });
  }
  ~ServerConnectionTlsTest() override {
    tls.reset();
    if (fd >= 0) ::close(fd);
  }

  void connect() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(::connect(fd, bound.raw(), bound.length), 0);
    int on = 1;
    ioctl(fd, FIONBIO, &on);
    tls = std::make_unique<net::TlsTransport>(*clientCtx, fd);
    stream.adopt(fd);
    stream.setTransport(tls.get());
    worker.loop().runOnce(0);  // accept
  }
  // Client reads (driving its handshake) alternating with server iterations.
  net::IoResult pump(std::string* into = nullptr) {
    net::IoResult r;
    for (int i = 0; i < 20; ++i) {
      char buf[4096];
      r = stream.read(buf, sizeof buf);
      if (r.done() && into != nullptr) into->append(buf, r.bytes);
      if (r.kind == Kind::kEof || r.kind == Kind::kFailed) return r;
      worker.loop().runOnce(0);
    }
    return r;
  }
  void runAt(Millis at) {
    clock.set(kStart + at);
    worker.loop().runOnce(0);
  }
  std::uint64_t closes(CloseReason r) const { return testing::closeCount(worker, r); }
  std::uint64_t allCloses() const { return testing::allCloses(worker); }
  void expectCloseAt(Millis deadline, CloseReason reason) {
    runAt(deadline - 1);
    EXPECT_EQ(allCloses(), 0u) << "closed before " << deadline << " ms";
    runAt(deadline);
    EXPECT_EQ(closes(reason), 1u) << closeReasonName(reason) << " not counted at " << deadline;
  }

  static constexpr Millis kStart = 1'000'000;
  core::ManualClock clock{kStart};
  Server server{tlsOptions()};
  bool contextSet = [this] {
    server.setTlsContext(selfSigned());
    return true;
  }();
  net::SocketAddress bound;
  SharedCounters shared;
  Worker worker{server, listener(&bound), shared, -1, clock};
  std::unique_ptr<net::TlsContext> clientCtx = net::TlsContext::client({"", false});
  std::unique_ptr<net::TlsTransport> tls;
  net::Stream stream;
  int fd = -1;
};

TEST_F(ServerConnectionTlsTest, SilentClientClosesAtTheHandshakeTimeout) {
  connect();  // no ClientHello: the client never reads
  expectCloseAt(kHandshake, CloseReason::kTlsHandshakeTimeout);
}

TEST_F(ServerConnectionTlsTest, HeaderWaitStartsWhenTheHandshakeFinishes) {
  runAt(0);
  connect();
  runAt(2'000);
  pump();  // the handshake, at 2 s
  ASSERT_TRUE(tls->handshakeDone());
  EXPECT_EQ(worker.stats().tlsFull.load(), 1u);
  EXPECT_EQ(worker.stats().tls13.load(), 1u);
  expectCloseAt(2'000 + kHeader, CloseReason::kHeaderTimeout);
}

TEST_F(ServerConnectionTlsTest, IdleCloseSendsCloseNotifyBeforeTheFin) {
  connect();
  pump();
  std::size_t sent = 0;
  ASSERT_TRUE(stream.writeAll("GET / HTTP/1.1\r\nHost: t\r\n\r\n", &sent).done());
  std::string response;
  runAt(100);
  pump(&response);
  EXPECT_NE(response.find("\r\n\r\nok"), std::string::npos) << response;
  expectCloseAt(100 + kKeepalive + kGrace, CloseReason::kIdleTimeout);
  EXPECT_EQ(pump().kind, Kind::kEof);
  EXPECT_TRUE(tls->peerCloseNotify());
}

TEST_F(ServerConnectionTlsTest, ClientGoneMidHandshakeIsCountedAsAbandoned) {
  connect();
  const char partialHello[] = "\x16\x03\x01\x02\x00\x01";
  ASSERT_GT(::send(fd, partialHello, sizeof partialHello - 1, 0), 0);
  ::shutdown(fd, SHUT_WR);
  runAt(1);
  runAt(2);
  EXPECT_EQ(closes(CloseReason::kClientClosed), 1u);
  EXPECT_EQ(worker.stats().tlsAbandoned.load(), 1u);
}

}  // namespace
}  // namespace tether::http
