// SIGINT/SIGTERM delivered as loop events (signalfd), so the heartbeat tools
// shut down as ordinary code on their single loop thread.
// Construct before any other thread starts: it blocks the signals process-wide
// for the calling thread (threads created later inherit the mask).
#pragma once

#include <functional>

#include "tether/net/event_loop.h"

namespace tether::app::heartbeat {

class SignalWatcher final : public net::IoHandler {
 public:
  /// Blocks SIGINT and SIGTERM, ignores SIGPIPE, and calls `onSignal` on the loop thread.
  SignalWatcher(net::EventLoop& loop, std::function<void(int)> onSignal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  void onIoEvents(std::uint32_t events) override;

 private:
  net::EventLoop& loop_;
  std::function<void(int)> onSignal_;
  int fd_;
};

}  // namespace tether::app::heartbeat
