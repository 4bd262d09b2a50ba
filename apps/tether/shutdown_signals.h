// The process-wide signal set-up shared by every long-running command.
#pragma once

#include <signal.h>

#include <cstdint>
#include <functional>
#include <thread>

namespace tether::app {

/// Blocks SIGINT and SIGTERM in the calling thread (threads created later inherit
/// the mask) and ignores SIGPIPE, so shutdown is taken synchronously (sigwait or
/// signalfd) as ordinary code. Call before starting any other thread. Returns the
/// blocked set.
sigset_t blockShutdownSignals() noexcept;

/// A thread that waits (a signalfd, no polling: it never wakes while nothing happens) for one
/// of `signals`, blocked beforehand by blockShutdownSignals(), and then calls
/// `onSignal(signal number)` on that thread, once. The destructor releases the thread when no
/// signal came (without calling `onSignal`) and joins it, so it also cleans up when the
/// command throws. Throws std::system_error when the descriptors cannot be created.
class ShutdownWaiter {
 public:
  ShutdownWaiter(sigset_t signals, std::function<void(int)> onSignal);
  ~ShutdownWaiter();
  ShutdownWaiter(const ShutdownWaiter&) = delete;
  ShutdownWaiter& operator=(const ShutdownWaiter&) = delete;

 private:
  void wait(const std::function<void(int)>& onSignal) const;

  int signalFd_;
  int releaseFd_;
  std::thread thread_;  // last: it starts with the descriptors in place
};

}  // namespace tether::app
