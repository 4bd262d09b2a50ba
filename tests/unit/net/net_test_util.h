// Test-only helpers for the net layer: socket pairs, loopback TCP pairs.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <utility>

#include "tether/net/event_backend.h"
#include "tether/net/socket.h"

namespace tether::net::testing {

/// Closes a descriptor on scope exit.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

/// For tests parametrised over the event backends: INSTANTIATE_TEST_SUITE_P(
/// Backends, Suite, kBackends, backendName). The fixture builds its loop with
/// backendOrEpoll() and skips in SetUp() when io_uring is refused (a
/// container's seccomp profile), saying so.
inline const auto kBackends = ::testing::Values(IoBackend::kEpoll, IoBackend::kIoUring);
inline std::string backendName(const ::testing::TestParamInfo<IoBackend>& info) {
  return ioBackendName(info.param);
}
/// The backend `kind`, or epoll with `*refused` set when io_uring is refused.
inline std::unique_ptr<EventBackend> backendOrEpoll(IoBackend kind, std::string* refused) {
  if (kind != IoBackend::kIoUring) return makeEpollBackend();
  auto b = makeIoUringBackend(refused);
  return b ? std::move(b) : makeEpollBackend();
}
/// A fixture's loop and the refusal its SetUp() checks.
#define TETHER_SKIP_IF_REFUSED(refused) \
  if (!(refused).empty()) GTEST_SKIP() << "io_uring refused by the kernel: " << (refused)

/// Raises the soft descriptor limit for a test that opens thousands of
/// sockets; the old limit comes back when this is destroyed.
class DescriptorLimit {
 public:
  DescriptorLimit() = default;
  DescriptorLimit(const DescriptorLimit&) = delete;
  DescriptorLimit& operator=(const DescriptorLimit&) = delete;
  ~DescriptorLimit() {
    if (raised_) setrlimit(RLIMIT_NOFILE, &saved_);
  }
  /// Allows `n` descriptors; false when the hard limit is lower.
  bool allow(rlim_t n) {
    if (getrlimit(RLIMIT_NOFILE, &saved_) != 0 || saved_.rlim_max < n) return false;
    rlimit more = saved_;
    more.rlim_cur = std::max(saved_.rlim_cur, n);
    raised_ = setrlimit(RLIMIT_NOFILE, &more) == 0;
    return raised_;
  }

 private:
  rlimit saved_{};
  bool raised_ = false;
};

/// A non-blocking AF_UNIX stream pair with small buffers, so writes block soon.
inline std::pair<int, int> smallSocketPair() {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  int size = 4096;
  for (int fd : sv) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  return {sv[0], sv[1]};
}

/// A listening socket on 127.0.0.1 with a kernel-chosen port.
inline int loopbackListener(SocketAddress* bound) {
  auto addr = parseSocketAddress("127.0.0.1:0");
  int fd = listenTcp(*addr, 16, bound);
  EXPECT_GE(fd, 0);
  return fd;
}

/// A connected loopback TCP pair (client, server), both non-blocking.
inline std::pair<int, int> tcpPair() {
  SocketAddress bound;
  Fd listener(loopbackListener(&bound));
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(::connect(client, bound.raw(), bound.length), 0);
  int server = ::accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  EXPECT_GE(server, 0);
  int flags = 1;
  ioctl(client, FIONBIO, &flags);
  return {client, server};
}

/// Everything `fd` can read now; `*eof` set when it reads the end, `*err`
/// to a read's errno other than EAGAIN.
inline std::string readNow(int fd, bool* eof = nullptr, int* err = nullptr) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  if (eof != nullptr) *eof = *eof || n == 0;
  if (err != nullptr && n < 0 && errno != EAGAIN) *err = errno;
  return out;
}

}  // namespace tether::net::testing
