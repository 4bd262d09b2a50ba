// The seam between an EventLoop and the kernel's source of readiness: epoll or
// io_uring (multishot poll requests). The loop keeps everything else (timers, queued work,
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
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tether::net {

class IoHandler;
class Transport;

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
  /// Unregisters `fd`; the fd stays open (it may be registered again).
  virtual void remove(int fd) = 0;
  /// `fd` is about to be closed. epoll: nothing (closing unregisters it);
  /// io_uring: the registration holds the file, so it is cancelled (without
  /// that, close() would not release the socket: no FIN), and a write it
  /// took still goes out before the FIN, unless `discardOutput` (a reset).
  virtual void closing(int fd, bool discardOutput) noexcept = 0;
  /// Waits at most `timeoutMs` (-1: until something happens, 0: not at all)
  /// and stores up to out.size() events. Returns how many (0 on EINTR).
  virtual int wait(int timeoutMs, std::span<ReadyEvent> out) = 0;
  /// A backend that receives into buffers of its own (io_uring) returns the
  /// transport its plain streams read through; nullptr when it only reports
  /// readiness (epoll). Owned by the backend.
  virtual Transport* receiveTransport() noexcept { return nullptr; }
  /// One connection from the listening socket `listenFd` (registered for
  /// EPOLLIN): its fd, non-blocking and close-on-exec, or -errno (-EAGAIN: none
  /// now; EPOLLIN comes when there is). epoll: accept4(). io_uring: the
  /// connections a multishot accept took, then accept4(). After closing(
  /// listenFd) it still hands out what the backend had accepted, until the
  /// next wait (which resets the rest, as close() resets a listener's queue).
  virtual int accept(int listenFd) noexcept;
};

/// Which backend a server's loops use. kAuto: io_uring when the kernel allows
/// it, else epoll.
enum class IoBackend : std::uint8_t { kEpoll, kIoUring, kAuto };
/// "epoll", "io_uring", "auto".
const char* ioBackendName(IoBackend b) noexcept;
/// The inverse of ioBackendName(); nullopt for any other word.
std::optional<IoBackend> parseIoBackend(std::string_view word) noexcept;

/// The epoll backend (epoll_create1, epoll_ctl, epoll_wait).
std::unique_ptr<EventBackend> makeEpollBackend();
/// The io_uring backend, or nullptr with the kernel's reason in `*why` (no
/// io_uring, disabled by sysctl or seccomp, a kernel older than 6.1).
std::unique_ptr<EventBackend> makeIoUringBackend(std::string* why);
/// `kind` resolved: kAuto becomes kIoUring when a ring can be created, else
/// kEpoll (`*why` then says why io_uring was not taken).
IoBackend resolveIoBackend(IoBackend kind, std::string* why);
/// A backend of a resolved kind (kAuto is resolved first); nullptr with `*why`
/// when io_uring was asked for and the kernel refuses it.
std::unique_ptr<EventBackend> makeEventBackend(IoBackend kind, std::string* why);

}  // namespace tether::net
