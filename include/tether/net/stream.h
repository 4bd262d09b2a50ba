// A connected non-blocking TCP socket on an event loop: the one place that
// reads, writes, sends files, half-closes and closes a connection, and turns
// errno into the transport's close vocabulary.
//
// Edge-triggered bookkeeping: the owner registers itself as the IoHandler
// (open()) and forwards every event to onEvents(); the stream remembers what
// the kernel said (readable, writable, peer's FIN) until an operation proves it
// drained. Reads land in the owner's buffer: an idle stream holds no memory
// beyond this object (16 bytes).
//
// Transport seam: plain TCP is the built-in path (direct syscalls, no virtual
// call). A Transport (TLS) installed with setTransport() takes every
// operation instead: one virtual call per syscall-sized operation, none per byte.
// A loop whose backend does the I/O itself (io_uring: multishot receive into
// buffers of its own, sends as submissions) gives open() its transport, which
// takes every operation; setTransport() before the first read replaces it.
// With it, a write's kDone means the loop holds the bytes and hands them to
// the kernel at its next wait, before any later write, sendfile, FIN or close
// of this stream; a failed send shows up as the next read's or write's error.
//
// Threading: loop-thread only. Ownership: the stream owns its fd from open()
// (or adopt()) to close(); the Transport is owned by the caller.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/net/event_loop.h"

namespace tether::net {

/// Why a stream could not go on, in the transport's words. Protocols map these
/// to their own close reasons (e.g. http's client_reset, keepalive_timeout).
enum class StreamError : std::uint8_t {
  kNone,
  kPeerReset,         // ECONNRESET / EPIPE: the peer reset or is gone
  kKeepaliveTimeout,  // ETIMEDOUT, nothing in flight: TCP keepalive probes went unanswered
  kUserTimeout,       // ETIMEDOUT, data in flight: TCP_USER_TIMEOUT or retransmissions gave up
  kOther,             // any other socket error
};
const char* streamErrorName(StreamError e) noexcept;

/// How one operation ended.
struct IoResult {
  enum class Kind : std::uint8_t {
    kDone,     // `bytes` moved (for writeAll: everything)
    kBlocked,  // the socket is full (write) or empty (read): wait for the next edge
    kEof,      // read only: the peer's FIN
    kFailed,   // `error` says why; the stream must be closed
  };
  Kind kind = Kind::kDone;
  std::size_t bytes = 0;
  // kDone from a transport: it already holds more input (or an end) than it
  // returned, so the caller reads again without waiting for an edge.
  bool more = false;
  int err = 0;  // errno when kFailed
  bool done() const noexcept { return kind == Kind::kDone; }
};

class Stream;

/// The seam for a transport under the stream (TLS). Each call is one
/// syscall-sized operation on `s.fd()`, with the plain path's contract.
class Transport {
 public:
  virtual IoResult read(Stream& s, char* buf, std::size_t len) = 0;
  virtual IoResult writev(Stream& s, const iovec* iov, int count) = 0;
  virtual IoResult sendFile(Stream& s, int fileFd, std::uint64_t offset, std::size_t len) = 0;
  virtual void shutdownWrite(Stream& s) = 0;
  /// The poller's events as the caller should see them: a transport whose read
  /// waits for the socket to be writable (TLS) turns EPOLLOUT into EPOLLIN too.
  virtual std::uint32_t adjustEvents(std::uint32_t events) const noexcept { return events; }
  /// For the pre-reuse check, when the poller saw nothing: true when no
  /// application byte and no end of the session is waiting. The transport may
  /// consume records of its own (TLS 1.3 tickets) to find out.
  virtual bool quiet(const Stream& s) noexcept = 0;
  /// For inputWaiting(): bytes received from the socket and not read yet that
  /// the transport holds (the loop's receiving transport's queue).
  virtual bool holdsInput(const Stream&) noexcept { return false; }
  /// The socket's error (an errno) when the transport received it for the
  /// owner and it is not read yet; 0 when none. Receiving an error clears it
  /// in the kernel, so a write after that fails with EPIPE only: the loop's
  /// receiving transport (io_uring) keeps what it took.
  virtual int heldError(const Stream&) noexcept { return 0; }
  /// A write that did not go through this transport (Stream::sendDirectly())
  /// found the socket full. The loop's transport then makes sure EPOLLOUT
  /// comes (io_uring polls for it only while a write waits).
  virtual void writeBlocked(Stream&) noexcept {}

 protected:
  ~Transport() = default;
};

class Stream {
 public:
  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  /// Takes `fd` (connected, non-blocking) and registers `handler` for `events`
  /// (EPOLLIN/EPOLLOUT/EPOLLRDHUP, edge-triggered). Writable is assumed until a
  /// write blocks.
  void open(EventLoop& loop, int fd, IoHandler* handler, std::uint32_t events);
  /// Takes `fd` without registering it: the owner registers it with the loop
  /// itself, later (the heartbeat session, on start()). Only the bookkeeping
  /// starts over.
  void adopt(int fd) noexcept;
  /// Closes the fd (RST instead of FIN when `reset`) and drops the events the
  /// loop already fetched for `handler`: the one place stale events die.
  void close(EventLoop& loop, IoHandler* handler, bool reset = false) noexcept;

  /// Forward each readiness event here first. Returns the events as the owner
  /// should act on them (a transport may turn writable into readable: TLS).
  std::uint32_t onEvents(std::uint32_t events) noexcept;

  /// One read into the owner's buffer. kDone with bytes > 0, kBlocked, kEof or kFailed.
  IoResult read(char* buf, std::size_t len);
  /// Reads and discards until the socket is empty (lingering close): kBlocked
  /// (`bytes` discarded, maybe 0), kEof, or kFailed.
  IoResult drain(char* scratch, std::size_t len);
  /// The send loop: writes `data` from `*sent` on until all of it is out
  /// (kDone), the socket is full (kBlocked) or it fails; advances `*sent`.
  IoResult writeAll(std::string_view data, std::size_t* sent);
  /// One gathering write (at most IOV_MAX pieces). kDone with the bytes taken.
  IoResult writev(const iovec* iov, int count);
  /// One sendfile() of up to `len` bytes of `fileFd` from `offset`. kDone with
  /// bytes == 0 means the file ended early (it was truncated).
  IoResult sendFile(int fileFd, std::uint64_t offset, std::size_t len);
  /// Sends our FIN; reading goes on (half-close).
  void shutdownWrite();
  /// For an idle stream about to be reused: true when nothing is waiting to be
  /// read and the peer has not closed (no FIN, RST or stray byte such as an
  /// unsolicited 408, seen by the poller or by a peek at the socket).
  bool quietAndOpen() const noexcept;
  /// The peer has sent bytes not read yet: in the socket (a peek) or already
  /// received by the loop's backend (io_uring). For eviction, which spares a
  /// connection whose next request is waiting.
  bool inputWaiting() const noexcept;

  /// Why the last kFailed happened, in the transport's vocabulary. For
  /// ETIMEDOUT, whether data was in flight decides keepalive vs user timeout:
  /// `queuedHere` (bytes the owner still has to write) or the kernel's own
  /// state (bytes unacknowledged, retransmission or zero-window backoff).
  StreamError classify(int err, bool queuedHere) const noexcept;

  /// Installs the owner's transport (TLS) before the first read, or nullptr
  /// for plain TCP again.
  void setTransport(Transport* t) noexcept {
    transport_ = t;
    flags_ &= ~kLoopTransport;
  }
  /// Writes become syscalls even on a loop that sends by itself (io_uring):
  /// kDone then means the kernel took the bytes. For the client pool, whose
  /// retry rule resends a request that is not idempotent only when the kernel
  /// provably took none of it. Call after open().
  void sendDirectly() noexcept { flags_ |= kDirectWrites; }

  /// The loop's transport this stream goes through (io_uring's receives and
  /// sends) while no transport of the owner's is installed; else nullptr.
  Transport* loopTransport() const noexcept {
    return (flags_ & kLoopTransport) ? transport_ : nullptr;
  }
  /// The owner's transport; nullptr for plain TCP (the loop's receiving
  /// transport is not the owner's).
  Transport* transport() const noexcept { return ownTransport(); }

  int fd() const noexcept { return fd_; }
  bool isOpen() const noexcept { return fd_ >= 0; }
  /// The socket may hold unread bytes (an edge came and no read drained it).
  bool readReady() const noexcept { return flags_ & kReadReady; }
  void setReadReady() noexcept { flags_ |= kReadReady; }
  /// The socket may take more bytes.
  bool writeReady() const noexcept { return flags_ & kWriteReady; }
  /// The peer's FIN (or a hang-up) was signalled by the poller; bytes before it
  /// may still be unread.
  bool peerClosing() const noexcept { return flags_ & kRdHup; }
  /// A read returned end of stream.
  bool peerEof() const noexcept { return flags_ & kEofSeen; }
  /// Either of the two: the peer will send nothing more.
  bool peerDone() const noexcept { return flags_ & (kRdHup | kEofSeen); }

 private:
  enum : std::uint8_t {
    kReadReady = 1,
    kWriteReady = 2,
    kRdHup = 4,
    kEofSeen = 8,
    kLoopTransport = 16,  // transport_ is the loop's (io_uring), not the owner's
    kDirectWrites = 32,   // sendDirectly(): writes skip the loop's transport
  };

  IoResult wrote(IoResult r) noexcept;
  Transport* ownTransport() const noexcept {
    return (flags_ & kLoopTransport) ? nullptr : transport_;
  }
  Transport* writer() const noexcept {
    return (flags_ & kDirectWrites) ? ownTransport() : transport_;
  }

  Transport* transport_ = nullptr;
  int fd_ = -1;
  std::uint8_t flags_ = 0;
};

}  // namespace tether::net
