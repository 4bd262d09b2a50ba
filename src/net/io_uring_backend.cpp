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
// SINGLE_ISSUER and DEFER_TASKRUN: completions run in the loop's thread when it
// enters the kernel, never interrupting it. The ring starts disabled and is
// enabled by the first wait(): a server builds its loops on one thread and runs
// each on its own.
#include <liburing.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tether/net/event_backend.h"

namespace tether::net {
namespace {

// Small rings: an idle connection costs what its ring pages cost. A full
// submission queue is submitted on the spot; a completion queue that overflows
// ends multishot polls, which reap() re-arms.
constexpr unsigned kSqEntries = 1024;
constexpr unsigned kCqEntries = 4096;
constexpr std::uint64_t kIgnored = ~std::uint64_t{0};  // cancellations' own completions
constexpr unsigned kFlags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
                            IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE;

[[noreturn]] void fatal(const char* what, int err) {
  std::fprintf(stderr, "tether: %s: %s\n", what, std::strerror(err));
  std::abort();
}

class IoUringBackend final : public EventBackend {
 public:
  IoUringBackend() = default;
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
    return rc;
  }

  const char* name() const noexcept override { return "io_uring"; }

  void add(int fd, std::uint32_t events, IoHandler* handler) override {
    auto index = static_cast<std::size_t>(fd);
    if (index >= regs_.size()) grow(index);
    Registration& reg = regs_[index];
    if (reg.live()) cancel(fd);  // an fd closed without closing(): free its file too
    reg = {handler, events, reg.generation + 1};
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
    int rc = submitAndWait(timeoutMs);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
      fatal("io_uring_enter", -rc);
    }
    return reap(out);
  }

 private:
  struct Registration {
    IoHandler* handler = nullptr;
    std::uint32_t events = 0;
    std::uint32_t generation = 0;  // +1 at add() and at cancel(): odd while registered
    bool live() const noexcept { return generation & 1; }
  };

  // Room for every descriptor the process may open, reserved once: the pages
  // are touched only as fds are used (16 bytes each), and the table never moves.
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

  // false: `fd` had no live registration.
  bool cancel(int fd) noexcept {
    auto index = static_cast<std::size_t>(fd);
    if (fd < 0 || index >= regs_.size() || !regs_[index].live()) return false;
    Registration& reg = regs_[index];
    io_uring_sqe* s = sqe();
    // ASYNC_CANCEL, not POLL_REMOVE: a poll whose wake-up is still being
    // handled in the kernel refuses POLL_REMOVE (-EALREADY) and would stay
    // armed, holding the socket open; a cancel marks it and it ends anyway.
    io_uring_prep_cancel64(s, key(fd, reg.generation), 0);
    io_uring_sqe_set_data64(s, kIgnored);
    s->flags |= IOSQE_CQE_SKIP_SUCCESS;
    ++reg.generation;
    reg.handler = nullptr;
    return true;
  }

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

  int reap(std::span<ReadyEvent> out) {
    int n = 0;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    unsigned head;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      if (static_cast<std::size_t>(n) == out.size()) break;  // the rest: next wait
      ++seen;
      std::uint64_t data = io_uring_cqe_get_data64(cqe);
      if (data == kIgnored) continue;  // a cancel that found its poll already gone
      auto index = static_cast<std::size_t>(data & 0xffffffffu);
      if (index >= regs_.size()) continue;
      Registration& reg = regs_[index];
      if (reg.generation != static_cast<std::uint32_t>(data >> 32)) continue;  // cancelled
      if (cqe->res < 0) {
        // The kernel refused the poll (an fd closed without closingFd(), say):
        // the handler sees an error and finds out on its next read or write;
        // no re-arm, which would refuse again.
        out[static_cast<std::size_t>(n++)] = {reg.handler, EPOLLERR | EPOLLHUP};
        continue;
      }
      out[static_cast<std::size_t>(n++)] = {reg.handler, static_cast<std::uint32_t>(cqe->res)};
      // A multishot poll ends when the completion queue overflowed: re-arm it.
      if (!(cqe->flags & IORING_CQE_F_MORE)) arm(static_cast<int>(index));
    }
    io_uring_cq_advance(&ring_, seen);
    return n;
  }

  io_uring ring_{};
  bool initialised_ = false;
  bool enabled_ = false;
  std::vector<Registration> regs_;  // by fd
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
