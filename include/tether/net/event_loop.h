// One epoll loop per thread (muduo's "one loop per thread", nginx's worker).
//
// Threading contract: an EventLoop is created, run and destroyed on one thread.
// Every method is loop-thread-only unless marked "Any thread". Objects that
// register with a loop (connections, listeners) are owned by that loop's thread
// and never migrate.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string_view>
#include <vector>

#include "tether/core/timer_wheel.h"

namespace tether::net {

using core::Millis;

/// Receives readiness events for one file descriptor. Registered edge-triggered.
class IoHandler {
 public:
  virtual void onIoEvents(std::uint32_t events) = 0;

 protected:
  ~IoHandler() = default;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Runs until quit(). Each iteration: wait, dispatch I/O, fire timers, run
  /// queued functors, then the end-of-iteration hooks (deferred destruction).
  void run();
  /// Any thread. Makes run() return after the current iteration.
  void quit();
  /// Any thread. Queues `fn` to run on the loop thread and wakes the loop.
  void queueInLoop(std::function<void()> fn);

  /// Registers `fd` edge-triggered for `events` (EPOLLIN/EPOLLOUT/EPOLLRDHUP).
  void addFd(int fd, std::uint32_t events, IoHandler* handler);
  void removeFd(int fd);

  /// Loop time in ms (CLOCK_MONOTONIC), refreshed once per iteration.
  Millis now() const noexcept { return now_; }
  core::TimerWheel& timers() noexcept { return wheel_; }

  /// Runs `fn` once after `delay` ms on this loop. Pending ones are discarded
  /// (not run) when the loop is destroyed.
  void runAfter(Millis delay, std::function<void()> fn);

  /// Registers a hook run at the end of every iteration (after all callbacks):
  /// the place to destroy objects that must not die inside their own callback.
  void addEndOfIterationHook(std::function<void()> fn);

  /// The cached `Date:` header value (IMF-fixdate), refreshed at most once a second.
  std::string_view httpDate() const noexcept { return {date_, kDateLen}; }

  bool isInLoopThread() const noexcept;
  void assertInLoopThread() const;

 private:
  struct DelayedCall;
  static constexpr std::size_t kDateLen = 29;

  void updateTime();
  int pollTimeoutMs() const;
  void dispatch(int ready);
  void runQueued();
  void wakeup();

  int epfd_;
  int wakeFd_;
  std::atomic<bool> quit_{false};
  std::atomic<bool> hasQueued_{false};
  Millis now_;
  core::TimerWheel wheel_;
  std::vector<epoll_event> events_;
  std::mutex queueMutex_;
  std::vector<std::function<void()>> queue_;
  std::vector<std::function<void()>> endHooks_;
  std::vector<DelayedCall*> delayed_;
  long dateSecond_ = -1;
  char date_[kDateLen + 1];
  unsigned long threadId_;
};

}  // namespace tether::net
