// The seam between an EventLoop and the kernel's source of readiness: epoll
// now, io_uring later. The loop keeps everything else (timers, queued work,
// end-of-iteration hooks, dropping stale events); a backend only registers
// sockets and waits. One virtual call per syscall-sized operation.
//
// Event bits are the poll vocabulary (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP,
// EPOLLERR), which io_uring's poll requests share bit for bit. Registration is
// edge-triggered: a backend reports a change of state once.
//
// Threading: used by its loop's thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

namespace tether::net {

class IoHandler;

/// What happened to whose socket. `handler` is nullptr for the loop's own wake-up.
struct ReadyEvent {
  IoHandler* handler;
  std::uint32_t events;
};

class EventBackend {
 public:
  virtual ~EventBackend() = default;
  /// "epoll", "io_uring": shown at start-up and in the status.
  virtual const char* name() const noexcept = 0;
  /// Registers `fd` for `events`, edge-triggered; aborts when the kernel refuses
  /// (out of memory for the interest list: nothing sensible is left to do).
  virtual void add(int fd, std::uint32_t events, IoHandler* handler) = 0;
  /// Unregisters `fd` (closing the fd unregisters it too).
  virtual void remove(int fd) = 0;
  /// Waits at most `timeoutMs` (-1: until something happens, 0: not at all)
  /// and stores up to out.size() events. Returns how many (0 on EINTR).
  virtual int wait(int timeoutMs, std::span<ReadyEvent> out) = 0;
};

/// The epoll backend (epoll_create1, epoll_ctl, epoll_wait).
std::unique_ptr<EventBackend> makeEpollBackend();

}  // namespace tether::net
