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
// what the registration has armed and submits the cancel at once.
//
// Polls (io_uring_poll.cpp): a socket starts with a multishot poll for its
// events; once its receive is armed the poll goes, and a one-shot poll for
// EPOLLOUT is armed only while a write waits for room: an idle connection
// holds one request in the kernel.
//
// Receiving: a stream opened on this backend reads through its receiving
// transport. Its first reads are plain read() calls; once one finds the socket
// drained, a multishot receive takes over (and the poll goes), and
// received bytes wait in the socket's queue (receive_buffers.h) until the owner
// reads them: no read syscall per request. When the multishot ends (out of
// buffers, the queue full, the peer's FIN, an error) the owner is told to read,
// and reads go back to read() until the socket is drained again; never while a
// receive may still complete, which would reorder bytes.
//
// Sending (io_uring_send.cpp): a write of a plain stream up to kMaxSendBytes
// is copied into a send slot and becomes an IORING_OP_SEND submitted by the
// iteration's one io_uring_enter: kDone at once, no send syscall. Its bytes go
// out before anything the owner does next on the socket (see send()).
//
// Accepting (io_uring_accept.cpp): a listener drained by accept4() gets a
// multishot accept; each connection is then a completion carrying its fd,
// handed to the owner by accept(). closing() a listener reaps what the ring
// accepted before the cancel, so a --share-port handover loses none.
//
// SINGLE_ISSUER and COOP_TASKRUN: completions run in the loop's thread when it
// enters the kernel, never interrupting it. The ring starts disabled and is
// enabled by the first wait(): a server builds its loops on one thread and runs
// each on its own.
//
// Threading: the loop's thread only (SINGLE_ISSUER). Private to src/net:
// makeIoUringBackend() (event_backend.h) is how the rest of the tree gets one.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "receive_buffers.h"
#include "socket_io.h"
#include "tether/net/event_backend.h"
#include "tether/net/stream.h"

namespace tether::net {

class IoUringBackend final : public EventBackend {
 public:
  IoUringBackend() : receiver_(*this) {}
  ~IoUringBackend() override;
  IoUringBackend(const IoUringBackend&) = delete;
  IoUringBackend& operator=(const IoUringBackend&) = delete;

  /// 0, or the negative errno of io_uring_queue_init_params (the kernel's refusal).
  int init();

  const char* name() const noexcept override { return "io_uring"; }

  void add(int fd, std::uint32_t events, IoHandler* handler) override;

  // Callers close the fd right after a remove() too (the acceptor at shutdown):
  // the same immediate cancel.
  void remove(int fd) override { closing(fd, false); }
  void closing(int fd, bool discardOutput) noexcept override;
  int wait(int timeoutMs, std::span<ReadyEvent> out) override;
  Transport* receiveTransport() noexcept override { return receiving_ ? &receiver_ : nullptr; }
  int accept(int listenFd) noexcept override;

  /// How long a send may outlive its socket's close (a peer that stopped
  /// reading) before it is cancelled. Tests shorten it.
  void setOrphanSendLimit(std::int64_t ms) noexcept { orphanLimitMs_ = ms; }
  /// The ring's descriptor: its fdinfo lists the requests armed (tests count them).
  int ringFd() const noexcept { return ring_.ring_fd; }

 private:
  // Small rings: an idle connection costs what its ring pages cost. A full
  // submission queue is submitted on the spot; a completion queue that
  // overflows ends multishot polls, which are re-armed after the reap.
  static constexpr unsigned kSqEntries = 1024;
  static constexpr unsigned kCqEntries = 4096;
  static constexpr std::uint64_t kIgnored = ~std::uint64_t{0};  // cancellations' own completions
  static constexpr std::uint64_t kReceiveTag = 1u << 31;        // in user_data: the fd's receive
  static constexpr std::uint64_t kSendTag = 1u << 30;    // in user_data: a send slot, not an fd
  static constexpr std::uint64_t kAcceptTag = 1u << 29;  // in user_data: the fd's accept
  static constexpr std::uint64_t kWriteTag = 1u << 28;   // in user_data: the fd's EPOLLOUT poll
  // Descriptors stay below 2^28: the kernel's own ceiling (fs.nr_open) is 2^20 by default.
  static constexpr std::uint64_t kFdMask = kWriteTag - 1;

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

  // What polls the socket besides the receive. One request per idle
  // connection: while a receive is armed it reports input, the peer's FIN and
  // errors, and the poll is dropped; only a write that finds the socket full
  // needs one then (kWritable), and it ends with the EPOLLOUT it was for.
  enum class Poll : std::uint8_t {
    kNone,
    kAll,       // a multishot poll for `events`
    kWritable,  // a one-shot poll for EPOLLOUT (kWriteTag)
  };

  struct Registration {
    IoHandler* handler = nullptr;
    std::uint32_t generation = 0;  // +1 at add() and at cancel(): odd while registered
    std::uint16_t events = 0;      // the kAll poll's mask (poll bits fit in 16)
    Receive receive : 2 = Receive::kOff;
    Poll poll : 2 = Poll::kNone;
    bool inputDropped : 1 = false;  // the owner asked for EPOLLIN; the receive took it over
    bool wantsOut : 1 = false;      // a write found the socket full; no EPOLLOUT since
    // A poll may be armed that `poll` does not show (a stale completion
    // changed it, or a re-arm raced a cancel): closing cancels every kind.
    bool unsure : 1 = false;
    ReceiveBuffers::Queue queue;
    bool live() const noexcept { return generation & 1; }
    // A receive is armed or ending: reads come from the queue only.
    bool receiving() const noexcept {
      return receive == Receive::kArmed || receive == Receive::kStopping;
    }
  };

  // A write's bytes between the owner and the kernel. One per socket at most;
  // slots and their buffers are reused, so a busy loop allocates nothing.
  struct SendSlot {
    // The copy; capacity kept for the next use. A vector, not a string: a
    // short string lives inside the slot (SSO) and would move when slots_
    // grows, under an SQE that points at it (pings went out as garbage).
    std::vector<char> bytes;
    std::size_t sent = 0;            // bytes the kernel has taken
    int fd = -1;                     // -1: the owner closed the socket (orphaned)
    std::uint32_t generation = 0;    // the fd's registration when taken
    std::uint32_t serial = 0;        // +1 per use, in user_data
    io_uring_sqe* queued = nullptr;  // its SQE until submitted: writes append there
    bool ownerWaiting = false;       // a write was refused meanwhile: EPOLLOUT when done
    bool shutdownAfter = false;      // shutdownWrite() came meanwhile
    bool cancelled = false;
    std::int64_t orphanedAt = 0;  // ms, CLOCK_MONOTONIC_COARSE
  };
  // A listening socket that has had a multishot accept. Listeners are few:
  // kept apart, so a connection's Registration does not grow.
  struct Listener {
    int fd = -1;
    std::uint32_t generation = 0;  // its registration's, while armed
    bool armed = false;            // a multishot accept is submitted or queued
    bool pollOnly = false;         // the kernel refused one: accept4() only
    bool closed = false;           // closing() came: ready is handed out, then reset
    std::uint32_t taken = 0;       // connections since armed
    std::deque<int> ready;         // accepted, not handed out yet
  };

  static constexpr std::size_t kMaxSendBytes = 16 * 1024;  // larger writes: send() as on epoll
  static constexpr std::size_t kMaxSlots = 0xffff;         // sendOf_ holds index + 1
  static constexpr std::uint32_t kNoSlot = ~std::uint32_t{0};

  // The transport every plain stream of this loop goes through: reads from
  // the socket's queue (or read() while no receive is armed), writes into a
  // send slot (or the plain calls when one cannot be used).
  class Receiver final : public Transport {
   public:
    explicit Receiver(IoUringBackend& backend) : backend_(backend) {}
    IoResult read(Stream& s, char* buf, std::size_t len) override {
      return backend_.receive(s.fd(), buf, len);
    }
    IoResult writev(Stream& s, const iovec* iov, int count) override {
      return backend_.send(s.fd(), iov, count);
    }
    IoResult sendFile(Stream& s, int fileFd, std::uint64_t offset, std::size_t len) override {
      return backend_.sendFile(s.fd(), fileFd, offset, len);
    }
    void shutdownWrite(Stream& s) override { backend_.shutdownWrite(s.fd()); }
    bool quiet(const Stream& s) noexcept override {
      // The peek first: bytes it misses were received already, into the queue
      // or a completion not yet reaped.
      return socket_io::quiet(s.fd()) && !backend_.hasInput(s.fd());
    }
    bool holdsInput(const Stream& s) noexcept override { return backend_.hasInput(s.fd()); }
    void writeBlocked(Stream& s) noexcept override { backend_.waitWritable(s.fd()); }
    int heldError(const Stream& s) noexcept override {
      const Registration* reg = backend_.live(s.fd());
      return reg != nullptr ? backend_.buffers_.error(reg->queue) : 0;
    }

   private:
    IoUringBackend& backend_;
  };

  // Registrations (io_uring_backend.cpp).
  void grow(std::size_t index);
  static std::uint64_t key(int fd, std::uint32_t generation) noexcept {
    return std::uint64_t{generation} << 32 | static_cast<std::uint32_t>(fd);
  }
  Registration* live(int fd) noexcept {
    auto index = static_cast<std::size_t>(fd);
    if (fd < 0 || index >= regs_.size() || !regs_[index].live()) return nullptr;
    return &regs_[index];
  }
  io_uring_sqe* sqe();
  void cancelRequest(std::uint64_t data, unsigned flags = 0);
  bool cancel(int fd) noexcept;

  // Polls beside the receive (io_uring_poll.cpp).
  void arm(int fd);
  void updatePoll(int fd, Registration& reg, std::uint16_t events);
  void armWritable(int fd, Registration& reg);
  void dropPoll(int fd, Registration& reg);
  void waitWritable(int fd) noexcept;
  std::uint32_t polled(int fd, Registration& reg, const io_uring_cqe& cqe);
  std::uint32_t writable(Registration& reg, const io_uring_cqe& cqe);
  void rearmSome();

  // Receiving (io_uring_receive.cpp).
  IoResult receive(int fd, char* buf, std::size_t len);
  void pollInput(int fd, Registration& reg);
  void startReceiving(int fd, Registration& reg);
  std::uint32_t received(int fd, Registration& reg, const io_uring_cqe& cqe);
  bool hasInput(int fd) noexcept;

  // Sending (io_uring_send.cpp).
  IoResult send(int fd, const iovec* iov, int count);
  IoResult sendFile(int fd, int fileFd, std::uint64_t offset, std::size_t len);
  IoResult watched(int fd, IoResult r) noexcept;
  void shutdownWrite(int fd);
  SendSlot* sendingOn(int fd) noexcept;
  std::uint32_t takeSlot(int fd, const Registration& reg, std::size_t size);
  void submitSend(std::uint32_t index);
  void orphanSend(int fd, bool discard, bool reused = false) noexcept;
  void sent(const io_uring_cqe& cqe);
  void cancelStaleOrphans();
  void submitted() noexcept;

  // Accepting (io_uring_accept.cpp).
  Listener* listener(int fd) noexcept;
  void startAccepting(int fd, Registration& reg, Listener* l);
  std::uint32_t accepted(int fd, Registration& reg, const io_uring_cqe& cqe);
  void stopAccepting(int fd);
  void dropClosedListeners(int fd) noexcept;

  // Waiting (io_uring_backend.cpp).
  void enableOnce();
  void submitNow();
  int submitAndWait(int timeoutMs);
  void reap();
  std::uint32_t completed(int fd, Registration& reg, const io_uring_cqe& cqe, std::uint64_t tag);
  int deliver(std::span<ReadyEvent> out);

  io_uring ring_{};
  bool initialised_ = false;
  bool enabled_ = false;
  bool receiving_ = false;
  bool sendsOnRing_ = true;
  bool acceptsOnRing_ = true;
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
  std::vector<Listener> listeners_;
  std::vector<SendSlot> slots_;
  std::vector<std::uint32_t> freeSlots_;
  std::vector<std::uint32_t> queuedSlots_;  // slots whose SQE is not submitted yet
  std::vector<std::uint16_t> sendOf_;       // by fd: slot index + 1, 0 when none
  std::size_t orphans_ = 0;                 // slots whose socket was closed, not finished
  std::int64_t orphanLimitMs_ = 60'000;
  std::int64_t nextOrphanScan_ = 0;  // ms, CLOCK_MONOTONIC_COARSE
  static constexpr std::int64_t kOrphanScanMs = 1'000;
  Receiver receiver_;
};

}  // namespace tether::net
