#include "tether/net/acceptor.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "tether/net/socket.h"

namespace tether::net {

Acceptor::Acceptor(EventLoop& loop, int listenFd, Owner& owner, bool noDelay)
    : loop_(loop), owner_(owner), fd_(listenFd), noDelay_(noDelay) {
  loop_.addFd(fd_, EPOLLIN, this);
}

void Acceptor::acceptPending() {
  while (fd_ >= 0) {
    int fd = loop_.accept(fd_);  // io_uring: often taken by the ring already
    if (fd >= 0) {
      if (noDelay_) setNoDelay(fd);
      owner_.onAccepted(fd);
      continue;
    }
    int err = -fd;
    if (err == EINTR || err == ECONNABORTED) continue;
    if (err == EMFILE || err == ENFILE) {
      if (owner_.onOutOfDescriptors()) continue;
      loop_.cancel(retry_);
      retry_ = loop_.runAfter(kRetryDelay, [this] { acceptPending(); });
    }
    return;  // EAGAIN: empty; anything else is the client's problem (e.g. a reset)
  }
}

void Acceptor::acceptPendingAndClose() {
  if (fd_ < 0) return;
  loop_.closingFd(fd_, this);  // io_uring: the ring's hold on the file goes now
  acceptPending();
  loop_.cancel(retry_);  // out of descriptors: what is left is reset, as at any close
  if (fd_ < 0) return;   // closed by an owner's callback
  ::close(fd_);
  fd_ = -1;
}

void Acceptor::close() noexcept {
  loop_.cancel(retry_);
  if (fd_ < 0) return;
  loop_.closingFd(fd_, this);
  ::close(fd_);
  fd_ = -1;
}

}  // namespace tether::net
