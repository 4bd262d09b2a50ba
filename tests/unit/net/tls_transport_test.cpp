// TlsTransport over socket pairs: a server transport under a Stream against a
// client transport on the other end, both driven by hand (no loop, no sleeps).
// Handshake, versions, ALPN, close_notify both ways, a missing close_notify,
// garbage and plain HTTP, resumption, partial writes and sendFile.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "tls_test_util.h"

namespace tether::net {
namespace {

using testing::Fd;
using Kind = IoResult::Kind;
using Failure = TlsTransport::Failure;

const TlsContext& serverContext() { return testing::selfSignedServer(); }

std::unique_ptr<TlsContext> clientContext() {
  TlsClientConfig c;
  c.verify = false;
  return TlsContext::client(c);
}

using End = testing::TlsEnd;

class TlsTransportTest : public ::testing::Test {
 protected:
  std::unique_ptr<TlsContext> clientCtx = clientContext();

  // A TCP pair: AF_UNIX would do for TLS, but loopback TCP is what serves.
  std::pair<std::unique_ptr<End>, std::unique_ptr<End>> pair() {
    auto [c, s] = testing::tcpPair();
    return {std::make_unique<End>(*clientCtx, c), std::make_unique<End>(serverContext(), s)};
  }

  static bool handshake(End& client, End& server) { return testing::tlsHandshake(client, server); }
  static IoResult readUntil(End& e, std::string& into, std::size_t want) {
    return testing::tlsReadUntil(e, into, want);
  }
};

TEST_F(TlsTransportTest, HandshakeThenRequestAndResponseBothWays) {
  auto [client, server] = pair();
  ASSERT_TRUE(handshake(*client, *server));
  EXPECT_STREQ(server->tls->version(), "TLSv1.3");
  EXPECT_FALSE(server->tls->resumed());
  ASSERT_TRUE(client->write("GET / HTTP/1.1\r\n\r\n"));
  std::string got;
  readUntil(*server, got, 18);
  EXPECT_EQ(got, "GET / HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(server->write("HTTP/1.1 204 No Content\r\n\r\n"));
  std::string back;
  readUntil(*client, back, 27);
  EXPECT_EQ(back, "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST_F(TlsTransportTest, Tls12ClientIsServed) {
  SSL_CTX_set_max_proto_version(clientCtx->native(), TLS1_2_VERSION);
  auto [client, server] = pair();
  ASSERT_TRUE(handshake(*client, *server));
  EXPECT_STREQ(server->tls->version(), "TLSv1.2");
}

TEST_F(TlsTransportTest, Tls11ClientIsRefused) {
  SSL_CTX_set_min_proto_version(clientCtx->native(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(clientCtx->native(), TLS1_1_VERSION);
  SSL_CTX_set_security_level(clientCtx->native(), 0);
  auto [client, server] = pair();
  EXPECT_FALSE(handshake(*client, *server));
  EXPECT_EQ(server->tls->failure(), Failure::kAlert);
}

TEST_F(TlsTransportTest, H2OnlyClientGetsAnAlertAndNoAlpnIsServed) {
  static const unsigned char kH2[] = "\x02h2";
  SSL_CTX_set_alpn_protos(clientCtx->native(), kH2, 3);
  {
    auto [client, server] = pair();
    EXPECT_FALSE(handshake(*client, *server));
    EXPECT_EQ(server->tls->failure(), Failure::kAlert);
  }
  SSL_CTX_set_alpn_protos(clientCtx->native(), nullptr, 0);  // no ALPN at all
  auto [client, server] = pair();
  EXPECT_TRUE(handshake(*client, *server));
}

TEST_F(TlsTransportTest, ServerCloseNotifyReachesTheClientBeforeEof) {
  auto [client, server] = pair();
  ASSERT_TRUE(handshake(*client, *server));
  server->stream.shutdownWrite();  // close_notify, then FIN
  std::string got;
  IoResult r = readUntil(*client, got, 1);
  EXPECT_EQ(r.kind, Kind::kEof);
  EXPECT_TRUE(client->tls->peerCloseNotify());
}

TEST_F(TlsTransportTest, ClientEofWithoutCloseNotifyIsAnOrdinaryEof) {
  auto [client, server] = pair();
  ASSERT_TRUE(handshake(*client, *server));
  ::shutdown(client->stream.fd(), SHUT_WR);  // a bare FIN
  std::string got;
  IoResult r = readUntil(*server, got, 1);
  EXPECT_EQ(r.kind, Kind::kEof);
  EXPECT_FALSE(server->tls->peerCloseNotify());
  EXPECT_EQ(server->tls->failure(), Failure::kNone);
}

TEST_F(TlsTransportTest, CloseNotifyIsNotSentBeforeTheHandshake) {
  auto [client, server] = pair();
  server->tls->closeNotify();  // nothing to say yet: no bytes may go out
  char byte;
  EXPECT_LT(::recv(client->stream.fd(), &byte, 1, MSG_DONTWAIT), 0);
}

TEST_F(TlsTransportTest, BytesAndEofInOneReadKeepTheEofForTheNextRead) {
  auto [client, server] = pair();
  ASSERT_TRUE(handshake(*client, *server));
  ASSERT_TRUE(client->write("last words"));
  client->tls->closeNotify();
  std::string got;
  IoResult r;
  for (int i = 0; i < 100 && got.empty(); ++i) {
    server->stream.setReadReady();  // as an edge would
    r = server->read(got);
  }
  EXPECT_EQ(got, "last words");
  EXPECT_TRUE(r.more);                      // the stream must read again without an edge
  EXPECT_TRUE(server->stream.readReady());  // so this short read did not clear it
  EXPECT_EQ(server->read(got).kind, Kind::kEof);
}

// What the server's transport makes of `bytes` sent by a client that is not TLS.
Failure failureAfter(std::string_view bytes) {
  auto [c, s] = testing::tcpPair();
  Fd client(c);
  End server(serverContext(), s);
  EXPECT_GT(::send(c, bytes.data(), bytes.size(), 0), 0);
  IoResult r;
  std::string got;
  for (int i = 0; i < 1000 && r.kind != Kind::kFailed && r.kind != Kind::kEof; ++i) {
    r = server.read(got);
  }
  EXPECT_EQ(r.kind, Kind::kFailed);
  return server.tls->failure();
}

TEST_F(TlsTransportTest, GarbageRecordsFailAsProtocolErrors) {
  // A ClientHello of 5 bytes: its 32-byte random is cut short.
  std::string garbage("\x16\x03\x01\x00\x09\x01\x00\x00\x05\x03\x03\x00\x00\x00", 14);
  EXPECT_EQ(failureAfter(garbage), Failure::kProtocol);
}

TEST_F(TlsTransportTest, PlainHttpIsRecognized) {
  EXPECT_EQ(failureAfter("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Failure::kNotTls);
}

TEST_F(TlsTransportTest, ClientGoneMidHandshakeIsAnEof) {
  auto [c, s] = testing::tcpPair();
  End server(serverContext(), s);
  const char partialHello[] = "\x16\x03\x01\x02\x00\x01";  // a ClientHello cut short
  ASSERT_GT(::send(c, partialHello, sizeof partialHello - 1, 0), 0);
  ::close(c);
  std::string got;
  IoResult r = readUntil(server, got, 1);
  EXPECT_EQ(r.kind, Kind::kEof);
  EXPECT_FALSE(server.tls->handshakeDone());
}

TEST_F(TlsTransportTest, SessionResumesWithATicketAndWithTheCache) {
  for (bool tickets : {true, false}) {
    SCOPED_TRACE(tickets ? "ticket" : "session cache");
    auto ctx = clientContext();
    SSL_CTX_set_max_proto_version(ctx->native(), TLS1_2_VERSION);
    if (!tickets) SSL_CTX_set_options(ctx->native(), SSL_OP_NO_TICKET);
    SSL_SESSION* session = nullptr;
    for (int round = 0; round < 2; ++round) {
      auto [c, s] = testing::tcpPair();
      End client(*ctx, c), server(serverContext(), s);
      if (session != nullptr) SSL_set_session(client.tls->nativeHandle(), session);
      ASSERT_TRUE(handshake(client, server));
      EXPECT_EQ(server.tls->resumed(), round == 1);
      if (session == nullptr) session = SSL_get1_session(client.tls->nativeHandle());
      // Without close_notify OpenSSL marks the session not resumable (a truncated session).
      client.tls->closeNotify();
      server.tls->closeNotify();
    }
    SSL_SESSION_free(session);
  }
}

TEST_F(TlsTransportTest, BlockedWritesResumeAndSendFileSendsAWholeFile) {
  auto [client, server] = pair();
  ASSERT_TRUE(handshake(*client, *server));
  int small = 4096;  // loopback buffers are megabytes: shrink them so the socket fills
  setsockopt(server->stream.fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::string body(4 * 1024 * 1024, 'x');  // beyond what the client's socket holds
  for (std::size_t i = 0; i < body.size(); i += 7) body[i] = static_cast<char>('a' + i % 26);
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fwrite(body.data(), 1, body.size(), f), body.size());
  std::fflush(f);
  std::uint64_t offset = 0;
  std::string got;
  bool blocked = false;
  for (int i = 0; i < 100000 && offset < body.size(); ++i) {
    IoResult r = server->stream.sendFile(fileno(f), offset, body.size() - offset);
    if (r.kind == Kind::kBlocked) {
      blocked = true;
      client->read(got);  // make room
      continue;
    }
    ASSERT_EQ(r.kind, Kind::kDone);
    offset += r.bytes;
  }
  std::fclose(f);
  readUntil(*client, got, body.size());
  EXPECT_TRUE(blocked);  // the socket filled at least once: retries were exercised
  ASSERT_EQ(got.size(), body.size());
  EXPECT_TRUE(got == body) << "first difference at "
                           << std::mismatch(got.begin(), got.end(), body.begin()).first -
                                  got.begin();
}

}  // namespace
}  // namespace tether::net
