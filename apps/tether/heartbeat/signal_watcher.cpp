#include "heartbeat/signal_watcher.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "shutdown_signals.h"

namespace tether::app::heartbeat {

SignalWatcher::SignalWatcher(net::EventLoop& loop, std::function<void(int)> onSignal)
    : loop_(loop), onSignal_(std::move(onSignal)) {
  sigset_t signals = blockShutdownSignals();
  fd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error("signalfd failed");
  loop_.addFd(fd_, EPOLLIN, this);
}

SignalWatcher::~SignalWatcher() {
  loop_.removeFd(fd_, this);
  ::close(fd_);
}

void SignalWatcher::onIoEvents(std::uint32_t) {
  signalfd_siginfo info;
  while (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    onSignal_(static_cast<int>(info.ssi_signo));
  }
}

}  // namespace tether::app::heartbeat
