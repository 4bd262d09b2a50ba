#include "socket_io.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace tether::net::socket_io {

using Kind = IoResult::Kind;

IoResult failed(int err) noexcept {
  IoResult r{Kind::kFailed};
  r.err = err;
  return r;
}

IoResult read(int fd, char* buf, std::size_t len) noexcept {
  for (;;) {
    ssize_t n = ::read(fd, buf, len);
    if (n > 0) return {Kind::kDone, static_cast<std::size_t>(n)};
    if (n == 0) return {Kind::kEof};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {Kind::kBlocked};
    return failed(errno);
  }
}

IoResult send(int fd, const char* data, std::size_t len) noexcept {
  for (;;) {
    // MSG_NOSIGNAL: a closed peer is EPIPE, not a signal.
    ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n >= 0) return {Kind::kDone, static_cast<std::size_t>(n)};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {Kind::kBlocked};
    return failed(errno);
  }
}

IoResult writev(int fd, const iovec* iov, int count) noexcept {
  if (count == 1) return send(fd, static_cast<const char*>(iov[0].iov_base), iov[0].iov_len);
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<std::size_t>(std::min(count, IOV_MAX));
  for (;;) {
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n >= 0) return {Kind::kDone, static_cast<std::size_t>(n)};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {Kind::kBlocked};
    return failed(errno);
  }
}

IoResult sendFile(int fd, int fileFd, std::uint64_t offset, std::size_t len) noexcept {
  for (;;) {
    off_t off = static_cast<off_t>(offset);
    ssize_t n = ::sendfile(fd, fileFd, &off, len);
    if (n >= 0) return {Kind::kDone, static_cast<std::size_t>(n)};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {Kind::kBlocked};
    return failed(errno);
  }
}

bool hasBytes(int fd) noexcept {
  char byte;
  return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

bool quiet(int fd) noexcept {
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace tether::net::socket_io
