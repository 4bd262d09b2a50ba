// Eviction at --max-connections in virtual time: a Worker on a ManualClock, connections
// handed in over socket pairs as the acceptor would. At the limit the connection that has
// waited longest for its client's request head makes way: an idle keep-alive connection or a
// head still trickling in (slowloris) alike, counted from when the wait began; a connection
// whose head is complete never does, nor one whose client has sent bytes not read yet, and
// with nothing to spare the newcomer is refused.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "http/server_connection.h"
#include "http/worker.h"
#include "tether/http/response.h"
#include "tether/http/server.h"

namespace tether::http {
namespace {

constexpr std::uint64_t kLimit = 3;

ServerOptions testOptions() {
  ServerOptions o;
  o.workers = 1;
  o.maxConnections = kLimit;
  o.keepaliveJitterPercent = 0;
  return o;
}

class WorkerEvictionTest : public ::testing::Test {
 protected:
  WorkerEvictionTest() {
    server.handle("/", [](const Request&, Response& res) { res.setBody("ok"); });
    server.handle("/slow",
                  [this](const Request&, Response& res) { deferred.push_back(res.defer()); });
  }
  ~WorkerEvictionTest() override {
    for (int fd : peers) ::close(fd);
  }

  // A new connection at virtual time `at`; returns its index in `peers`.
  std::size_t connectAt(Millis at) {
    runAt(at);
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    peers.push_back(sv[1]);
    static_cast<net::Acceptor::Owner&>(worker).onAccepted(sv[0]);
    worker.loop().runOnce(0);
    return peers.size() - 1;
  }
  void send(std::size_t i, std::string_view bytes) {
    ASSERT_EQ(::write(peers[i], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    worker.loop().runOnce(0);
  }
  void runAt(Millis at) {
    clock.set(kStart + at);
    worker.loop().runOnce(0);
  }
  // Reads what is there; true when the server has closed this peer's connection.
  bool closed(std::size_t i) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(peers[i], buf, sizeof buf)) > 0) {
    }
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
  // What the server has sent this peer so far (empty when nothing arrived).
  std::string reply(std::size_t i) {
    worker.loop().runOnce(0);  // on io_uring, writes reach the socket at the next wait
    char buf[4096];
    std::string out;
    ssize_t n;
    while ((n = ::read(peers[i], buf, sizeof buf)) > 0)
      out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
  std::uint64_t evictions() const {
    return worker.stats().closes[static_cast<std::size_t>(CloseReason::kEviction)].load();
  }
  std::uint64_t live() const { return shared.live.load(); }

  static constexpr Millis kStart = 1'000'000;
  static constexpr const char* kGet = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
  core::ManualClock clock{kStart};
  Server server{testOptions()};
  SharedCounters shared;
  Worker worker{server, {}, shared, -1, clock};
  std::vector<int> peers;
  std::vector<DeferredResponse> deferred;
};

TEST_F(WorkerEvictionTest, OldestIdleKeepAliveConnectionMakesWay) {
  for (Millis t : {0, 10, 20}) send(connectAt(t), kGet);  // three served, now idle
  std::size_t fresh = connectAt(30);
  EXPECT_EQ(evictions(), 1u);
  EXPECT_TRUE(closed(0)) << "the connection idle since 0 ms goes first";
  EXPECT_FALSE(closed(1));
  EXPECT_FALSE(closed(2));
  EXPECT_FALSE(closed(fresh));
  EXPECT_EQ(live(), kLimit);
}

TEST_F(WorkerEvictionTest, TricklingHeadRanksByWhenItsWaitBegan) {
  std::size_t slow = connectAt(0);
  send(slow, "GET / HTTP/1.1\r\nHo");  // a head still arriving, byte by byte
  std::size_t busy = connectAt(10);
  send(busy, kGet);
  runAt(500);
  send(slow, "st: t\r\nX-A: ");  // fresh bytes do not make its wait younger
  send(busy, kGet);              // idle again since 500 ms: the newer wait
  std::size_t other = connectAt(600);
  send(other, kGet);
  std::size_t fresh = connectAt(700);
  EXPECT_EQ(evictions(), 1u);
  EXPECT_TRUE(closed(slow)) << "waiting since 0 ms: longer than the idle ones";
  EXPECT_FALSE(closed(busy));
  EXPECT_FALSE(closed(other));
  EXPECT_FALSE(closed(fresh));
}

TEST_F(WorkerEvictionTest, FreshSilentConnectionWaitsFromItsAccept) {
  std::size_t silent = connectAt(0);  // never sends a byte
  std::size_t a = connectAt(100);
  send(a, kGet);
  std::size_t b = connectAt(200);
  send(b, kGet);
  connectAt(300);
  EXPECT_TRUE(closed(silent));
  EXPECT_FALSE(closed(a));
  EXPECT_FALSE(closed(b));
}

TEST_F(WorkerEvictionTest, PipelinedPartialHeadJoinsTheListWhenItStarts) {
  std::size_t early = connectAt(0);
  send(early, kGet);  // idle since 0 ms
  std::size_t piped = connectAt(100);
  runAt(200);
  send(piped, std::string(kGet) + "GET / HT");  // a full request, then a head that stalls
  std::size_t c = connectAt(300);
  send(c, kGet);
  connectAt(400);
  EXPECT_TRUE(closed(early)) << "idle since 0 ms";
  connectAt(500);
  EXPECT_EQ(evictions(), 2u);
  EXPECT_TRUE(closed(piped)) << "its second head has waited since 200 ms";
  EXPECT_FALSE(closed(c));
}

TEST_F(WorkerEvictionTest, RequestInProgressNeverMakesWayAndTheNewcomerIsRefused) {
  for (Millis t : {0, 10, 20}) send(connectAt(t), "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_EQ(deferred.size(), kLimit);
  std::size_t refused = connectAt(30);
  EXPECT_EQ(evictions(), 0u);
  EXPECT_TRUE(closed(refused)) << "nothing waits on its client: the new connection is closed";
  for (std::size_t i = 0; i < kLimit; ++i) EXPECT_FALSE(closed(i)) << i;
  EXPECT_EQ(live(), kLimit);
}

TEST_F(WorkerEvictionTest, ConnectionWithUnreadRequestIsNoVictimSoTheNewcomerIsRefused) {
  // A burst: accepted back to back, each request already in its socket, none read yet.
  std::vector<std::size_t> burst;
  for (std::size_t i = 0; i <= kLimit; ++i) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    peers.push_back(sv[1]);
    ASSERT_EQ(::write(sv[1], kGet, std::strlen(kGet)), static_cast<ssize_t>(std::strlen(kGet)));
    static_cast<net::Acceptor::Owner&>(worker).onAccepted(sv[0]);
    burst.push_back(peers.size() - 1);
  }
  worker.loop().runOnce(0);
  EXPECT_EQ(evictions(), 0u);
  for (std::size_t i = 0; i < kLimit; ++i) {
    EXPECT_EQ(reply(burst[i]).substr(0, 15), "HTTP/1.1 200 OK") << i;
  }
  EXPECT_TRUE(closed(burst[kLimit])) << "the newcomer is refused, not an earlier client";
}

TEST_F(WorkerEvictionTest, OutOfDescriptorsLooksPastConnectionsWithUnreadInput) {
  std::size_t early = connectAt(0);  // waiting since 0 ms, nothing sent yet
  std::size_t idle = connectAt(10);
  send(idle, kGet);  // served, idle since 10 ms
  // The early client's request arrives; its event is not handled yet.
  ASSERT_EQ(::write(peers[early], kGet, std::strlen(kGet)),
            static_cast<ssize_t>(std::strlen(kGet)));
  EXPECT_TRUE(static_cast<net::Acceptor::Owner&>(worker).onOutOfDescriptors());
  EXPECT_TRUE(closed(idle)) << "the longest wait with nothing unread goes";
  worker.loop().runOnce(0);
  EXPECT_EQ(reply(early).substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_EQ(evictions(), 1u);
}

}  // namespace
}  // namespace tether::http
