// runBench()'s stop: each run has its own (BenchConfig::stop), so one run's stop
// never ends another, and the library touches no signal state.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <stop_token>

#include "tether/net/socket.h"
#include "tether/tools/bench.h"

namespace tether::tools::bench {
namespace {

// A port bound but not listening: every connect is refused at once, and no
// other test can take the port while the socket stays open.
class RefusedPort {
 public:
  RefusedPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    address_ = *net::parseSocketAddress("127.0.0.1:0");
    ::bind(fd_, address_.raw(), address_.length);
    address_ = net::localAddress(fd_);
  }
  ~RefusedPort() { ::close(fd_); }
  const net::SocketAddress& address() const { return address_; }

 private:
  int fd_ = -1;
  net::SocketAddress address_;
};

BenchConfig configFor(const net::SocketAddress& target, Millis duration) {
  BenchConfig c;
  c.target = target;
  c.url = "http://" + target.toString() + "/";
  c.request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  c.connections = 1;
  c.duration = duration;
  return c;
}

TEST(BenchRun, StopsWhenItsOwnStopIsRequested) {
  RefusedPort port;
  ASSERT_GT(port.address().port(), 0);
  std::stop_source stopA;
  stopA.request_stop();
  BenchConfig a = configFor(port.address(), 600'000);  // would run for 10 minutes
  a.stop = stopA.get_token();
  std::stop_source stopB;  // never requested
  BenchConfig b = configFor(port.address(), 300);
  b.stop = stopB.get_token();

  // Both at once: A's stop must not end B, and B's start must not clear A's stop.
  auto runA = std::async(std::launch::async, [&] { return runBench(a); });
  BenchResult rb = runBench(b);
  BenchResult ra = runA.get();
  EXPECT_TRUE(ra.interrupted);
  EXPECT_LT(ra.elapsedS, 60);
  EXPECT_FALSE(rb.interrupted);
  EXPECT_GT(rb.elapsedS, 0.25);  // its whole duration (the timer wheel ends it to the ms)
  EXPECT_GT(rb.errors.connect, 0u);
}

}  // namespace
}  // namespace tether::tools::bench
