#include "shutdown_signals.h"

#include <time.h>

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

// The thread polls (sigtimedwait, 100 ms) rather than blocking in sigwait, so
// that releasing it never sends a signal of the set into the process: a
// SIGTERM aimed at the waiter while it exits is one thing less to reason about
// (a bench run under load was seen killed by SIGTERM; not reproduced since).
ShutdownWaiter::ShutdownWaiter(sigset_t signals, std::function<void(int)> onSignal)
    : thread_([this, signals, onSignal = std::move(onSignal)] {
        const timespec tick{0, 100'000'000};
        while (!released_.load(std::memory_order_acquire)) {
          int sig = sigtimedwait(&signals, nullptr, &tick);
          if (sig > 0) {
            onSignal(sig);
            return;
          }
        }
      }) {}

ShutdownWaiter::~ShutdownWaiter() {
  released_.store(true, std::memory_order_release);
  thread_.join();  // within one poll interval
}

}  // namespace tether::app
