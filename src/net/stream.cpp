#include "tether/net/stream.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "tether/net/socket.h"

namespace tether::net {
namespace {

using Kind = IoResult::Kind;

// Bytes the kernel still holds for the peer (unsent + unacknowledged).
int kernelOutQueue(int fd) noexcept {
  int pending = 0;
  return ioctl(fd, SIOCOUTQ, &pending) == 0 ? pending : 0;
}

}  // namespace

const char* streamErrorName(StreamError e) noexcept {
  switch (e) {
    case StreamError::kNone: return "none";
    case StreamError::kPeerReset: return "peer_reset";
    case StreamError::kKeepaliveTimeout: return "keepalive_timeout";
    case StreamError::kUserTimeout: return "user_timeout";
    case StreamError::kOther: return "error";
  }
  return "error";
}

void Stream::open(EventLoop& loop, int fd, IoHandler* handler, std::uint32_t events) {
  adopt(fd);
  loop.addFd(fd, events, handler);
}

void Stream::adopt(int fd) noexcept {
  fd_ = fd;
  flags_ = kWriteReady;
}

void Stream::close(EventLoop& loop, IoHandler* handler, bool reset) noexcept {
  if (fd_ < 0) return;
  loop.closingFd(fd_, handler);
  if (reset) setLingerReset(fd_);
  ::close(fd_);
  fd_ = -1;
  flags_ = 0;
}

std::uint32_t Stream::onEvents(std::uint32_t events) noexcept {
  if (transport_) events = transport_->adjustEvents(events);
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) flags_ |= kReadReady;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) flags_ |= kWriteReady;
  if (events & (EPOLLRDHUP | EPOLLHUP)) flags_ |= kRdHup;
  return events;
}

// ---- reading ------------------------------------------------------------------

IoResult Stream::read(char* buf, std::size_t len) {
  IoResult r = transport_ ? transport_->read(*this, buf, len) : plainRead(buf, len);
  switch (r.kind) {
    case Kind::kDone:
      // A short read drained the socket: the next byte raises a new edge. After
      // the peer's FIN no edge follows, so keep reading until EOF is seen.
      if (r.bytes < len && !(flags_ & kRdHup) && !r.more) flags_ &= ~kReadReady;
      break;
    case Kind::kEof: flags_ = (flags_ & ~kReadReady) | kEofSeen; break;
    case Kind::kBlocked:
    case Kind::kFailed: flags_ &= ~kReadReady; break;
  }
  return r;
}

IoResult Stream::plainRead(char* buf, std::size_t len) {
  for (;;) {
    ssize_t n = ::read(fd_, buf, len);
    if (n > 0) return {Kind::kDone, static_cast<std::size_t>(n)};
    if (n == 0) return {Kind::kEof};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {Kind::kBlocked};
    return failed(errno);
  }
}

IoResult Stream::drain(char* scratch, std::size_t len) {
  std::size_t total = 0;
  for (;;) {
    IoResult r = read(scratch, len);
    if (r.kind != Kind::kDone) {
      r.bytes = total;
      return r;
    }
    total += r.bytes;
  }
}

// ---- writing ------------------------------------------------------------------

IoResult Stream::writeAll(std::string_view data, std::size_t* sent) {
  while (*sent < data.size()) {
    IoResult r;
    if (transport_ == nullptr) {
      r = plainSend(data.data() + *sent, data.size() - *sent);  // the per-response path
    } else {
      iovec iov{const_cast<char*>(data.data() + *sent), data.size() - *sent};
      r = transport_->writev(*this, &iov, 1);
    }
    if (!r.done()) {
      if (r.kind == Kind::kBlocked) flags_ &= ~kWriteReady;
      return r;
    }
    *sent += r.bytes;
  }
  return {Kind::kDone, data.size()};
}

IoResult Stream::plainSend(const char* data, std::size_t len) {
  for (;;) {
    // MSG_NOSIGNAL: a closed peer is EPIPE, not a signal.
    ssize_t n = ::send(fd_, data, len, MSG_NOSIGNAL);
    if (n >= 0) return {Kind::kDone, static_cast<std::size_t>(n)};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {Kind::kBlocked};
    return failed(errno);
  }
}

IoResult Stream::writev(const iovec* iov, int count) {
  IoResult r = transport_ ? transport_->writev(*this, iov, count) : plainWritev(iov, count);
  if (r.kind == Kind::kBlocked) flags_ &= ~kWriteReady;
  return r;
}

IoResult Stream::plainWritev(const iovec* iov, int count) {
  if (count == 1) return plainSend(static_cast<const char*>(iov[0].iov_base), iov[0].iov_len);
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<std::size_t>(std::min(count, IOV_MAX));
  for (;;) {
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n >= 0) return {Kind::kDone, static_cast<std::size_t>(n)};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {Kind::kBlocked};
    return failed(errno);
  }
}

IoResult Stream::sendFile(int fileFd, std::uint64_t offset, std::size_t len) {
  if (transport_) {
    IoResult r = transport_->sendFile(*this, fileFd, offset, len);
    if (r.kind == Kind::kBlocked) flags_ &= ~kWriteReady;
    return r;
  }
  for (;;) {
    off_t off = static_cast<off_t>(offset);
    ssize_t n = ::sendfile(fd_, fileFd, &off, len);
    if (n >= 0) return {Kind::kDone, static_cast<std::size_t>(n)};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      flags_ &= ~kWriteReady;
      return {Kind::kBlocked};
    }
    return failed(errno);
  }
}

void Stream::shutdownWrite() {
  if (transport_) return transport_->shutdownWrite(*this);
  ::shutdown(fd_, SHUT_WR);
}

bool Stream::quietAndOpen() const noexcept {
  if (fd_ < 0 || peerDone()) return false;
  if (transport_) return transport_->quiet();
  char byte;
  ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // 0: FIN queued; > 0: bytes nobody asked for; an error other than EAGAIN: RST.
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// ---- errors -------------------------------------------------------------------

IoResult Stream::failed(int err) noexcept {
  IoResult r{Kind::kFailed};
  r.err = err;
  return r;
}

// The kernel gave up on the peer (ETIMEDOUT). Data still queued by the owner,
// held by the kernel, or being retransmitted means TCP_USER_TIMEOUT (or
// tcp_retries2) fired; otherwise keepalive probes went unanswered. Rare, so
// the extra calls cost nothing that matters.
StreamError Stream::classify(int err, bool queuedHere) const noexcept {
  switch (err) {
    case ECONNRESET:
    case EPIPE: return StreamError::kPeerReset;
    case ETIMEDOUT: {
      if (queuedHere || kernelOutQueue(fd_) > 0) return StreamError::kUserTimeout;
      auto rtx = getRetransmitState(fd_);
      bool retransmitting = rtx && (rtx->retransmits > 0 || rtx->backoff > 0);
      return retransmitting ? StreamError::kUserTimeout : StreamError::kKeepaliveTimeout;
    }
    default: return StreamError::kOther;
  }
}

}  // namespace tether::net
