// The io_uring backend's receive side: reads of plain streams served from the
// socket's queue of received chunks or by read(), the multishot receive armed
// once a socket is drained, and what its completions tell the owner (the
// design is in io_uring_backend.h).
#include <sys/epoll.h>

#include <cerrno>

#include "io_uring_backend.h"

namespace tether::net {

IoResult IoUringBackend::receive(int fd, char* buf, std::size_t len) {
  Registration* reg = live(fd);
  if (reg == nullptr) return socket_io::read(fd, buf, len);
  if (!reg->queue.empty()) {
    IoResult r = buffers_.take(reg->queue, buf, len);
    // The receive has ended: the socket may hold more than the queue did.
    if (!reg->receiving() && r.done()) r.more = true;
    return r;
  }
  if (reg->receiving()) return {IoResult::Kind::kBlocked};
  IoResult r = socket_io::read(fd, buf, len);
  // Drained (blocked, or a short read): the ring receives from here on,
  // unless it is short of buffers.
  if (r.kind == IoResult::Kind::kBlocked || (r.done() && r.bytes < len)) {
    if (waits_ - lastShortage_ <= kShortageWaits) {
      pollInput(fd, *reg);
    } else {
      startReceiving(fd, *reg);
    }
  }
  return r;
}

// More sockets have input at once than the ring has buffers (a saturated
// server with thousands of busy connections): every receive would end in
// -ENOBUFS and cost a completion, a read() and two entries to re-arm, more
// than epoll's one read(). So a drained socket goes back to the poll
// (kAll with EPOLLIN, as on epoll) and read() calls until the ring has had
// enough buffers for kShortageWaits waits.
void IoUringBackend::pollInput(int fd, Registration& reg) {
  reg.receive = Receive::kPolled;
  auto events =
      static_cast<std::uint16_t>(reg.events | (reg.inputDropped ? std::uint32_t{EPOLLIN} : 0u));
  reg.inputDropped = false;
  if (reg.poll == Poll::kAll) {
    if (events != reg.events) updatePoll(fd, reg, events);
    return;
  }
  dropPoll(fd, reg);  // a kWritable poll: kAll reports EPOLLOUT too
  reg.events = events;
  arm(fd);
}

// The receive reports input, the FIN and errors from here on: the poll goes
// (io_uring_poll.cpp), unless a write still waits for room. Its EPOLLIN stays
// out of the mask until the poll is needed again (pollInput()).
void IoUringBackend::startReceiving(int fd, Registration& reg) {
  std::uint64_t data = key(fd, reg.generation);
  io_uring_sqe* s = sqe();
  io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = 0;
  io_uring_sqe_set_data64(s, data | kReceiveTag);
  reg.receive = Receive::kArmed;
  if (reg.events & EPOLLIN) {
    reg.inputDropped = true;
    reg.events = static_cast<std::uint16_t>(reg.events & ~EPOLLIN);
  }
  if (reg.poll != Poll::kAll) return;
  dropPoll(fd, reg);
  if (reg.wantsOut) waitWritable(fd);  // the EPOLLOUT the dropped poll owed
}

// A completion of `reg`'s receive: what the owner is told.
std::uint32_t IoUringBackend::received(int fd, Registration& reg, const io_uring_cqe& cqe) {
  bool more = cqe.flags & IORING_CQE_F_MORE;
  if (!more) reg.receive = Receive::kOff;
  if (cqe.res == -ENOBUFS || cqe.res == -ECANCELED) {
    if (cqe.res == -ENOBUFS && !buffers_.grow()) lastShortage_ = waits_;
    return EPOLLIN;  // the owner reads the socket itself now
  }
  buffers_.push(reg.queue, cqe.res, cqe.flags);
  if (cqe.res == 0) return EPOLLIN | EPOLLRDHUP;
  // The receive took the socket's error: EPOLLERR as epoll would report it,
  // so an owner waiting to write tries now (and learns it from heldError()).
  if (cqe.res < 0) return EPOLLIN | EPOLLERR;
  if (more && reg.receive == Receive::kArmed && buffers_.full(reg.queue)) {
    cancelRequest(key(fd, reg.generation) | kReceiveTag);  // the owner is not reading
    reg.receive = Receive::kStopping;
  }
  return EPOLLIN;
}

// For the pre-reuse check: input queued, or a completion of this fd's
// receive waiting in the completion queue.
bool IoUringBackend::hasInput(int fd) noexcept {
  Registration* reg = live(fd);
  if (reg == nullptr) return false;
  if (!reg->queue.empty()) return true;
  if (!reg->receiving()) return false;
  std::uint64_t data = key(fd, reg->generation) | kReceiveTag;
  io_uring_cqe* cqe;
  unsigned head;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    if (io_uring_cqe_get_data64(cqe) == data) return true;
  }
  return false;
}

}  // namespace tether::net
