// Test-only: a scripted HTTP server on a loopback TCP listener, for the tools' connections
// (bench, inspect) under test on an EventLoop with a ManualClock. The test plays the server
// side by hand: accept, read what the client wrote, write a response, close with FIN or RST.
//
// No sleeps: waiting for the client's bytes is a poll() for readability, and the loop under
// test is run with runUntil(), which waits for I/O (never for time) until a condition holds.
// Virtual time moves only when the test moves its clock.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "net/net_test_util.h"
#include "tether/net/event_loop.h"

namespace tether::tools::testing {

using net::testing::Fd;

/// How long a test waits for an event that must come (real time, a bound, not a pause).
constexpr int kEventWaitMs = 5'000;

/// Runs the loop, waiting for I/O, until `done()` holds (true) or kEventWaitMs pass (false).
/// Virtual time does not move.
inline bool runUntil(net::EventLoop& loop, const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kEventWaitMs);
  loop.runOnce(0);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    loop.runOnce(10);
  }
  return true;
}

/// The server side: one listener, the connections accepted from it one at a time.
class ScriptedPeer {
 public:
  ScriptedPeer() : listener_(net::testing::loopbackListener(&address_)) {}
  ~ScriptedPeer() { close(); }
  ScriptedPeer(const ScriptedPeer&) = delete;
  ScriptedPeer& operator=(const ScriptedPeer&) = delete;

  const net::SocketAddress& address() const { return address_; }

  /// Accepts the next connection (the client must have started its connect). The loop
  /// under test runs while waiting, so a client that connects from a loop callback can.
  bool accept(net::EventLoop& loop) {
    close();
    bool ready = runUntil(loop, [this] { return readable(listener_.fd, 0); });
    if (!ready) return false;
    conn_ = ::accept4(listener_.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return conn_ >= 0;
  }
  /// A connection is waiting to be accepted (the client connected again).
  bool pendingConnection(net::EventLoop& loop) {
    loop.runOnce(0);
    return readable(listener_.fd, 0);
  }

  /// Reads until `count` occurrences of `marker` (e.g. "\r\n\r\n": requests) arrived,
  /// running the loop while waiting; returns everything read.
  std::string readUntil(net::EventLoop& loop, std::string_view marker, std::size_t count = 1) {
    std::string got;
    runUntil(loop, [&] {
      readAvailable(got);
      return occurrences(got, marker) >= count;
    });
    EXPECT_GE(occurrences(got, marker), count) << "got: " << got;
    return got;
  }
  /// Reads whatever has arrived, without waiting.
  std::string readNow() {
    std::string got;
    readAvailable(got);
    return got;
  }
  /// Reads exactly up to `max` bytes that have arrived (the rest stays unread).
  std::string readSome(net::EventLoop& loop, std::size_t max) {
    runUntil(loop, [&] { return readable(conn_, 0); });
    std::string buf(max, '\0');
    ssize_t n = ::read(conn_, buf.data(), max);
    buf.resize(n > 0 ? std::size_t(n) : 0);
    return buf;
  }

  void write(std::string_view bytes) {
    ASSERT_EQ(::write(conn_, bytes.data(), bytes.size()), ssize_t(bytes.size()));
  }
  /// Closes with a FIN (or, with unread data in the socket, the kernel's RST).
  void close() {
    if (conn_ >= 0) ::close(conn_);
    conn_ = -1;
  }
  /// Closes with an RST (SO_LINGER 0).
  void reset() {
    linger l{1, 0};
    ::setsockopt(conn_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }
  int fd() const { return conn_; }

  static std::size_t occurrences(std::string_view s, std::string_view marker) {
    std::size_t n = 0;
    for (std::size_t at = s.find(marker); at != std::string_view::npos;
         at = s.find(marker, at + marker.size())) {
      ++n;
    }
    return n;
  }

 private:
  static bool readable(int fd, int waitMs) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, waitMs) == 1 && (p.revents & POLLIN);
  }
  void readAvailable(std::string& into) {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(conn_, buf, sizeof buf)) > 0) into.append(buf, std::size_t(n));
  }

  net::SocketAddress address_;
  Fd listener_;
  int conn_ = -1;  // the accepted connection
};

}  // namespace tether::tools::testing
