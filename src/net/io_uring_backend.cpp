// The io_uring backend's registrations and waits: multishot polls armed and
// cancelled, one submit-and-wait per loop iteration, completions reaped into
// events (io_uring_backend.h says how it all fits together; the receive side
// is io_uring_receive.cpp).
#include "io_uring_backend.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace tether::net {
namespace {

// SUBMIT_ALL: an entry the kernel refuses (its error is a completion) must not
// hold back the entries after it, a close's cancel among them.
constexpr unsigned kFlags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
                            IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;

[[noreturn]] void fatal(const char* what, int err) {
  std::fprintf(stderr, "tether: %s: %s\n", what, std::strerror(err));
  std::abort();
}

bool syscallsAskedFor(const char* variable) {
  const char* mode = std::getenv(variable);
  return mode != nullptr && std::string_view(mode) == "syscall";
}

}  // namespace

IoUringBackend::~IoUringBackend() {
  if (!initialised_) return;
  // Writes the owners were told are done go out before the ring does.
  if (enabled_ && !queuedSlots_.empty()) io_uring_submit(&ring_);
  io_uring_queue_exit(&ring_);
  for (Listener& l : listeners_) {
    for (int fd : l.ready) ::close(fd);
  }
}

int IoUringBackend::init() {
  io_uring_params params{};
  params.flags = kFlags;
  params.cq_entries = kCqEntries;
  int rc = io_uring_queue_init_params(kSqEntries, &ring_, &params);
  initialised_ = rc == 0;
  // Without buffer rings (kernels before 5.19) the backend only polls.
  if (initialised_) receiving_ = buffers_.setup(&ring_) == 0;
  // For measuring what the ring saves: TETHER_IO_URING_SEND=syscall keeps
  // every write a send() call, TETHER_IO_URING_ACCEPT=syscall every accept
  // an accept4() call, as on epoll.
  sendsOnRing_ = !syscallsAskedFor("TETHER_IO_URING_SEND");
  acceptsOnRing_ = !syscallsAskedFor("TETHER_IO_URING_ACCEPT");
  return rc;
}

void IoUringBackend::add(int fd, std::uint32_t events, IoHandler* handler) {
  auto index = static_cast<std::size_t>(fd);
  if (index >= regs_.size()) grow(index);
  Registration& reg = regs_[index];
  if (reg.live()) {  // an fd closed without closing(): free its file too
    orphanSend(fd, true, /*reused=*/true);
    cancel(fd);
  }
  if (!listeners_.empty()) dropClosedListeners(fd);  // a listener's number, reused
  reg.handler = handler;
  reg.events = events;
  ++reg.generation;
  arm(fd);
}

// Submitted at once, so the socket is released when the caller's close()
// returns (FIN or RST now, as with epoll) rather than at the next wait: one
// syscall per close is the price. A listener released late would keep
// taking connections into a queue that its release then resets (a handover
// to a --share-port successor lost 4 in the test). Before the first wait the
// ring cannot submit; nothing runs then, and the next wait releases it.
void IoUringBackend::closing(int fd, bool discardOutput) noexcept {
  orphanSend(fd, discardOutput);
  if (!listeners_.empty()) stopAccepting(fd);
  if (!cancel(fd) || !enabled_ || io_uring_sq_ready(&ring_) == 0) return;
  submitNow();
}

int IoUringBackend::wait(int timeoutMs, std::span<ReadyEvent> out) {
  enableOnce();
  ++waits_;
  // Events reaped and not delivered yet, or polls still to re-arm: do not
  // block for more.
  bool busy = backlogNext_ < backlog_.size() || !rearm_.empty();
  int rc = submitAndWait(busy ? 0 : timeoutMs);
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
    fatal("io_uring_enter", -rc);
  }
  reap();
  rearmSome();
  cancelStaleOrphans();
  if (!listeners_.empty()) dropClosedListeners(-1);
  return deliver(out);
}

// Room for every descriptor the process may open, reserved once: the pages
// are touched only as fds are used (24 bytes each), and the table never moves.
void IoUringBackend::grow(std::size_t index) {
  if (regs_.capacity() == 0) {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    regs_.reserve(std::max<std::size_t>(limit.rlim_cur, 1024));
  }
  regs_.resize(index + 1);
}

io_uring_sqe* IoUringBackend::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (s != nullptr) return s;
  // The queue is full: hand it to the kernel now (only possible once enabled).
  if (!enabled_) fatal("io_uring submission queue full before the loop ran", ENOSPC);
  submitNow();
  s = io_uring_get_sqe(&ring_);
  if (s == nullptr) fatal("io_uring_get_sqe", EBUSY);
  return s;
}

void IoUringBackend::submitNow() {
  int rc = io_uring_submit(&ring_);
  if (rc < 0) fatal("io_uring_submit", -rc);
  submitted();
}

// ASYNC_CANCEL, not POLL_REMOVE: a poll whose wake-up is still being
// handled in the kernel refuses POLL_REMOVE (-EALREADY) and would stay
// armed, holding the socket open; a cancel marks it and it ends anyway.
void IoUringBackend::cancelRequest(std::uint64_t data, unsigned flags) {
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, data, static_cast<int>(flags));
  io_uring_sqe_set_data64(s, kIgnored);
  s->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

// false: `fd` had no live registration. Cancels only what is armed: after
// the peer's FIN ended the receive, usually nothing.
bool IoUringBackend::cancel(int fd) noexcept {
  Registration* reg = live(fd);
  if (reg == nullptr) return false;
  if (reg->unsure) {  // every poll that may be armed, whatever `poll` says
    std::uint64_t data = key(fd, reg->generation);
    cancelRequest(data, IORING_ASYNC_CANCEL_ALL);
    cancelRequest(data | kWriteTag, IORING_ASYNC_CANCEL_ALL);
    reg->poll = Poll::kNone;
  }
  dropPoll(fd, *reg);
  if (reg->receiving()) cancelRequest(key(fd, reg->generation) | kReceiveTag);
  buffers_.release(reg->queue);
  reg->receive = Receive::kOff;
  reg->inputDropped = reg->wantsOut = reg->unsure = false;
  ++reg->generation;  // whatever still completes for it is stale
  reg->handler = nullptr;
  return true;
}

void IoUringBackend::enableOnce() {
  if (enabled_) return;
  // io_uring_enable_rings() is missing from liburing 2.3's shared library
  // (Debian 12): the same call through the raw register operation.
  int rc = io_uring_register(ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  if (rc < 0) fatal("io_uring_enable_rings", -rc);
  io_uring_register_ring_fd(&ring_);  // fewer fd lookups per enter; optional
  enabled_ = true;
}

int IoUringBackend::submitAndWait(int timeoutMs) {
  io_uring_cqe* first = nullptr;
  int rc;
  if (timeoutMs < 0) {
    rc = io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec ts{timeoutMs / 1000, static_cast<long long>(timeoutMs % 1000) * 1000000};
    rc = io_uring_submit_and_wait_timeout(&ring_, &first, 1, &ts, nullptr);
  }
  submitted();
  return rc;
}

// Every completion is taken out of the completion queue at each wait, even
// when the loop has room for fewer events: the rest wait in backlog_. A
// queue left full overflows, the kernel ends multishot polls whose
// completion does not fit, and each re-armed poll of a writable socket
// completes at once: with more busy sockets than the queue holds, that never
// stopped (10,000 WebSockets kept a server at 100 % CPU).
void IoUringBackend::reap() {
  std::size_t mergeFrom = backlog_.size();  // only this reap's events merge
  unsigned seen = 0;
  io_uring_cqe* cqe;
  unsigned head;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    std::uint64_t data = io_uring_cqe_get_data64(cqe);
    if (data == kIgnored) continue;  // a cancel or update that found nothing to do
    if (data & kSendTag) {
      sent(*cqe);
      continue;
    }
    auto fd = static_cast<int>(data & kFdMask);
    auto index = static_cast<std::size_t>(fd);
    auto generation = static_cast<std::uint32_t>(data >> 32);
    if (index >= regs_.size() || regs_[index].generation != generation) {
      buffers_.recycle(cqe->flags);  // cancelled: a buffer it filled goes back
      if ((data & kAcceptTag) && cqe->res >= 0) ::close(cqe->res);  // nobody to take it
      continue;
    }
    std::uint32_t events = completed(fd, regs_[index], *cqe, data & ~kFdMask & 0xffffffffu);
    if (events == 0) continue;
    // A receive and the poll often complete together: one event.
    if (backlog_.size() > mergeFrom && backlog_.back().fd == fd) {
      backlog_.back().events |= events;
    } else {
      backlog_.push_back({fd, generation, events});
    }
  }
  io_uring_cq_advance(&ring_, seen);
}

std::uint32_t IoUringBackend::completed(int fd, Registration& reg, const io_uring_cqe& cqe,
                                        std::uint64_t tag) {
  switch (tag) {
    case kReceiveTag: return received(fd, reg, cqe);
    case kAcceptTag: return accepted(fd, reg, cqe);
    case kWriteTag: return writable(reg, cqe);
    default: return polled(fd, reg, cqe);
  }
}

// The oldest events of the backlog whose registration still lives (a close
// since the reap made the rest stale).
int IoUringBackend::deliver(std::span<ReadyEvent> out) {
  std::size_t n = 0;
  while (backlogNext_ < backlog_.size() && n < out.size()) {
    const Pending& p = backlog_[backlogNext_++];
    const Registration& reg = regs_[static_cast<std::size_t>(p.fd)];
    if (reg.generation == p.generation) out[n++] = {reg.handler, p.events};
  }
  if (backlogNext_ == backlog_.size()) {
    backlog_.clear();
    backlogNext_ = 0;
  }
  return static_cast<int>(n);
}

std::unique_ptr<EventBackend> makeIoUringBackend(std::string* why) {
  auto backend = std::make_unique<IoUringBackend>();
  int rc = backend->init();
  if (rc == 0) return backend;
  if (why != nullptr) *why = std::strerror(-rc);
  return nullptr;
}

}  // namespace tether::net
