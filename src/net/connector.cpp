#include "tether/net/connector.h"

#include <netdb.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace tether::net {

namespace {

// Every address of `host`, in getaddrinfo's order (RFC 6724 preferences).
std::vector<SocketAddress> resolveAll(const std::string& host, int port, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  std::vector<SocketAddress> all;
  if (rc != 0 || res == nullptr) {
    *error = "cannot resolve host '" + host + "': " + gai_strerror(rc);
    return all;
  }
  for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
    SocketAddress addr;
    std::memcpy(&addr.storage, a->ai_addr, a->ai_addrlen);
    addr.length = a->ai_addrlen;
    all.push_back(addr);
  }
  freeaddrinfo(res);
  return all;
}

// A blocking connect within `timeout`: whether `to` accepts connections.
bool accepts(const SocketAddress& to, Millis timeout) {
  bool connected = false;
  int fd = startConnect(to, {}, &connected);
  if (fd < 0) return false;
  if (!connected) {
    pollfd p{fd, POLLOUT, 0};
    connected = ::poll(&p, 1, static_cast<int>(timeout)) == 1 && connectResult(fd) == 0;
  }
  ::close(fd);
  return connected;
}

}  // namespace

std::optional<SocketAddress> resolve(const std::string& host, int port, std::string* error) {
  std::vector<SocketAddress> all = resolveAll(host, port, error);
  if (all.empty()) return std::nullopt;
  return all.front();
}

std::optional<SocketAddress> resolveReachable(const std::string& host, int port,
                                              Millis probeTimeout, std::string* error) {
  std::vector<SocketAddress> all = resolveAll(host, port, error);
  if (all.empty()) return std::nullopt;
  return all.size() > 1 ? firstReachable(all, probeTimeout) : all.front();
}

SocketAddress firstReachable(const std::vector<SocketAddress>& candidates, Millis probeTimeout) {
  for (const SocketAddress& a : candidates) {
    if (accepts(a, probeTimeout)) return a;
  }
  return candidates.front();
}

int startConnect(const SocketAddress& to, const SocketSetup& setup, bool* connected) {
  *connected = false;
  int fd = ::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  bool ok;
  try {
    ok = (!setup.noDelay || setNoDelay(fd)) && (!setup.prepare || setup.prepare(fd));
  } catch (...) {  // a prepare hook that reports failure by throwing
    ::close(fd);
    throw;
  }
  if (ok && ::connect(fd, to.raw(), to.length) == 0) *connected = true;
  if (ok && (*connected || errno == EINPROGRESS)) return fd;
  int err = errno;
  ::close(fd);
  errno = err;
  return -1;
}

int connectResult(int fd) noexcept {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

void Connector::start(const SocketAddress& to, Millis timeout, const SocketSetup& setup) {
  cancel();
  bool connected = false;
  fd_ = startConnect(to, setup, &connected);
  if (fd_ < 0) return done_(-1, errno);
  if (connected) return finish(0);
  loop_.addFd(fd_, EPOLLOUT, this);
  loop_.timers().link(timer_, loop_.now() + timeout);
}

void Connector::cancel() noexcept {
  loop_.timers().unlink(timer_);
  if (fd_ < 0) return;
  loop_.closingFd(fd_, this);
  ::close(fd_);
  fd_ = -1;
}

void Connector::onIoEvents(std::uint32_t) {
  if (fd_ >= 0) finish(connectResult(fd_));
}

// Hands the socket over (err == 0) or closes it, then calls done_ last: it may destroy us.
void Connector::finish(int err) {
  loop_.timers().unlink(timer_);
  int fd = fd_;
  fd_ = -1;
  loop_.removeFd(fd, this);  // the new owner registers it for what it needs
  if (err != 0) {
    ::close(fd);
    fd = -1;
  }
  done_(fd, err);
}

}  // namespace tether::net
