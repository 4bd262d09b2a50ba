// The io_uring backend: readiness through multishot poll requests, all queued
// registrations and cancellations submitted by the one io_uring_enter that also
// waits (submit-and-wait), so registering a socket costs no syscall of its own.
//
// A registration is keyed by fd with a generation in the CQE's user_data
// (generation << 32 | fd): completions of a cancelled registration that are
// still in the completion queue are recognised as stale and dropped, so a
// handler never sees an event of an fd number that was closed and reused.
//
// The ring holds a reference to every file it polls: close(fd) alone would not
// release the socket (no FIN) until the poll is cancelled. So closing() cancels
// the registration and submits the cancel at once.
//
// Receiving: a stream opened on this backend reads through its receiving
// transport. Its first reads are plain read() calls; once one finds the socket
// drained, a multishot receive takes over (EPOLLIN leaves the poll's mask), and
// received bytes wait in the socket's queue (receive_buffers.h) until the owner
// reads them: no read syscall per request. When the multishot ends (out of
// buffers, the queue full, the peer's FIN, an error) the owner is told to read,
// and reads go back to read() until the socket is drained again; never while a
// receive may still complete, which would reorder bytes.
//
// SINGLE_ISSUER and COOP_TASKRUN: completions run in the loop's thread when it
// enters the kernel, never interrupting it. The ring starts disabled and is
// enabled by the first wait(): a server builds its loops on one thread and runs
// each on its own.
#include <liburing.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "receive_buffers.h"
#include "socket_io.h"
#include "tether/net/event_backend.h"

namespace tether::net {
namespace {

// Small rings: an idle connection costs what its ring pages cost. A full
// submission queue is submitted on the spot; a completion queue that overflows
// ends multishot polls, which reap() re-arms.
constexpr unsigned kSqEntries = 1024;
constexpr unsigned kCqEntries = 4096;
constexpr std::uint64_t kIgnored = ~std::uint64_t{0};  // cancellations' own completions
constexpr std::uint64_t kReceiveTag = 1u << 31;        // in user_data: the fd's receive
// SUBMIT_ALL: an entry the kernel refuses (its error is a completion) must not
// hold back the entries after it, a close's cancel among them.
constexpr unsigned kFlags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
                            IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;

[[noreturn]] void fatal(const char* what, int err) {
  std::fprintf(stderr, "tether: %s: %s\n", what, std::strerror(err));
  std::abort();
}

class IoUringBackend final : public EventBackend {
 public:
  IoUringBackend() : receiver_(*this) {}
  ~IoUringBackend() override {
    if (initialised_) io_uring_queue_exit(&ring_);
  }
  IoUringBackend(const IoUringBackend&) = delete;
  IoUringBackend& operator=(const IoUringBackend&) = delete;

  /// 0, or the negative errno of io_uring_queue_init_params (the kernel's refusal).
  int init() {
    io_uring_params params{};
    params.flags = kFlags;
    params.cq_entries = kCqEntries;
    int rc = io_uring_queue_init_params(kSqEntries, &ring_, &params);
    initialised_ = rc == 0;
    // Without buffer rings (kernels before 5.19) the backend only polls.
    if (initialised_) receiving_ = buffers_.setup(&ring_) == 0;
    return rc;
  }

  const char* name() const noexcept override { return "io_uring"; }

  void add(int fd, std::uint32_t events, IoHandler* handler) override {
    auto index = static_cast<std::size_t>(fd);
    if (index >= regs_.size()) grow(index);
    Registration& reg = regs_[index];
    if (reg.live()) cancel(fd);  // an fd closed without closing(): free its file too
    reg.handler = handler;
    reg.events = events;
    ++reg.generation;
    arm(fd);
  }

  // Callers close the fd right after a remove() too (the acceptor at shutdown):
  // the same immediate cancel.
  void remove(int fd) override { closing(fd); }

  // Submitted at once, so the socket is released when the caller's close()
  // returns (FIN or RST now, as with epoll) rather than at the next wait: one
  // syscall per close is the price. A listener released late would keep
  // taking connections into a queue that its release then resets (a handover
  // to a --share-port successor lost 4 in the test). Before the first wait the
  // ring cannot submit; nothing runs then, and the next wait releases it.
  void closing(int fd) noexcept override {
    if (!cancel(fd) || !enabled_) return;
    int rc = io_uring_submit(&ring_);
    if (rc < 0) fatal("io_uring_submit", -rc);
  }

  int wait(int timeoutMs, std::span<ReadyEvent> out) override {
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
    return deliver(out);
  }

  Transport* receiveTransport() noexcept override { return receiving_ ? &receiver_ : nullptr; }

 private:
  enum class Receive : std::uint8_t {
    kOff,       // reads are read() calls; a drained socket arms a receive
    kArmed,     // a multishot receive fills the queue
    kStopping,  // its cancel is on the way: reads wait for its last completion
    kPolled,    // read() calls and EPOLLIN in the poll, as on epoll: buffers ran short
  };
  // Buffers ran short this many waits ago or less: drained sockets are polled,
  // not handed to the ring (see pollInput()).
  static constexpr std::uint64_t kShortageWaits = 1024;
  // Polls re-armed per wait: a quarter of the completion queue.
  static constexpr std::size_t kRearmBudget = kCqEntries / 4;

  struct Registration {
    IoHandler* handler = nullptr;
    std::uint32_t generation = 0;  // +1 at add() and at cancel(): odd while registered
    std::uint16_t events = 0;      // the poll's mask (poll bits fit in 16)
    Receive receive = Receive::kOff;
    bool inputDropped = false;  // the owner asked for EPOLLIN; the receive took it over
    ReceiveBuffers::Queue queue;
    bool live() const noexcept { return generation & 1; }
    // A receive is armed or ending: reads come from the queue only.
    bool receiving() const noexcept {
      return receive == Receive::kArmed || receive == Receive::kStopping;
    }
  };

  // The transport every plain stream of this loop reads through: reads from
  // the socket's queue, or read() while no receive is armed. Writes never come
  // here (the stream writes itself); they are the plain calls all the same.
  class Receiver final : public Transport {
   public:
    explicit Receiver(IoUringBackend& backend) : backend_(backend) {}
    IoResult read(Stream& s, char* buf, std::size_t len) override {
      return backend_.receive(s.fd(), buf, len);
    }
    IoResult writev(Stream& s, const iovec* iov, int count) override {
      return socket_io::writev(s.fd(), iov, count);
    }
    IoResult sendFile(Stream& s, int fileFd, std::uint64_t offset, std::size_t len) override {
      return socket_io::sendFile(s.fd(), fileFd, offset, len);
    }
    void shutdownWrite(Stream& s) override { ::shutdown(s.fd(), SHUT_WR); }
    bool quiet(const Stream& s) noexcept override {
      // The peek first: bytes it misses were received already, into the queue
      // or a completion not yet reaped.
      return socket_io::quiet(s.fd()) && !backend_.hasInput(s.fd());
    }
    bool holdsInput(const Stream& s) noexcept override { return backend_.hasInput(s.fd()); }
    int heldError(const Stream& s) noexcept override {
      const Registration* reg = backend_.live(s.fd());
      return reg != nullptr ? backend_.buffers_.error(reg->queue) : 0;
    }

   private:
    IoUringBackend& backend_;
  };

  // Room for every descriptor the process may open, reserved once: the pages
  // are touched only as fds are used (24 bytes each), and the table never moves.
  void grow(std::size_t index) {
    if (regs_.capacity() == 0) {
      rlimit limit{};
      getrlimit(RLIMIT_NOFILE, &limit);
      regs_.reserve(std::max<std::size_t>(limit.rlim_cur, 1024));
    }
    regs_.resize(index + 1);
  }

  static std::uint64_t key(int fd, std::uint32_t generation) noexcept {
    return std::uint64_t{generation} << 32 | static_cast<std::uint32_t>(fd);
  }

  Registration* live(int fd) noexcept {
    auto index = static_cast<std::size_t>(fd);
    if (fd < 0 || index >= regs_.size() || !regs_[index].live()) return nullptr;
    return &regs_[index];
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (s != nullptr) return s;
    // The queue is full: hand it to the kernel now (only possible once enabled).
    if (!enabled_) fatal("io_uring submission queue full before the loop ran", ENOSPC);
    int rc = io_uring_submit(&ring_);
    if (rc < 0) fatal("io_uring_submit", -rc);
    s = io_uring_get_sqe(&ring_);
    if (s == nullptr) fatal("io_uring_get_sqe", EBUSY);
    return s;
  }

  void arm(int fd) {
    const Registration& reg = regs_[static_cast<std::size_t>(fd)];
    io_uring_sqe* s = sqe();
    io_uring_prep_poll_multishot(s, fd, reg.events);
    io_uring_sqe_set_data64(s, key(fd, reg.generation));
  }

  // ASYNC_CANCEL, not POLL_REMOVE: a poll whose wake-up is still being
  // handled in the kernel refuses POLL_REMOVE (-EALREADY) and would stay
  // armed, holding the socket open; a cancel marks it and it ends anyway.
  void cancelRequest(std::uint64_t data) {
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel64(s, data, 0);
    io_uring_sqe_set_data64(s, kIgnored);
    s->flags |= IOSQE_CQE_SKIP_SUCCESS;
  }

  // false: `fd` had no live registration.
  bool cancel(int fd) noexcept {
    Registration* reg = live(fd);
    if (reg == nullptr) return false;
    std::uint64_t data = key(fd, reg->generation);
    cancelRequest(data);
    if (reg->receiving()) cancelRequest(data | kReceiveTag);
    buffers_.release(reg->queue);
    reg->receive = Receive::kOff;
    reg->inputDropped = false;
    ++reg->generation;  // whatever still completes for it is stale
    reg->handler = nullptr;
    return true;
  }

  // ---- receiving ----------------------------------------------------------

  IoResult receive(int fd, char* buf, std::size_t len) {
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
  // (EPOLLIN in its mask again) and read() calls until the ring has had
  // enough buffers for kShortageWaits waits.
  void pollInput(int fd, Registration& reg) {
    reg.receive = Receive::kPolled;
    if (!reg.inputDropped) return;
    reg.inputDropped = false;
    updatePoll(fd, reg, static_cast<std::uint16_t>(reg.events | EPOLLIN));
  }

  // A poll update checks readiness again: input that came before it is reported.
  void updatePoll(int fd, Registration& reg, std::uint16_t events) {
    reg.events = events;
    io_uring_sqe* s = sqe();
    // new_user_data must be 0 unless IORING_POLL_UPDATE_USER_DATA (else -EINVAL).
    io_uring_prep_poll_update(s, key(fd, reg.generation), 0, reg.events,
                              IORING_POLL_UPDATE_EVENTS | IORING_POLL_ADD_MULTI);
    io_uring_sqe_set_data64(s, kIgnored);
    s->flags |= IOSQE_CQE_SKIP_SUCCESS;
  }

  void startReceiving(int fd, Registration& reg) {
    std::uint64_t data = key(fd, reg.generation);
    io_uring_sqe* s = sqe();
    io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = 0;
    io_uring_sqe_set_data64(s, data | kReceiveTag);
    reg.receive = Receive::kArmed;
    if (!(reg.events & EPOLLIN)) return;
    // The receive reports input now; the poll keeps the rest. If the update
    // loses a race (-EALREADY), EPOLLIN only comes twice. It comes back only
    // when buffers run short (pollInput()): a receive that ends tells the
    // owner to read, and the owner reads until the socket is drained.
    reg.inputDropped = true;
    updatePoll(fd, reg, static_cast<std::uint16_t>(reg.events & ~EPOLLIN));
  }

  // A completion of `reg`'s receive: what the owner is told.
  std::uint32_t received(int fd, Registration& reg, const io_uring_cqe& cqe) {
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
  bool hasInput(int fd) noexcept {
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

  // ---- waiting ------------------------------------------------------------

  void enableOnce() {
    if (enabled_) return;
    // io_uring_enable_rings() is missing from liburing 2.3's shared library
    // (Debian 12): the same call through the raw register operation.
    int rc = io_uring_register(ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
    if (rc < 0) fatal("io_uring_enable_rings", -rc);
    io_uring_register_ring_fd(&ring_);  // fewer fd lookups per enter; optional
    enabled_ = true;
  }

  int submitAndWait(int timeoutMs) {
    io_uring_cqe* first = nullptr;
    if (timeoutMs < 0) return io_uring_submit_and_wait(&ring_, 1);
    __kernel_timespec ts{timeoutMs / 1000, static_cast<long long>(timeoutMs % 1000) * 1000000};
    return io_uring_submit_and_wait_timeout(&ring_, &first, 1, &ts, nullptr);
  }

  // Every completion is taken out of the completion queue at each wait, even
  // when the loop has room for fewer events: the rest wait in backlog_. A
  // queue left full overflows, the kernel ends multishot polls whose
  // completion does not fit, and each re-armed poll of a writable socket
  // completes at once: with more busy sockets than the queue holds, that never
  // stopped (10,000 WebSockets kept a server at 100 % CPU).
  void reap() {
    std::size_t mergeFrom = backlog_.size();  // only this reap's events merge
    unsigned seen = 0;
    io_uring_cqe* cqe;
    unsigned head;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      std::uint64_t data = io_uring_cqe_get_data64(cqe);
      if (data == kIgnored) continue;  // a cancel or update that found nothing to do
      auto fd = static_cast<int>(data & (kReceiveTag - 1));
      auto index = static_cast<std::size_t>(fd);
      auto generation = static_cast<std::uint32_t>(data >> 32);
      if (index >= regs_.size() || regs_[index].generation != generation) {
        buffers_.recycle(cqe->flags);  // cancelled: a buffer it filled goes back
        continue;
      }
      std::uint32_t events = completed(fd, regs_[index], *cqe, data & kReceiveTag);
      // A receive and the poll often complete together: one event.
      if (backlog_.size() > mergeFrom && backlog_.back().fd == fd) {
        backlog_.back().events |= events;
      } else {
        backlog_.push_back({fd, generation, events});
      }
    }
    io_uring_cq_advance(&ring_, seen);
  }

  std::uint32_t completed(int fd, Registration& reg, const io_uring_cqe& cqe, bool isReceive) {
    if (isReceive) return received(fd, reg, cqe);
    // The kernel refused the poll (an fd closed without closingFd(), say): the
    // handler sees an error and finds out on its next read or write; no
    // re-arm, which would refuse again.
    if (cqe.res < 0) return EPOLLERR | EPOLLHUP;
    // A multishot poll ends when its completion did not fit: re-arm it, later.
    if (!(cqe.flags & IORING_CQE_F_MORE)) rearm_.push_back({fd, reg.generation, 0});
    return static_cast<std::uint32_t>(cqe.res);
  }

  // Polls the kernel ended on an overflow, re-armed once the overflow is
  // flushed and at most kRearmBudget per wait. A poll is edge-triggered and
  // reports a ready socket (a writable one) as soon as it is armed: re-armed
  // all at once into a queue still overflowing, each would be ended again, and
  // it never stopped (10,000 WebSockets kept a server at 100 % CPU).
  void rearmSome() {
    if (rearm_.empty() || io_uring_cq_has_overflow(&ring_)) return;
    std::size_t n = std::min<std::size_t>(rearm_.size(), kRearmBudget);
    for (std::size_t i = 0; i < n; ++i) {
      const Pending& p = rearm_[i];
      if (regs_[static_cast<std::size_t>(p.fd)].generation == p.generation) arm(p.fd);
    }
    rearm_.erase(rearm_.begin(), rearm_.begin() + static_cast<std::ptrdiff_t>(n));
  }

  // The oldest events of the backlog whose registration still lives (a close
  // since the reap made the rest stale).
  int deliver(std::span<ReadyEvent> out) {
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

  io_uring ring_{};
  bool initialised_ = false;
  bool enabled_ = false;
  bool receiving_ = false;
  std::uint64_t waits_ = kShortageWaits + 1;  // wait() calls; starts clear of a shortage
  std::uint64_t lastShortage_ = 0;            // waits_ when -ENOBUFS found every buffer offered
  std::vector<Registration> regs_;            // by fd
  struct Pending {
    int fd;
    std::uint32_t generation;
    std::uint32_t events;
  };
  std::vector<Pending> backlog_;  // reaped, not delivered yet, oldest first
  std::size_t backlogNext_ = 0;
  std::vector<Pending> rearm_;  // polls the kernel ended, to arm again (events unused)
  ReceiveBuffers buffers_;
  Receiver receiver_;
};

}  // namespace

std::unique_ptr<EventBackend> makeIoUringBackend(std::string* why) {
  auto backend = std::make_unique<IoUringBackend>();
  int rc = backend->init();
  if (rc == 0) return backend;
  if (why != nullptr) *why = std::strerror(-rc);
  return nullptr;
}

}  // namespace tether::net
