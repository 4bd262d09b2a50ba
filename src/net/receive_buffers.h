// The io_uring backend's receive side: a ring of provided buffers (buffer
// group 0) that multishot receives fill, and per-socket queues of what they
// received until the owner reads it.
//
// Memory: buffers are reserved once (kMaxBuffers × kBufferSize of address
// space) but only kInitialBuffers are offered at first; an ENOBUFS completion
// offers kGrowBy more. A buffer is offered again as soon as its bytes are
// copied out, so the pages touched follow the peak number of sockets with
// unread input, not the number of sockets: an idle connection holds none.
//
// Threading: the backend's loop thread only.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tether/net/stream.h"

namespace tether::net {

class ReceiveBuffers {
 public:
  static constexpr unsigned kBufferSize = 4096;
  static constexpr unsigned kMaxBuffers = 1024;  // ring entries: a power of two
  static constexpr unsigned kInitialBuffers = 64;
  static constexpr unsigned kGrowBy = 64;
  /// Chunks a socket may hold unread before its receive is stopped
  /// (backpressure: the owner is not reading; the socket buffer then fills).
  static constexpr unsigned kMaxQueued = 16;

  /// A socket's received chunks, oldest first: indices + 1 into the chunk pool
  /// (0: none). Eight bytes per registered socket.
  struct Queue {
    std::uint32_t head = 0;
    std::uint32_t tail = 0;
    bool empty() const noexcept { return head == 0; }
  };

  ReceiveBuffers() = default;
  ~ReceiveBuffers();
  ReceiveBuffers(const ReceiveBuffers&) = delete;
  ReceiveBuffers& operator=(const ReceiveBuffers&) = delete;

  /// Registers the buffer ring with `ring`: 0, or the kernel's negative errno
  /// (kernels before 5.19 have no buffer rings).
  int setup(io_uring* ring);

  /// Queues what one receive completion brought: bytes (res > 0, in the buffer
  /// named by `cqeFlags`), the peer's FIN (0) or an error (-errno).
  void push(Queue& q, int res, std::uint32_t cqeFlags);
  /// A completion nobody will read (its socket closed): its buffer goes back.
  void recycle(std::uint32_t cqeFlags) noexcept;
  /// Copies queued bytes into `buf`: kDone (`more` when something is still
  /// queued), kEof or kFailed when that is next in the queue, kBlocked when the
  /// queue is empty.
  IoResult take(Queue& q, char* buf, std::size_t len) noexcept;
  /// Every queued chunk back (the socket is closing).
  void release(Queue& q) noexcept;
  /// The errno the socket's last receive ended with, while it is queued; 0
  /// when none (an error ends a receive, so it is always the queue's last).
  int error(const Queue& q) const noexcept;
  /// True when the socket holds kMaxQueued chunks or more.
  bool full(const Queue& q) const noexcept;
  /// Offers kGrowBy more buffers (after ENOBUFS); false when all are offered.
  bool grow() noexcept;

 private:
  struct Chunk {
    std::int32_t res;     // bytes received, 0 (FIN) or -errno
    std::uint16_t bid;    // buffer id when res > 0
    std::uint16_t taken;  // bytes already copied out
    std::uint32_t next;   // index + 1, 0: last
  };

  char* buffer(unsigned bid) const noexcept { return buffers_ + std::size_t{bid} * kBufferSize; }
  void offer(unsigned bid) noexcept;
  std::uint32_t newChunk();
  void popFront(Queue& q) noexcept;

  io_uring_buf_ring* ring_ = nullptr;  // kMaxBuffers entries
  char* buffers_ = nullptr;            // kMaxBuffers × kBufferSize, reserved
  unsigned offered_ = 0;
  std::vector<Chunk> chunks_;
  std::uint32_t freeChunks_ = 0;  // index + 1
};

}  // namespace tether::net
