#include "shutdown_signals.h"

#include <pthread.h>

#include <utility>

namespace tether::app {

sigset_t blockShutdownSignals() noexcept {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

ShutdownWaiter::ShutdownWaiter(sigset_t signals, std::function<void(int)> onSignal)
    : thread_([this, signals, onSignal = std::move(onSignal)] {
        int sig = 0;
        sigwait(&signals, &sig);
        if (!released_.load(std::memory_order_acquire)) onSignal(sig);
      }) {}

ShutdownWaiter::~ShutdownWaiter() {
  released_.store(true, std::memory_order_release);
  // The thread still waits unless a signal came: a signal of the set, sent to it
  // alone, ends its sigwait (it is blocked there, so it cannot kill the process).
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

}  // namespace tether::app
