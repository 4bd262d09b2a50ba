#include "tether/net/stream.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "socket_io.h"
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
  // A backend that receives by itself (io_uring) reads for this stream; an
  // owner's own transport (TLS), installed before the first read, replaces it.
  if (Transport* receiver = loop.receiveTransport()) {
    transport_ = receiver;
    flags_ |= kLoopTransport;
  }
}

void Stream::adopt(int fd) noexcept {
  fd_ = fd;
  flags_ = kWriteReady;
}

void Stream::close(EventLoop& loop, IoHandler* handler, bool reset) noexcept {
  if (fd_ < 0) return;
  loop.closingFd(fd_, handler, reset);
  if (reset) setLingerReset(fd_);
  ::close(fd_);
  fd_ = -1;
  if (flags_ & kLoopTransport) transport_ = nullptr;
  flags_ = 0;
}

std::uint32_t Stream::onEvents(std::uint32_t events) noexcept {
  if (Transport* t = ownTransport()) events = t->adjustEvents(events);
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) flags_ |= kReadReady;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) flags_ |= kWriteReady;
  if (events & (EPOLLRDHUP | EPOLLHUP)) flags_ |= kRdHup;
  return events;
}

// ---- reading ------------------------------------------------------------------

IoResult Stream::read(char* buf, std::size_t len) {
  IoResult r = transport_ ? transport_->read(*this, buf, len) : socket_io::read(fd_, buf, len);
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
    if (Transport* t = writer()) {
      iovec iov{const_cast<char*>(data.data() + *sent), data.size() - *sent};
      r = t->writev(*this, &iov, 1);
    } else {
      r = socket_io::send(fd_, data.data() + *sent, data.size() - *sent);  // per response
    }
    if (!r.done()) return wrote(r);
    *sent += r.bytes;
  }
  return {Kind::kDone, data.size()};
}

IoResult Stream::writev(const iovec* iov, int count) {
  Transport* t = writer();
  return wrote(t ? t->writev(*this, iov, count) : socket_io::writev(fd_, iov, count));
}

IoResult Stream::sendFile(int fileFd, std::uint64_t offset, std::size_t len) {
  Transport* t = writer();
  return wrote(t ? t->sendFile(*this, fileFd, offset, len)
                 : socket_io::sendFile(fd_, fileFd, offset, len));
}

// A failed write names the socket's own error even when the loop's receive
// took it from the kernel first and left the write only EPIPE: a user timeout
// during a download must not pass for a reset.
IoResult Stream::wrote(IoResult r) noexcept {
  if (r.kind == Kind::kBlocked) {
    flags_ &= ~kWriteReady;
    if ((flags_ & kDirectWrites) && (flags_ & kLoopTransport)) transport_->writeBlocked(*this);
  }
  if (r.kind == Kind::kFailed && r.err == EPIPE && transport_ != nullptr) {
    if (int err = transport_->heldError(*this)) r.err = err;
  }
  return r;
}

void Stream::shutdownWrite() {
  if (Transport* t = writer()) return t->shutdownWrite(*this);
  ::shutdown(fd_, SHUT_WR);
}

bool Stream::inputWaiting() const noexcept {
  if (fd_ < 0) return false;
  if (socket_io::hasBytes(fd_)) return true;
  return transport_ != nullptr && transport_->holdsInput(*this);
}

bool Stream::quietAndOpen() const noexcept {
  if (fd_ < 0 || peerDone()) return false;
  if (transport_) return transport_->quiet(*this);
  return socket_io::quiet(fd_);
}

// ---- errors ------------------------------------------------------------------

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
