// The io_uring backend's accept side: a listener drained by accept4() gets a
// multishot accept, whose completions carry the new connections' fds; the
// owner takes them with accept() (the design is in io_uring_backend.h).
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "io_uring_backend.h"

namespace tether::net {

// Queued connections first, then the socket itself: accept4() finds what
// came while no multishot was armed (before the first drain, after one
// ended), and once it finds the queue empty the ring takes over.
int IoUringBackend::accept(int listenFd) noexcept {
  Listener* l = listener(listenFd);
  if (l != nullptr && !l->ready.empty()) {
    int fd = l->ready.front();
    l->ready.pop_front();
    return fd;
  }
  Registration* reg = live(listenFd);
  if (l != nullptr && l->armed && reg != nullptr) return -EAGAIN;  // completions will say
  int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) return fd;
  int err = errno;
  if (err == EAGAIN && reg != nullptr && acceptsOnRing_) startAccepting(listenFd, *reg, l);
  return -err;
}

IoUringBackend::Listener* IoUringBackend::listener(int fd) noexcept {
  for (Listener& l : listeners_) {
    if (l.fd == fd) return &l;
  }
  return nullptr;
}

void IoUringBackend::startAccepting(int fd, Registration& reg, Listener* l) {
  if (l == nullptr) l = &listeners_.emplace_back(Listener{.fd = fd});
  if (l->pollOnly || l->closed) return;
  l->generation = reg.generation;
  l->armed = true;
  l->taken = 0;
  io_uring_sqe* s = sqe();
  io_uring_prep_multishot_accept(s, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, key(fd, reg.generation) | kAcceptTag);
  if (!(reg.events & EPOLLIN)) return;
  // The completions report connections now; a poll that also woke for each
  // would cost a second completion per connection.
  reg.inputDropped = true;
  updatePoll(fd, reg, static_cast<std::uint16_t>(reg.events & ~EPOLLIN));
}

// A completion of the listener's multishot accept: what the owner is told.
std::uint32_t IoUringBackend::accepted(int fd, Registration& reg, const io_uring_cqe& cqe) {
  Listener* l = listener(fd);
  if (cqe.res >= 0) {
    if (l == nullptr) {  // cannot happen: armed means listed; never leak the fd
      ::close(cqe.res);
      return 0;
    }
    l->ready.push_back(cqe.res);
    ++l->taken;
  }
  if ((cqe.flags & IORING_CQE_F_MORE) || l == nullptr) return EPOLLIN;
  // Ended: by a full completion queue (its last fd above), by an error, or
  // by our cancel. The owner is told and accepts until accept4() drains the
  // queue, which arms again, or meets the descriptor limit, when its retry
  // timer brings it back: the poll need not watch meanwhile (epoll's edge
  // would be consumed too). A kernel that refuses multishot accepts outright
  // would make that a loop: an error before any connection leaves the
  // listener to the poll and accept4().
  l->armed = false;
  if (l->closed) return 0;
  bool resource = cqe.res == -EMFILE || cqe.res == -ENFILE || cqe.res == -ENOMEM;
  if (cqe.res < 0 && l->taken == 0 && !resource) {
    l->pollOnly = true;
    if (reg.inputDropped) {
      reg.inputDropped = false;
      updatePoll(fd, reg, static_cast<std::uint16_t>(reg.events | EPOLLIN));
    }
  }
  return EPOLLIN;
}

// closing() of a listener, before its registration is cancelled: the accept
// is cancelled and submitted, and the completions it posted before that are
// reaped under the registration's current generation, into `ready`, where
// accept() still finds them (acceptPendingAndClose() at a --share-port
// handover). The kernel marks the request cancelled within the submit, and
// COOP_TASKRUN runs the completions it owes at that syscall's return.
void IoUringBackend::stopAccepting(int fd) {
  Listener* l = listener(fd);
  if (l == nullptr) return;
  l->closed = true;
  if (!l->armed) return;
  l->armed = false;
  cancelRequest(key(fd, l->generation) | kAcceptTag);
  if (!enabled_) return;  // nothing submitted yet: nothing accepted
  submitNow();
  reap();
}

// Connections accepted for a listener that is gone and not handed out are
// closed (reset), as close() resets what waits in a listener's queue. `fd`:
// that number's entry (registered again), or -1: every closed one (a wait).
void IoUringBackend::dropClosedListeners(int fd) noexcept {
  auto gone = [&](Listener& l) {
    if (fd >= 0 ? l.fd != fd : !l.closed) return false;
    if (l.armed) cancelRequest(key(l.fd, l.generation) | kAcceptTag);
    for (int c : l.ready) ::close(c);
    return true;
  };
  std::erase_if(listeners_, gone);
}

}  // namespace tether::net
