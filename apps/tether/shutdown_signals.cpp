#include "shutdown_signals.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace tether::app {
namespace {

int checked(int fd, const char* what) {
  if (fd < 0) throw std::system_error(errno, std::generic_category(), what);
  return fd;
}

}  // namespace

sigset_t blockShutdownSignals() noexcept {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

// The thread sleeps in poll() on a signalfd and an eventfd: no wake-up while
// nothing happens, and releasing it writes the eventfd instead of sending a
// signal of the set into the process (a SIGTERM aimed at the waiter while it
// exits is one thing less to reason about).
ShutdownWaiter::ShutdownWaiter(sigset_t signals, std::function<void(int)> onSignal)
    : signalFd_(checked(signalfd(-1, &signals, SFD_CLOEXEC), "signalfd")),
      releaseFd_(checked(eventfd(0, EFD_CLOEXEC), "eventfd")),
      thread_([this, onSignal = std::move(onSignal)] { wait(onSignal); }) {}

void ShutdownWaiter::wait(const std::function<void(int)>& onSignal) const {
  pollfd fds[2] = {{signalFd_, POLLIN, 0}, {releaseFd_, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;  // released
    signalfd_siginfo info;
    if (::read(signalFd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      onSignal(static_cast<int>(info.ssi_signo));
      return;
    }
  }
}

ShutdownWaiter::~ShutdownWaiter() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(releaseFd_, &one, sizeof one);
  thread_.join();
  ::close(releaseFd_);
  ::close(signalFd_);
}

}  // namespace tether::app
