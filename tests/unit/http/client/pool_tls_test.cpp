// The pool over https: loopback sockets, a scripted TLS server driven from the
// same loop (the self-signed certificate, trusted through a CA file). Reuse and
// resumption across connections, a late TLS 1.3 ticket on an idle connection
// (not a close), close_notify on an idle connection (a close), and a refused
// certificate (one clear failure, never retried).
#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <openssl/ssl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../../net/tls_test_util.h"
#include "loop_test_util.h"
#include "tether/http/pool.h"
#include "tether/net/tls.h"

namespace tether::http::client {
namespace {

using net::testing::TlsEnd;

constexpr const char* kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// Accepts on a non-blocking listener and answers over TLS, polled from the loop.
class TlsScriptedServer {
 public:
  explicit TlsScriptedServer(net::EventLoop& loop) : loop_(loop) {
    auto addr = net::parseSocketAddress("127.0.0.1:0");
    fd_ = net::listenTcp(*addr, 16, &addr_);
  }
  ~TlsScriptedServer() { ::close(fd_); }
  const net::SocketAddress& address() const { return addr_; }
  std::string host() const { return "localhost:" + std::to_string(addr_.port()); }

  /// Accepts the next connection, runs its handshake, answers one request.
  void serveNext(std::string response) {
    pollUntil([this, response, accepted = false]() mutable {
      if (!accepted) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK);
        if (c < 0) return false;
        conns_.push_back(std::make_unique<TlsEnd>(net::testing::selfSignedServer(), c));
        accepted = true;
      }
      return tryAnswer(*conns_.back(), response);
    });
  }
  void serveAgain(std::string response) {
    pollUntil([this, response] { return tryAnswer(*conns_.back(), response); });
  }
  TlsEnd& last() { return *conns_.back(); }
  /// Calls `then` once everything the server sent was acknowledged by the client.
  void whenDelivered(std::function<void()> then) {
    pollUntil([this, then] {
      int queued = 0;
      ::ioctl(last().stream.fd(), SIOCOUTQ, &queued);
      if (queued > 0) return false;
      then();
      return true;
    });
  }

 private:
  // Reads (driving the handshake) until a request head is in; true when it
  // was answered, or when the connection failed (nothing more to do).
  bool tryAnswer(TlsEnd& c, const std::string& response) {
    std::string& in = buffered_;
    net::IoResult r = c.read(in);
    if (r.kind == net::IoResult::Kind::kFailed || r.kind == net::IoResult::Kind::kEof) return true;
    if (in.find("\r\n\r\n") == std::string::npos) return false;
    in.clear();
    EXPECT_TRUE(c.write(response));
    return true;
  }
  void pollUntil(std::function<bool()> step) { testing::pollUntil(loop_, std::move(step)); }

  net::EventLoop& loop_;
  int fd_ = -1;
  net::SocketAddress addr_;
  std::vector<std::unique_ptr<TlsEnd>> conns_;
  std::string buffered_;
};

class PoolTlsTest : public ::testing::Test {
 protected:
  PoolTlsTest() {
    options_.tls = ctx_.get();
    options_.keepAliveHintMargin = 0;
  }
  void run() { ASSERT_TRUE(testing::runGuarded(loop_)) << "timed out"; }
  ClientRequest get() { return {"GET", "/", {}, ""}; }
  Pool::Callback keep(std::function<void()> then) {
    return [this, then](ClientResult&& r) {
      results_.push_back(std::move(r));
      then();
    };
  }
  Pool::Callback keepAndQuit() {
    return keep([this] { loop_.quit(); });
  }

  std::unique_ptr<net::TlsContext> ctx_ =
      net::TlsContext::client({net::testing::selfSignedCaFile(), true});
  PoolOptions options_;
  net::EventLoop loop_;
  TlsScriptedServer server_{loop_};
  std::vector<ClientResult> results_;
};

TEST_F(PoolTlsTest, ReusesTheConnectionThenResumesTheSessionOnANewOne) {
  Pool pool(loop_, server_.address(), server_.host(), options_);
  pool.request(get(), keep([&] {
                 pool.request(get(), keep([&] {
                                pool.closeIdle();  // sends close_notify, keeps the tickets
                                pool.request(get(), keepAndQuit());
                                server_.serveNext(kOk);
                              }));
                 server_.serveAgain(kOk);
               }));
  server_.serveNext(kOk);
  run();
  ASSERT_EQ(results_.size(), 3u);
  for (const ClientResult& r : results_) ASSERT_TRUE(r.ok()) << r.error.detail;
  EXPECT_GE(results_[0].stats.tlsHandshakeUs, 0);
  EXPECT_FALSE(results_[0].stats.tlsResumed);
  EXPECT_TRUE(results_[1].stats.reused);
  EXPECT_EQ(results_[1].stats.tlsHandshakeUs, -1) << "no handshake on a reused connection";
  EXPECT_FALSE(results_[2].stats.reused);
  EXPECT_TRUE(results_[2].stats.tlsResumed);
  PoolStats s = pool.stats();
  EXPECT_EQ(s.tlsFullHandshakes, 1u);
  EXPECT_EQ(s.tlsResumedHandshakes, 1u);
  EXPECT_EQ(s.connectionsOpened, 2u);
}

TEST_F(PoolTlsTest, ALateTicketOnAnIdleConnectionIsNotAClose) {
  Pool pool(loop_, server_.address(), server_.host(), options_);
  pool.request(get(), keep([&] {
                 // A ticket sent while the connection is idle: readable, but no close.
                 ASSERT_EQ(SSL_new_session_ticket(server_.last().tls->nativeHandle()), 1);
                 ASSERT_EQ(SSL_do_handshake(server_.last().tls->nativeHandle()), 1);
                 server_.whenDelivered([&] {
                   loop_.runAfter(5, [&] {  // the client's loop has seen the edge
                     pool.request(get(), keepAndQuit());
                     server_.serveAgain(kOk);
                   });
                 });
               }));
  server_.serveNext(kOk);
  run();
  ASSERT_EQ(results_.size(), 2u);
  ASSERT_TRUE(results_[1].ok()) << results_[1].error.detail;
  EXPECT_TRUE(results_[1].stats.reused);
  EXPECT_EQ(pool.stats().peerClosedWhileIdle, 0u);
  EXPECT_EQ(pool.stats().staleBeforeReuse, 0u);
}

TEST_F(PoolTlsTest, CloseNotifyOnAnIdleConnectionClosesItAtOnce) {
  Pool pool(loop_, server_.address(), server_.host(), options_);
  pool.request(get(), keep([&] {
                 server_.last().tls->closeNotify();  // no FIN: only TLS says it is over
                 server_.whenDelivered([&] { loop_.runAfter(5, [&] { loop_.quit(); }); });
               }));
  server_.serveNext(kOk);
  run();
  EXPECT_EQ(pool.stats().peerClosedWhileIdle, 1u);
  EXPECT_EQ(pool.stats().idle, 0u);
}

TEST_F(PoolTlsTest, ARefusedCertificateFailsOnceWithItsReason) {
  options_.serverName = "example.test";  // the certificate is for localhost
  Pool pool(loop_, server_.address(), server_.host(), options_);
  pool.request(get(), keepAndQuit());
  server_.serveNext(kOk);
  run();
  ASSERT_EQ(results_.size(), 1u);
  const ClientResult& r = results_[0];
  EXPECT_EQ(r.error.kind, ErrorKind::kTlsVerifyFailed);
  EXPECT_STREQ(r.error.detail, "hostname mismatch");
  EXPECT_FALSE(r.error.requestSent);
  EXPECT_EQ(r.stats.attempts, 1);
  EXPECT_EQ(pool.stats().retries, 0u);
}

}  // namespace
}  // namespace tether::http::client
