// The io_uring backend's send side: writes of plain streams copied into send
// slots and submitted with the iteration's one io_uring_enter (no send
// syscall), their completions, and what keeps the stream's order exact.
//
// Order: one slot per socket. While its SQE is not submitted, a further write
// appends to it (pipelined responses: one send); once submitted, a write, a
// sendfile or a FIN would overtake it, so writes and sendfile get kBlocked
// (EPOLLOUT when the slot finishes) and shutdownWrite() waits for it.
//
// Completion: MSG_WAITALL makes the kernel finish a short send itself (it
// polls the socket), so a slot ends with all its bytes sent or an error. An
// error goes into the socket's receive queue: the owner's next read or write
// fails with it, as it would have failed the send.
//
// Close: the slot is submitted before the close (closing() submits), so the
// kernel holds the socket until the bytes are out and the FIN follows them,
// as close() after send() on epoll. A peer that stops reading would hold it
// forever: a send still running orphanLimitMs_ after its close is cancelled
// (the kernel bounds an orphaned socket the same way), and a reset discards
// it at once.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <ctime>

#include "io_uring_backend.h"

namespace tether::net {
namespace {

using Kind = IoResult::Kind;

std::int64_t coarseMillis() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

std::size_t totalBytes(const iovec* iov, int count) noexcept {
  std::size_t n = 0;
  for (int i = 0; i < count; ++i) n += iov[i].iov_len;
  return n;
}

void append(std::vector<char>& to, const iovec* iov, int count) {
  for (int i = 0; i < count; ++i) {
    const char* p = static_cast<const char*>(iov[i].iov_base);
    to.insert(to.end(), p, p + iov[i].iov_len);
  }
}

}  // namespace

// A write the kernel refused for want of room: a poll must report it.
IoResult IoUringBackend::watched(int fd, IoResult r) noexcept {
  if (r.kind == Kind::kBlocked) waitWritable(fd);
  return r;
}

IoUringBackend::SendSlot* IoUringBackend::sendingOn(int fd) noexcept {
  auto index = static_cast<std::size_t>(fd);
  if (index >= sendOf_.size() || sendOf_[index] == 0) return nullptr;
  return &slots_[sendOf_[index] - 1u];
}

IoResult IoUringBackend::send(int fd, const iovec* iov, int count) {
  Registration* reg = live(fd);
  // Before the first wait nothing can be submitted, and a close then would
  // leave the SQE naming an fd number that may be reused: plain send.
  if (reg == nullptr || !enabled_ || !sendsOnRing_)
    return watched(fd, socket_io::writev(fd, iov, count));
  if (int err = buffers_.error(reg->queue)) return socket_io::failed(err);
  std::size_t size = totalBytes(iov, count);
  if (SendSlot* slot = sendingOn(fd)) {
    if (slot->queued == nullptr || slot->bytes.size() + size > kMaxSendBytes) {
      slot->ownerWaiting = true;
      return {Kind::kBlocked};
    }
    append(slot->bytes, iov, count);  // may move: the SQE is pointed at it again
    slot->queued->addr = reinterpret_cast<std::uintptr_t>(slot->bytes.data() + slot->sent);
    slot->queued->len = static_cast<std::uint32_t>(slot->bytes.size() - slot->sent);
    return {Kind::kDone, size};
  }
  std::uint32_t index = size == 0 || size > kMaxSendBytes ? kNoSlot : takeSlot(fd, *reg, size);
  if (index == kNoSlot) return watched(fd, socket_io::writev(fd, iov, count));
  append(slots_[index].bytes, iov, count);
  submitSend(index);
  return {Kind::kDone, size};
}

// The file's bytes must not overtake a send: wait for it.
IoResult IoUringBackend::sendFile(int fd, int fileFd, std::uint64_t offset, std::size_t len) {
  if (SendSlot* slot = sendingOn(fd)) {
    slot->ownerWaiting = true;
    return {Kind::kBlocked};
  }
  return watched(fd, socket_io::sendFile(fd, fileFd, offset, len));
}

// The FIN after the send's bytes: sent when the slot finishes (a lingering
// close only, so the syscall then costs nothing that matters).
void IoUringBackend::shutdownWrite(int fd) {
  SendSlot* slot = sendingOn(fd);
  if (slot == nullptr) {
    ::shutdown(fd, SHUT_WR);
    return;
  }
  slot->shutdownAfter = true;
  slot->queued = nullptr;  // nothing may be appended after the FIN
}

// A free slot for `fd`'s write of `size` bytes; kNoSlot when all are in use.
std::uint32_t IoUringBackend::takeSlot(int fd, const Registration& reg, std::size_t size) {
  if (freeSlots_.empty()) {
    if (slots_.size() >= kMaxSlots) return kNoSlot;
    slots_.emplace_back();
    freeSlots_.push_back(static_cast<std::uint32_t>(slots_.size() - 1));
  }
  auto index = static_cast<std::size_t>(fd);
  if (index >= sendOf_.size()) sendOf_.resize(index + 1);
  std::uint32_t slot = freeSlots_.back();
  freeSlots_.pop_back();
  SendSlot& s = slots_[slot];
  s.bytes.reserve(size);
  s.fd = fd;
  s.generation = reg.generation;
  sendOf_[index] = static_cast<std::uint16_t>(slot + 1);
  return slot;
}

// The send of a slot's unsent bytes, submitted with the next io_uring_enter.
void IoUringBackend::submitSend(std::uint32_t index) {
  SendSlot& s = slots_[index];
  io_uring_sqe* e = sqe();
  io_uring_prep_send(e, s.fd, s.bytes.data() + s.sent, s.bytes.size() - s.sent,
                     MSG_NOSIGNAL | MSG_WAITALL);
  io_uring_sqe_set_data64(e, std::uint64_t{s.serial} << 32 | kSendTag | index);
  s.queued = e;
  queuedSlots_.push_back(index);
}

// Every SQE was handed to the kernel: nothing can be appended any more.
void IoUringBackend::submitted() noexcept {
  for (std::uint32_t index : queuedSlots_) slots_[index].queued = nullptr;
  queuedSlots_.clear();
}

// `fd` is closing: its slot goes on without it (closing() submits it next).
// `reused`: the fd was closed without closingFd() and its number is being
// registered again; a send not submitted yet would go to the new socket, so
// it becomes a no-op.
void IoUringBackend::orphanSend(int fd, bool discard, bool reused) noexcept {
  SendSlot* slot = sendingOn(fd);
  if (slot == nullptr) return;
  sendOf_[static_cast<std::size_t>(fd)] = 0;
  slot->fd = -1;
  slot->orphanedAt = coarseMillis();
  ++orphans_;
  if (reused && slot->queued != nullptr) {
    std::uint64_t data = slot->queued->user_data;  // kept: its completion frees the slot
    io_uring_prep_nop(slot->queued);
    io_uring_sqe_set_data64(slot->queued, data);
    slot->queued = nullptr;
    return;
  }
  if (!discard) return;
  // After the send's own SQE: it is tried once, then cancelled if still waiting.
  auto index = static_cast<std::uint32_t>(slot - slots_.data());
  cancelRequest(std::uint64_t{slot->serial} << 32 | kSendTag | index);
  slot->cancelled = true;
}

// A send completion: the rest of a short send goes again; a finished slot
// tells its owner (EPOLLOUT when a write waited, an error in the queue) and
// is free again.
void IoUringBackend::sent(const io_uring_cqe& cqe) {
  std::uint64_t data = io_uring_cqe_get_data64(&cqe);
  auto index = static_cast<std::uint32_t>(data & (kSendTag - 1));
  SendSlot& s = slots_[index];
  if (s.serial != static_cast<std::uint32_t>(data >> 32)) return;  // cannot happen: one SQE per use
  if (cqe.res > 0) s.sent += static_cast<std::size_t>(cqe.res);
  bool finished = cqe.res <= 0 || s.sent == s.bytes.size();
  if (!finished) {
    if (s.fd >= 0 && !s.cancelled) return submitSend(index);
    finished = true;  // an orphan's rest: the socket is gone from the table
  }
  std::uint32_t events = 0;
  if (s.fd >= 0) {
    Registration& reg = regs_[static_cast<std::size_t>(s.fd)];
    if (cqe.res < 0) {
      buffers_.push(reg.queue, cqe.res, 0);
      events = EPOLLIN | EPOLLOUT | EPOLLERR;
    } else {
      if (s.shutdownAfter) ::shutdown(s.fd, SHUT_WR);
      if (s.ownerWaiting) events = EPOLLOUT;
    }
    sendOf_[static_cast<std::size_t>(s.fd)] = 0;
    if (events != 0) backlog_.push_back({s.fd, reg.generation, events});
  } else {
    --orphans_;
  }
  s.bytes.clear();
  s.sent = 0;
  s.fd = -1;
  s.queued = nullptr;
  s.ownerWaiting = s.shutdownAfter = s.cancelled = false;
  ++s.serial;
  freeSlots_.push_back(index);
}

// Orphaned sends still running past the limit: the peer stopped reading.
// The slot table is scanned at most once a second (a limit of a minute needs
// no finer grain), not at every wait while an orphan is in flight.
void IoUringBackend::cancelStaleOrphans() {
  if (orphans_ == 0) return;
  std::int64_t now = coarseMillis();
  if (now < nextOrphanScan_) return;
  nextOrphanScan_ = now + kOrphanScanMs;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    SendSlot& s = slots_[i];
    if (s.fd >= 0 || s.cancelled || s.bytes.empty() || now - s.orphanedAt < orphanLimitMs_) {
      continue;
    }
    cancelRequest(std::uint64_t{s.serial} << 32 | kSendTag | i);
    s.cancelled = true;
  }
}

}  // namespace tether::net
