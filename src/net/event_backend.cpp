// Choosing an event backend: names, parsing and the auto rule.
#include "tether/net/event_backend.h"

#include <sys/socket.h>

#include <cerrno>

namespace tether::net {

int EventBackend::accept(int listenFd) noexcept {
  int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  return fd >= 0 ? fd : -errno;
}

const char* ioBackendName(IoBackend b) noexcept {
  switch (b) {
    case IoBackend::kEpoll: return "epoll";
    case IoBackend::kIoUring: return "io_uring";
    case IoBackend::kAuto: return "auto";
  }
  return "auto";
}

std::optional<IoBackend> parseIoBackend(std::string_view word) noexcept {
  for (IoBackend b : {IoBackend::kEpoll, IoBackend::kIoUring, IoBackend::kAuto}) {
    if (word == ioBackendName(b)) return b;
  }
  return std::nullopt;
}

// auto probes by creating (and dropping) one ring with the flags the backend
// uses: the kernel, a sysctl (kernel.io_uring_disabled) or a container's
// seccomp profile may each refuse it.
IoBackend resolveIoBackend(IoBackend kind, std::string* why) {
  if (kind != IoBackend::kAuto) return kind;
  return makeIoUringBackend(why) ? IoBackend::kIoUring : IoBackend::kEpoll;
}

std::unique_ptr<EventBackend> makeEventBackend(IoBackend kind, std::string* why) {
  if (resolveIoBackend(kind, why) == IoBackend::kEpoll) return makeEpollBackend();
  return makeIoUringBackend(why);
}

}  // namespace tether::net
