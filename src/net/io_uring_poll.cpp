// The io_uring backend's polls: what watches a socket besides its receive.
//
// A registration starts with a multishot poll for everything the owner asked
// for (kAll), as epoll would. Once a multishot receive is armed, the receive
// reports input, the peer's FIN and errors by itself, and the poll is
// cancelled: an idle connection holds one request in the kernel, not two.
// What the receive cannot report is room to write; a write that finds the
// socket full (a kBlocked the backend returns, or one the owner met writing
// by itself: Transport::writeBlocked()) arms a one-shot poll for EPOLLOUT
// (kWritable), which ends with the event it was for. Checked at arming, so
// room that came between the write and the poll is reported at once.
//
// The kAll poll comes back when the receive cannot go on (pollInput(): the
// ring is short of buffers). After a receive ends otherwise, the owner was
// told EPOLLIN and reads until the socket is drained, which arms the receive
// again; nothing needs to watch meanwhile.
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>

#include "io_uring_backend.h"

namespace tether::net {

void IoUringBackend::arm(int fd) {
  Registration& reg = regs_[static_cast<std::size_t>(fd)];
  io_uring_sqe* s = sqe();
  io_uring_prep_poll_multishot(s, fd, reg.events);
  io_uring_sqe_set_data64(s, key(fd, reg.generation));
  reg.poll = Poll::kAll;
}

// A poll update checks readiness again: input that came before it is reported.
void IoUringBackend::updatePoll(int fd, Registration& reg, std::uint16_t events) {
  reg.events = events;
  io_uring_sqe* s = sqe();
  // new_user_data must be 0 unless IORING_POLL_UPDATE_USER_DATA (else -EINVAL).
  io_uring_prep_poll_update(s, key(fd, reg.generation), 0, reg.events,
                            IORING_POLL_UPDATE_EVENTS | IORING_POLL_ADD_MULTI);
  io_uring_sqe_set_data64(s, kIgnored);
  s->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void IoUringBackend::armWritable(int fd, Registration& reg) {
  io_uring_sqe* s = sqe();
  io_uring_prep_poll_add(s, fd, EPOLLOUT);
  io_uring_sqe_set_data64(s, key(fd, reg.generation) | kWriteTag);
  reg.poll = Poll::kWritable;
  // Its completion may be reaped after a later one was armed (see writable()).
  reg.unsure = true;
}

// CANCEL_ALL: a poll armed twice (reg.unsure) leaves none behind.
void IoUringBackend::dropPoll(int fd, Registration& reg) {
  std::uint64_t data = key(fd, reg.generation);
  if (reg.poll == Poll::kAll) cancelRequest(data, IORING_ASYNC_CANCEL_ALL);
  if (reg.poll == Poll::kWritable) cancelRequest(data | kWriteTag, IORING_ASYNC_CANCEL_ALL);
  reg.poll = Poll::kNone;
}

void IoUringBackend::waitWritable(int fd) noexcept {
  Registration* reg = live(fd);
  if (reg == nullptr) return;
  reg->wantsOut = true;
  if (reg->poll == Poll::kNone && (reg->events & EPOLLOUT)) armWritable(fd, *reg);
}

// A completion of the kAll poll.
std::uint32_t IoUringBackend::polled(int fd, Registration& reg, const io_uring_cqe& cqe) {
  // Our own cancel (startReceiving()); a close's makes the completion stale.
  if (cqe.res == -ECANCELED) return 0;
  // The kernel refused the poll (an fd closed without closingFd(), say): the
  // handler sees an error and finds out on its next read or write; no
  // re-arm, which would refuse again.
  if (cqe.res < 0) {
    if (reg.poll == Poll::kAll) reg.poll = Poll::kNone;
    reg.unsure = true;  // it may have been an older poll's
    return EPOLLERR | EPOLLHUP;
  }
  // A multishot poll ends when its completion did not fit: re-arm it, later.
  if (!(cqe.flags & IORING_CQE_F_MORE)) {
    reg.unsure = true;
    if (reg.poll == Poll::kAll) rearm_.push_back({fd, reg.generation, 0});
  }
  auto events = static_cast<std::uint32_t>(cqe.res);
  if (events & EPOLLOUT) reg.wantsOut = false;
  return events;
}

// A completion of the one-shot EPOLLOUT poll. A stale one (reaped after a
// cancel and a new arm) ends the state early: the next blocked write arms
// another, and closing cancels them all.
std::uint32_t IoUringBackend::writable(Registration& reg, const io_uring_cqe& cqe) {
  if (cqe.res == -ECANCELED) return 0;  // replaced by the kAll poll
  if (reg.poll == Poll::kWritable) reg.poll = Poll::kNone;
  reg.wantsOut = false;
  if (cqe.res < 0) return EPOLLOUT | EPOLLERR;
  return static_cast<std::uint32_t>(cqe.res);
}

// Polls the kernel ended on an overflow, re-armed once the overflow is
// flushed and at most kRearmBudget per wait. A poll is edge-triggered and
// reports a ready socket (a writable one) as soon as it is armed: re-armed
// all at once into a queue still overflowing, each would be ended again, and
// it never stopped (10,000 WebSockets kept a server at 100 % CPU). One that
// was cancelled since (the receive took over) stays down.
void IoUringBackend::rearmSome() {
  if (rearm_.empty() || io_uring_cq_has_overflow(&ring_)) return;
  std::size_t n = std::min<std::size_t>(rearm_.size(), kRearmBudget);
  for (std::size_t i = 0; i < n; ++i) {
    const Pending& p = rearm_[i];
    const Registration& reg = regs_[static_cast<std::size_t>(p.fd)];
    if (reg.generation == p.generation && reg.poll == Poll::kAll) arm(p.fd);
  }
  rearm_.erase(rearm_.begin(), rearm_.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace tether::net
