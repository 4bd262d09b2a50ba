// The pool over real loopback sockets, with a scripted server driven from the
// same loop: reuse decisions (the server's FIN is in the client's queue before the
// next request is issued, so the outcome does not depend on timing) and limits.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "loop_test_util.h"
#include "tether/http/pool.h"

namespace tether::http::client {
namespace {

constexpr const char* kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// Accepts and answers on a non-blocking listener, polled from the loop.
class ScriptedServer {
 public:
  explicit ScriptedServer(net::EventLoop& loop) : loop_(loop) {
    auto addr = net::parseSocketAddress("127.0.0.1:0");
    fd_ = net::listenTcp(*addr, 16, &addr_);
  }
  ~ScriptedServer() {
    for (int c : conns_) ::close(c);
    ::close(fd_);
  }
  const net::SocketAddress& address() const { return addr_; }

  /// Accepts the next connection, reads one request head, writes `response`.
  void serveNext(std::string response) {
    pollUntil([this, response, accepted = false]() mutable {
      if (!accepted) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK);
        if (c < 0) return false;
        conns_.push_back(c);
        accepted = true;
      }
      return tryAnswer(conns_.back(), response);
    });
  }
  /// Reads one more request on the last accepted connection and answers it.
  void serveAgain(std::string response) {
    int c = conns_.back();
    pollUntil([this, c, response] { return tryAnswer(c, response); });
  }
  /// The server closes its last connection (FIN) with an empty receive queue.
  void closeLast() {
    ::close(conns_.back());
    conns_.pop_back();
  }
  bool pendingConnection() const {
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK);
    if (c >= 0) ::close(c);
    return c >= 0;
  }
  int requestsRead() const { return requests_; }

 private:
  // Answers once a whole request head is buffered (the client writes from this
  // same loop, so waiting here would never end).
  bool tryAnswer(int c, const std::string& response) {
    char buf[4096];
    ssize_t n = ::recv(c, buf, sizeof buf, MSG_PEEK);
    if (n <= 0 || std::string_view(buf, static_cast<std::size_t>(n)).find("\r\n\r\n") ==
                      std::string_view::npos) {
      return false;
    }
    (void)::recv(c, buf, static_cast<std::size_t>(n), 0);
    ++requests_;
    EXPECT_EQ(::send(c, response.data(), response.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(response.size()));
    return true;
  }
  void pollUntil(std::function<bool()> step) { testing::pollUntil(loop_, std::move(step)); }

  net::EventLoop& loop_;
  int fd_ = -1;
  net::SocketAddress addr_;
  std::vector<int> conns_;
  int requests_ = 0;
};

class PoolReuseTest : public ::testing::Test {
 protected:
  void run() { ASSERT_TRUE(testing::runGuarded(loop_)) << "timed out"; }
  ClientRequest get() { return {"GET", "/", {}, ""}; }
  // A callback that keeps the result and ends run().
  std::function<void(ClientResult&&)> recordAndQuit() {
    return [this](ClientResult&& r) {
      results_.push_back(std::move(r));
      loop_.quit();
    };
  }

  // First request on a fresh connection; then the server closes it while idle
  // (its FIN is in the client's queue before anything else happens); then
  // `second` goes out on the same pool.
  void raceOnce(Pool& pool, ClientRequest second, bool serveRetry) {
    pool.request(get(), [this, &pool, second, serveRetry](ClientResult&& r) {
      results_.push_back(std::move(r));
      server_.closeLast();
      if (serveRetry) server_.serveNext(kOk);
      pool.request(second, [this](ClientResult&& r2) {
        results_.push_back(std::move(r2));
        loop_.quit();
      });
    });
    server_.serveNext(kOk);
  }

  net::EventLoop loop_;
  ScriptedServer server_{loop_};
  std::vector<ClientResult> results_;
};

TEST_F(PoolReuseTest, PreReuseCheckDiscardsAConnectionThePeerClosed) {
  PoolOptions o;
  o.watchIdle = false;  // leave the dead connection in the pool: the check must catch it
  Pool pool(loop_, server_.address(), "test", o);
  raceOnce(pool, get(), true);
  run();
  ASSERT_EQ(results_.size(), 2u);
  EXPECT_TRUE(results_[1].ok());
  EXPECT_EQ(results_[1].stats.attempts, 1);  // no retry: nothing was sent on the dead one
  EXPECT_FALSE(results_[1].stats.reused);
  EXPECT_EQ(pool.stats().staleBeforeReuse, 1u);
}

TEST_F(PoolReuseTest, IdleWatchClosesAConnectionAsSoonAsThePeerDoes) {
  Pool pool(loop_, server_.address(), "test", {});
  pool.request(get(), [&](ClientResult&& r) {
    results_.push_back(std::move(r));
    server_.closeLast();
    loop_.runAfter(1, [&] { loop_.quit(); });  // one iteration for the FIN event
  });
  server_.serveNext(kOk);
  run();
  EXPECT_EQ(pool.stats().peerClosedWhileIdle, 1u);
  EXPECT_EQ(pool.stats().idle, 0u);
}

TEST_F(PoolReuseTest, IdempotentRequestIsRetriedOnceOnAFreshConnection) {
  PoolOptions o;
  o.watchIdle = false;
  o.checkBeforeReuse = false;  // the request meets the closed socket, as if it crossed the FIN
  Pool pool(loop_, server_.address(), "test", o);
  raceOnce(pool, get(), true);
  run();
  ASSERT_EQ(results_.size(), 2u);
  const ClientResult& r = results_[1];
  ASSERT_TRUE(r.ok()) << errorKindName(r.error.kind);
  EXPECT_EQ(r.stats.attempts, 2);
  EXPECT_TRUE(r.stats.firstAttemptReused);
  EXPECT_FALSE(r.stats.reused);  // the retry ran on a new connection
  EXPECT_STRNE(r.stats.retryReason, "");
  EXPECT_EQ(pool.stats().retries, 1u);
  EXPECT_EQ(server_.requestsRead(), 2);  // the dead socket's copy never reached the app
}

TEST_F(PoolReuseTest, PostIsReportedNeverRetried) {
  PoolOptions o;
  o.watchIdle = false;
  o.checkBeforeReuse = false;
  Pool pool(loop_, server_.address(), "test", o);
  raceOnce(pool, {"POST", "/p", {}, "body"}, false);
  run();
  ASSERT_EQ(results_.size(), 2u);
  const ClientResult& r = results_[1];
  EXPECT_EQ(r.error.kind, ErrorKind::kConnectionClosedBeforeResponse);
  EXPECT_TRUE(r.error.requestSent);
  EXPECT_TRUE(r.error.maybeProcessed);
  EXPECT_EQ(r.stats.attempts, 1);
  EXPECT_STREQ(r.stats.noRetryReason, "not idempotent and may have been processed");
  EXPECT_EQ(pool.stats().retries, 0u);
  EXPECT_FALSE(server_.pendingConnection());  // no second connection was opened
}

TEST_F(PoolReuseTest, PostWithIdempotencyKeyIsRetried) {
  PoolOptions o;
  o.watchIdle = false;
  o.checkBeforeReuse = false;
  Pool pool(loop_, server_.address(), "test", o);
  raceOnce(pool, {"POST", "/p", {{"Idempotency-Key", "k"}}, "b"}, true);
  run();
  ASSERT_EQ(results_.size(), 2u);
  EXPECT_TRUE(results_[1].ok());
  EXPECT_EQ(results_[1].stats.attempts, 2);
}

TEST_F(PoolReuseTest, KeepAliveConnectionIsReusedLifo) {
  Pool pool(loop_, server_.address(), "test", {});
  pool.request(get(), [&](ClientResult&& r) {
    results_.push_back(std::move(r));
    server_.serveAgain(kOk);
    pool.request(get(), recordAndQuit());
  });
  server_.serveNext(kOk);
  run();
  ASSERT_EQ(results_.size(), 2u);
  EXPECT_TRUE(results_[1].ok());
  EXPECT_TRUE(results_[1].stats.reused);
  EXPECT_EQ(results_[1].stats.connectionId, results_[0].stats.connectionId);
  EXPECT_EQ(results_[1].stats.requestOnConnection, 2u);
  EXPECT_EQ(results_[1].response.body, "ok");
}

TEST_F(PoolReuseTest, ConnectionCloseResponseIsNotReused) {
  Pool pool(loop_, server_.address(), "test", {});
  pool.request(get(), recordAndQuit());
  server_.serveNext("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  run();
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_TRUE(results_[0].ok());
  EXPECT_EQ(pool.stats().notKept, 1u);
  EXPECT_EQ(pool.stats().idle, 0u);
}

TEST_F(PoolReuseTest, MaxRequestsPerConnectionClosesAfterTheLast) {
  PoolOptions o;
  o.maxRequestsPerConnection = 1;
  Pool pool(loop_, server_.address(), "test", o);
  pool.request(get(), recordAndQuit());
  server_.serveNext(kOk);
  run();
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_TRUE(results_[0].ok());
  EXPECT_EQ(pool.stats().notKept, 1u);
  EXPECT_EQ(pool.stats().open, 0u);
}

TEST_F(PoolReuseTest, SilentServerIsARequestTimeoutThatMayHaveBeenProcessed) {
  PoolOptions o;
  o.requestTimeout = 20;
  Pool pool(loop_, server_.address(), "test", o);
  pool.request(get(), [&](ClientResult&& r) {  // accepted by the kernel, never answered
    results_.push_back(std::move(r));
    loop_.quit();
  });
  run();
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].error.kind, ErrorKind::kRequestTimeout);
  EXPECT_TRUE(results_[0].error.requestSent);
  EXPECT_TRUE(results_[0].error.maybeProcessed);
  EXPECT_EQ(results_[0].stats.attempts, 1);  // a timeout is never retried
}

TEST_F(PoolReuseTest, RefusedConnectionAndInvalidRequestAreClearErrors) {
  net::SocketAddress closed = server_.address();
  int probe = net::listenTcp(*net::parseSocketAddress("127.0.0.1:0"), 1, &closed);
  ::close(probe);  // nothing listens on `closed` any more
  Pool pool(loop_, closed, "test", {});
  pool.request({"GET", "/bad target", {}, ""},
               [&](ClientResult&& r) { results_.push_back(std::move(r)); });
  ASSERT_EQ(results_.size(), 1u);  // invalid requests fail inside request()
  EXPECT_EQ(results_[0].error.kind, ErrorKind::kInvalidRequest);
  pool.request(get(), recordAndQuit());
  run();
  ASSERT_EQ(results_.size(), 2u);
  EXPECT_EQ(results_[1].error.kind, ErrorKind::kConnectFailed);
  EXPECT_EQ(results_[1].error.sysErrno, ECONNREFUSED);
  EXPECT_FALSE(results_[1].error.maybeProcessed);
}

// --- Pool limits, each against the same scripted server ---

TEST_F(PoolReuseTest, MaxConnectionsQueuesRequestsAndReusesTheOneConnection) {
  PoolOptions o;
  o.maxConnections = 1;
  Pool pool(loop_, server_.address(), "test", o);
  pool.request(get(), [&](ClientResult&& r) {
    results_.push_back(std::move(r));
    server_.serveAgain(kOk);  // the queued request comes on this connection
  });
  pool.request(get(), recordAndQuit());
  EXPECT_EQ(pool.stats().queued, 1u);
  server_.serveNext(kOk);
  run();
  ASSERT_EQ(results_.size(), 2u);
  EXPECT_TRUE(results_[1].ok());
  EXPECT_TRUE(results_[1].stats.reused);
  EXPECT_EQ(results_[1].stats.connectionId, results_[0].stats.connectionId);
  EXPECT_EQ(pool.stats().connectionsOpened, 1u);
  EXPECT_FALSE(server_.pendingConnection());
}

TEST_F(PoolReuseTest, MaxIdleClosesTheLeastRecentlyUsed) {
  PoolOptions o;
  o.maxIdle = 1;
  Pool pool(loop_, server_.address(), "test", o);
  PoolStats afterTwo;
  auto third = [&] {  // both connections are back in the pool by now
    afterTwo = pool.stats();
    pool.request(get(), recordAndQuit());
    server_.serveAgain(kOk);
  };
  auto done = [&](ClientResult&& r) {
    results_.push_back(std::move(r));
    if (results_.size() == 2) loop_.runAfter(1, third);
  };
  pool.request(get(), done);
  pool.request(get(), done);  // a second connection: the first is busy
  server_.serveNext(kOk);
  server_.serveNext(kOk);
  run();
  ASSERT_EQ(results_.size(), 3u);
  EXPECT_NE(results_[0].stats.connectionId, results_[1].stats.connectionId);
  EXPECT_EQ(afterTwo.connectionsOpened, 2u);
  EXPECT_EQ(afterTwo.idle, 1u);
  EXPECT_EQ(afterTwo.open, 1u);
  EXPECT_EQ(afterTwo.connectionsClosed, 1u);
  // The one kept is the most recently used (LIFO): the third request reuses it.
  EXPECT_TRUE(results_[2].stats.reused);
  EXPECT_EQ(results_[2].stats.connectionId, results_[1].stats.connectionId);
}

TEST_F(PoolReuseTest, ConnectTimeoutIsAnErrorThatWasNeverSent) {
  // A listener whose accept queue is full drops further SYNs: connect() hangs.
  net::SocketAddress full;
  int lfd = net::listenTcp(*net::parseSocketAddress("127.0.0.1:0"), 0, &full);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {  // more than the queue (backlog 0 admits one)
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    (void)::connect(c, full.raw(), full.length);
    fillers.push_back(c);
  }
  PoolOptions o;
  o.connectTimeout = 50;
  Pool pool(loop_, full, "test", o);
  pool.request(get(), recordAndQuit());
  run();
  for (int c : fillers) ::close(c);
  ::close(lfd);
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].error.kind, ErrorKind::kConnectTimeout);
  EXPECT_FALSE(results_[0].error.requestSent);
  EXPECT_FALSE(results_[0].error.maybeProcessed);
}

TEST_F(PoolReuseTest, ConnectionPastItsLifetimeIsNotReused) {
  PoolOptions o;
  o.maxLifetime = 30;
  o.lifetimeJitterPercent = 0;
  Pool pool(loop_, server_.address(), "test", o);
  pool.request(get(), [&](ClientResult&& r) {
    results_.push_back(std::move(r));
    loop_.runAfter(80, [&] {  // well past the 30 ms lifetime
      pool.request(get(), recordAndQuit());
      server_.serveNext(kOk);
    });
  });
  server_.serveNext(kOk);
  run();
  ASSERT_EQ(results_.size(), 2u);
  EXPECT_TRUE(results_[1].ok());
  EXPECT_FALSE(results_[1].stats.reused);
  EXPECT_NE(results_[1].stats.connectionId, results_[0].stats.connectionId);
  EXPECT_EQ(pool.stats().connectionsOpened, 2u);
}

}  // namespace
}  // namespace tether::http::client
