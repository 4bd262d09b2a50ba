#include "heartbeat/connector.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace tether::app::heartbeat {

void Connector::start(const net::SocketAddress& to, core::Millis timeout,
                      const std::function<void(int)>& prepare) {
  cancel();
  fd_ = ::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return done_(-1, errno);
  if (prepare) prepare(fd_);
  if (::connect(fd_, to.raw(), to.length) == 0) return finish(0);
  if (errno != EINPROGRESS) return finish(errno);
  loop_.addFd(fd_, EPOLLOUT, this);
  registered_ = true;
  loop_.timers().link(timer_, loop_.now() + timeout);
}

void Connector::cancel() noexcept {
  loop_.timers().unlink(timer_);
  if (fd_ < 0) return;
  if (registered_) loop_.removeFd(fd_);
  registered_ = false;
  ::close(fd_);
  fd_ = -1;
}

void Connector::onIoEvents(std::uint32_t) {
  if (fd_ < 0) return;
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != EINPROGRESS) finish(err);
}

// Hands the socket over (err == 0) or closes it, then calls done_ last: it may destroy us.
void Connector::finish(int err) {
  loop_.timers().unlink(timer_);
  int fd = fd_;
  if (registered_) loop_.removeFd(fd);
  registered_ = false;
  fd_ = -1;
  if (err != 0) {
    ::close(fd);
    fd = -1;
  }
  done_(fd, err);
}

}  // namespace tether::app::heartbeat
