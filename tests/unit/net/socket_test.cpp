// listenTcp()'s port sharing: the first listener of a process refuses a port
// that anything else listens on; the others join it.
#include "tether/net/socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "net_test_util.h"

namespace tether::net {
namespace {

using testing::Fd;

SocketAddress loopback(int port) {
  auto addr = parseSocketAddress("127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(addr.has_value());
  return *addr;
}

TEST(ListenTcp, ExclusiveRefusesAPortAnotherReusePortGroupHolds) {
  SocketAddress bound;
  Fd first(listenTcp(loopback(0), 16, &bound));
  ASSERT_GE(first.fd, 0);
  errno = 0;
  Fd second(listenTcp(bound, 16, nullptr, PortSharing::kExclusive));
  EXPECT_LT(second.fd, 0);
  EXPECT_EQ(errno, EADDRINUSE);
}

TEST(ListenTcp, JoinSharesThePortWithTheGroup) {
  SocketAddress bound;
  Fd first(listenTcp(loopback(0), 16, &bound));
  ASSERT_GE(first.fd, 0);
  SocketAddress joined;
  Fd second(listenTcp(bound, 16, &joined, PortSharing::kJoin));
  ASSERT_GE(second.fd, 0);
  EXPECT_EQ(joined.port(), bound.port());
}

TEST(ListenTcp, EvenJoinCannotShareWithAListenerWithoutReusePort) {
  Fd plain(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  SocketAddress any = loopback(0);
  ASSERT_EQ(::bind(plain.fd, any.raw(), any.length), 0);
  ASSERT_EQ(::listen(plain.fd, 4), 0);
  SocketAddress held = localAddress(plain.fd);
  for (PortSharing sharing : {PortSharing::kExclusive, PortSharing::kJoin}) {
    errno = 0;
    Fd fd(listenTcp(held, 16, nullptr, sharing));
    EXPECT_LT(fd.fd, 0);
    EXPECT_EQ(errno, EADDRINUSE);
  }
}

TEST(ListenTcp, ExclusiveBindsAFreePortAndPortZero) {
  SocketAddress bound;
  Fd first(listenTcp(loopback(0), 16, &bound, PortSharing::kExclusive));
  ASSERT_GE(first.fd, 0);
  int port = bound.port();
  ::close(first.release());  // the port is free again
  Fd again(listenTcp(loopback(port), 16, nullptr, PortSharing::kExclusive));
  EXPECT_GE(again.fd, 0);
}

}  // namespace
}  // namespace tether::net
