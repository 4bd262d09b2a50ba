#include "receive_buffers.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "socket_io.h"

namespace tether::net {

using Kind = IoResult::Kind;

ReceiveBuffers::~ReceiveBuffers() {
  if (ring_ != nullptr) munmap(ring_, kMaxBuffers * sizeof(io_uring_buf));
  if (buffers_ != nullptr) munmap(buffers_, std::size_t{kMaxBuffers} * kBufferSize);
}

int ReceiveBuffers::setup(io_uring* ring) {
  // The ring of buffer descriptors must be page-aligned; the buffers are
  // address space only until the kernel first writes into one.
  void* entries = mmap(nullptr, kMaxBuffers * sizeof(io_uring_buf), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (entries == MAP_FAILED) return -errno;
  void* space = mmap(nullptr, std::size_t{kMaxBuffers} * kBufferSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (space == MAP_FAILED) {
    int err = errno;
    munmap(entries, kMaxBuffers * sizeof(io_uring_buf));
    return -err;
  }
  ring_ = static_cast<io_uring_buf_ring*>(entries);
  buffers_ = static_cast<char*>(space);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(ring_);
  reg.ring_entries = kMaxBuffers;
  reg.bgid = 0;
  int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc < 0) return rc;  // the destructor unmaps
  io_uring_buf_ring_init(ring_);
  while (offered_ < kInitialBuffers) offer(offered_++);
  return 0;
}

void ReceiveBuffers::offer(unsigned bid) noexcept {
  io_uring_buf_ring_add(ring_, buffer(bid), kBufferSize, static_cast<unsigned short>(bid),
                        io_uring_buf_ring_mask(kMaxBuffers), 0);
  io_uring_buf_ring_advance(ring_, 1);
}

bool ReceiveBuffers::grow() noexcept {
  if (offered_ >= kMaxBuffers) return false;
  unsigned end = std::min(offered_ + kGrowBy, kMaxBuffers);
  while (offered_ < end) offer(offered_++);
  return true;
}

std::uint32_t ReceiveBuffers::newChunk() {
  if (freeChunks_ == 0) {
    chunks_.push_back({});
    return static_cast<std::uint32_t>(chunks_.size());
  }
  std::uint32_t index = freeChunks_;
  freeChunks_ = chunks_[index - 1].next;
  return index;
}

void ReceiveBuffers::push(Queue& q, int res, std::uint32_t cqeFlags) {
  bool hasBuffer = cqeFlags & IORING_CQE_F_BUFFER;
  if (res > 0 && !hasBuffer) res = -EFAULT;  // cannot happen with buffer selection
  if (res <= 0 && hasBuffer) recycle(cqeFlags);
  std::uint32_t index = newChunk();
  auto bid = static_cast<std::uint16_t>(res > 0 ? cqeFlags >> IORING_CQE_BUFFER_SHIFT : 0);
  chunks_[index - 1] = {res, bid, 0, 0};
  if (q.tail != 0) {
    chunks_[q.tail - 1].next = index;
  } else {
    q.head = index;
  }
  q.tail = index;
}

void ReceiveBuffers::recycle(std::uint32_t cqeFlags) noexcept {
  if (cqeFlags & IORING_CQE_F_BUFFER) offer(cqeFlags >> IORING_CQE_BUFFER_SHIFT);
}

void ReceiveBuffers::popFront(Queue& q) noexcept {
  std::uint32_t index = q.head;
  q.head = chunks_[index - 1].next;
  if (q.head == 0) q.tail = 0;
  chunks_[index - 1].next = freeChunks_;
  freeChunks_ = index;
}

IoResult ReceiveBuffers::take(Queue& q, char* buf, std::size_t len) noexcept {
  std::size_t copied = 0;
  while (!q.empty() && copied < len) {
    Chunk& c = chunks_[q.head - 1];
    if (c.res <= 0) {  // the end or an error: after the bytes before it
      if (copied > 0) break;
      IoResult r = c.res == 0 ? IoResult{Kind::kEof} : socket_io::failed(-c.res);
      popFront(q);
      return r;
    }
    std::size_t n = std::min(len - copied, static_cast<std::size_t>(c.res - c.taken));
    std::memcpy(buf + copied, buffer(c.bid) + c.taken, n);
    copied += n;
    c.taken = static_cast<std::uint16_t>(c.taken + n);
    if (c.taken == c.res) {
      offer(c.bid);
      popFront(q);
    }
  }
  if (copied == 0) return {Kind::kBlocked};
  IoResult r{Kind::kDone, copied};
  r.more = !q.empty();
  return r;
}

void ReceiveBuffers::release(Queue& q) noexcept {
  while (!q.empty()) {
    const Chunk& c = chunks_[q.head - 1];
    if (c.res > 0) offer(c.bid);
    popFront(q);
  }
}

int ReceiveBuffers::error(const Queue& q) const noexcept {
  return q.tail != 0 && chunks_[q.tail - 1].res < 0 ? -chunks_[q.tail - 1].res : 0;
}

bool ReceiveBuffers::full(const Queue& q) const noexcept {
  unsigned n = 0;
  for (std::uint32_t i = q.head; i != 0 && n < kMaxQueued; i = chunks_[i - 1].next) ++n;
  return n >= kMaxQueued;
}

}  // namespace tether::net
