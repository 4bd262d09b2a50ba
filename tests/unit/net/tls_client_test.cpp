// TlsOrigin over loopback pairs against the self-signed server context: SNI
// only for names, name and address checks, the refusals a user meets (wrong
// name, unknown CA, expired), session resumption (TLS 1.3 tickets used once,
// TLS 1.2 sessions again), and the pre-reuse check through TLS.
#include "tether/net/tls_client.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <ctime>
#include <string>

#include "tls_test_util.h"

namespace tether::net {
namespace {

using testing::TlsEnd;
using Failure = TlsTransport::Failure;

const std::string& caFile() { return testing::selfSignedCaFile(); }

struct Conn {
  std::unique_ptr<TlsEnd> client, server;
};

Conn connect(TlsOrigin& origin) {
  auto [c, s] = testing::tcpPair();
  return {std::make_unique<TlsEnd>(origin.start(c), c),
          std::make_unique<TlsEnd>(testing::selfSignedServer(), s)};
}

// A full exchange that lets the client read what the server sent after its
// handshake (TLS 1.3 tickets), then an orderly close both ways.
void exchangeAndClose(Conn& conn) {
  ASSERT_TRUE(conn.server->write("x"));
  std::string got;
  testing::tlsReadUntil(*conn.client, got, 1);
  EXPECT_EQ(got, "x");
  conn.client->tls->closeNotify();
  conn.server->tls->closeNotify();
}

class TlsOriginTest : public ::testing::Test {
 protected:
  std::unique_ptr<TlsContext> trusting = TlsContext::client({caFile(), true});

  // The client's failure after a handshake against `origin` that must fail.
  static std::string refusal(TlsOrigin& origin) {
    Conn conn = connect(origin);
    EXPECT_FALSE(testing::tlsHandshake(*conn.client, *conn.server));
    EXPECT_EQ(conn.client->tls->failure(), Failure::kVerify);
    return conn.client->tls->verifyError();
  }
};

TEST_F(TlsOriginTest, VerifiesNamesAndAddressesAndSendsSniOnlyForNames) {
  for (const char* host : {"localhost", "127.0.0.1", "::1"}) {
    SCOPED_TRACE(host);
    TlsOrigin origin(*trusting, host);
    Conn conn = connect(origin);
    ASSERT_TRUE(testing::tlsHandshake(*conn.client, *conn.server));
    const char* sni =
        SSL_get_servername(conn.server->tls->nativeHandle(), TLSEXT_NAMETYPE_host_name);
    if (origin.hostIsAddress()) {
      EXPECT_EQ(sni, nullptr) << "RFC 6066: no SNI for an address literal";
    } else {
      ASSERT_NE(sni, nullptr);
      EXPECT_STREQ(sni, host);
    }
    EXPECT_EQ(conn.client->tls->alpn(), "http/1.1");
    EXPECT_STRNE(conn.client->tls->cipher(), "-");
  }
}

TEST_F(TlsOriginTest, RefusesAWrongNameAWrongAddressAnUnknownCaAndAnExpiredCertificate) {
  TlsOrigin wrongName(*trusting, "example.test");
  EXPECT_EQ(refusal(wrongName), "hostname mismatch");
  TlsOrigin wrongAddress(*trusting, "10.1.2.3");
  EXPECT_EQ(refusal(wrongAddress), "IP address mismatch");

  auto systemStore = TlsContext::client({"", true});  // does not know our CA
  TlsOrigin unknownCa(*systemStore, "localhost");
  EXPECT_NE(refusal(unknownCa).find("self"), std::string::npos);

  // Thirty days from now the 7-day certificate has expired.
  auto later = TlsContext::client({caFile(), true});
  X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(later->native()), std::time(nullptr) + 30 * 86400);
  TlsOrigin expired(*later, "localhost");
  EXPECT_EQ(refusal(expired), "certificate has expired");

  auto insecure = TlsContext::client({"", false});
  TlsOrigin anything(*insecure, "example.test");
  Conn conn = connect(anything);
  EXPECT_TRUE(testing::tlsHandshake(*conn.client, *conn.server)) << "--insecure accepts";
}

TEST_F(TlsOriginTest, Tls13TicketsArriveAfterTheHandshakeAndAreUsedOnceButTheLast) {
  TlsOrigin origin(*trusting, "localhost");
  Conn first = connect(origin);
  ASSERT_TRUE(testing::tlsHandshake(*first.client, *first.server));
  exchangeAndClose(first);
  ASSERT_EQ(origin.cachedSessions(), 2u) << "OpenSSL servers send two tickets";

  Conn second = connect(origin);
  EXPECT_EQ(origin.cachedSessions(), 1u) << "the offered ticket left the cache";
  ASSERT_TRUE(testing::tlsHandshake(*second.client, *second.server));
  EXPECT_TRUE(second.client->tls->resumed());
  EXPECT_TRUE(second.server->tls->resumed());
  exchangeAndClose(second);
  EXPECT_GE(origin.sessionsReceived(), 3u) << "the resumed connection brought a new ticket";

  // The last ticket is offered again rather than paying a full handshake.
  TlsOrigin lastOnly(*trusting, "localhost");
  Conn one = connect(lastOnly);
  ASSERT_TRUE(testing::tlsHandshake(*one.client, *one.server));
  exchangeAndClose(one);
  while (lastOnly.cachedSessions() > 1) connect(lastOnly);  // spend all but one
  for (int i = 0; i < 2; ++i) {
    Conn again = connect(lastOnly);
    EXPECT_EQ(lastOnly.cachedSessions(), 1u);
    ASSERT_TRUE(testing::tlsHandshake(*again.client, *again.server));
    EXPECT_TRUE(again.server->tls->resumed());
    again.client->tls->closeNotify();
  }

  origin.mode().offerSession = false;  // what inspect does to time a full handshake
  Conn third = connect(origin);
  ASSERT_TRUE(testing::tlsHandshake(*third.client, *third.server));
  EXPECT_FALSE(third.server->tls->resumed());
}

TEST_F(TlsOriginTest, Tls12SessionIdIsOfferedAgainAndAgain) {
  TlsOrigin origin(*trusting, "localhost");
  origin.mode().maxVersion = TLS1_2_VERSION;
  origin.mode().tickets = false;  // the server's session cache, by ID
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    Conn conn = connect(origin);
    ASSERT_TRUE(testing::tlsHandshake(*conn.client, *conn.server));
    EXPECT_STREQ(conn.client->tls->version(), "TLSv1.2");
    EXPECT_EQ(conn.server->tls->resumed(), round > 0);
    exchangeAndClose(conn);
    EXPECT_EQ(origin.cachedSessions(), 1u);
  }
}

TEST_F(TlsOriginTest, PreReuseCheckAbsorbsTicketsButNotCloseNotifyOrStrayData) {
  TlsOrigin origin(*trusting, "localhost");
  Conn conn = connect(origin);
  ASSERT_TRUE(testing::tlsHandshake(*conn.client, *conn.server));
  int fd = conn.client->stream.fd();
  ASSERT_TRUE(testing::waitReadable(fd));
  char byte;
  ASSERT_EQ(::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT), 1)
      << "a ticket waits unread: a raw peek would call the connection dead";
  EXPECT_TRUE(conn.client->stream.quietAndOpen());
  EXPECT_GE(origin.cachedSessions(), 1u) << "the check took the ticket in";
  EXPECT_TRUE(conn.client->stream.quietAndOpen()) << "and stays true while nothing comes";

  ASSERT_TRUE(conn.server->write("stray"));
  ASSERT_TRUE(testing::waitReadable(fd));
  EXPECT_FALSE(conn.client->stream.quietAndOpen());

  Conn closing = connect(origin);
  ASSERT_TRUE(testing::tlsHandshake(*closing.client, *closing.server));
  closing.server->tls->closeNotify();  // close_notify without a FIN
  // A ticket may come first (each check takes what has arrived): bounded.
  bool quiet = true;
  for (int i = 0; i < 10 && quiet; ++i) {
    testing::waitReadable(closing.client->stream.fd());
    quiet = closing.client->stream.quietAndOpen();
  }
  EXPECT_FALSE(quiet);
}

}  // namespace
}  // namespace tether::net
