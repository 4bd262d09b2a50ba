// Unit-test helpers around a Worker in virtual time: its close counters, and
// a harness that hands it the server end of a socket pair and plays the
// client on the other end, one loop iteration at a time.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "http/worker.h"
#include "tether/http/server.h"

namespace tether::http::testing {

inline std::uint64_t closeCount(const Worker& w, CloseReason r) {
  return w.stats().closes[static_cast<std::size_t>(r)].load();
}

inline std::uint64_t allCloses(const Worker& w) {
  std::uint64_t n = 0;
  for (const auto& c : w.stats().closes) n += c.load();
  return n;
}

/// A one-worker server on a ManualClock and one client connection (`peer`).
/// Routes are added by the test's constructor, before connect().
class WorkerHarness : public ::testing::Test {
 protected:
  explicit WorkerHarness(ServerOptions o) : server(std::move(o)) {}
  ~WorkerHarness() override {
    if (peer >= 0) ::close(peer);
  }

  /// A new connection (a previous one's client end is closed first).
  void connect() {
    if (peer >= 0) ::close(peer);
    closedSeen = false;
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    peer = sv[1];
    static_cast<net::Acceptor::Owner&>(worker).onAccepted(sv[0]);  // as the acceptor does
    worker.loop().runOnce(0);
  }
  /// The client leaves and the server notices: call from a derived fixture's
  /// destructor when handlers report into its members (the worker outlives
  /// them and would close the connection after they are gone).
  void disconnect() {
    if (peer < 0) return;
    ::close(peer);
    peer = -1;
    worker.loop().runOnce(0);
  }
  void send(std::string_view bytes) {
    ASSERT_EQ(::write(peer, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    worker.loop().runOnce(0);
  }
  /// Moves virtual time to `at` (ms since the test's start), runs one iteration.
  void runAt(Millis at) {
    clock.set(kStart + at);
    worker.loop().runOnce(0);
  }
  /// What the client can read now; sets closedSeen at the server's close.
  std::string receive() {
    // On io_uring the server's writes reach the socket at the loop's next wait.
    worker.loop().runOnce(0);
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(peer, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    // A close with the client's bytes unread resets a socket pair: closed too.
    closedSeen = closedSeen || n == 0 || (n < 0 && errno == ECONNRESET);
    return out;
  }
  std::uint64_t closes(CloseReason r) const { return closeCount(worker, r); }
  std::uint64_t allCloses() const { return testing::allCloses(worker); }

  static constexpr Millis kStart = 1'000'000;
  core::ManualClock clock{kStart};
  Server server;
  SharedCounters shared;
  Worker worker{server, {}, shared, -1, clock};
  int peer = -1;
  bool closedSeen = false;
};

}  // namespace tether::http::testing
