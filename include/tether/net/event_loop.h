// One event loop per thread (muduo's "one loop per thread", nginx's worker),
// on an EventBackend (epoll by default).
//
// Threading contract: an EventLoop is created, run and destroyed on one thread.
// Every method is loop-thread-only unless marked "Any thread". Objects that
// register with a loop (connections, listeners) are owned by that loop's thread
// and never migrate.
//
// Time: the loop reads its injected clock once per iteration (now()); timers
// live on its wheel. With a ManualClock and runOnce(0), a test drives the loop
// in virtual time: advance the clock, run one iteration, look.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "tether/core/time.h"
#include "tether/core/timer_wheel.h"
#include "tether/net/event_backend.h"

namespace tether::net {

using core::Millis;

/// Receives readiness events for one file descriptor. Registered edge-triggered.
class IoHandler {
 public:
  virtual void onIoEvents(std::uint32_t events) = 0;

 protected:
  ~IoHandler() = default;
};

/// A delayed call's handle; a default-constructed one refers to nothing.
struct DelayedCallId {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;  // 0: none
};

class EventLoop {
 public:
  explicit EventLoop(const core::Clock& clock = core::monotonicClock(),
                     std::unique_ptr<EventBackend> backend = makeEpollBackend());
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Runs until quit(). Each iteration: wait, dispatch I/O, fire timers, run
  /// queued functors, then the end-of-iteration hooks (deferred destruction).
  void run();
  /// One iteration, waiting at most `maxWait` ms for I/O (0: do not block).
  void runOnce(Millis maxWait);
  /// Any thread. Makes run() return after the current iteration.
  void quit();
  /// Any thread. Queues `fn` to run on the loop thread and wakes the loop.
  void queueInLoop(std::function<void()> fn);

  /// Registers `fd` edge-triggered for `events` (EPOLLIN/EPOLLOUT/EPOLLRDHUP).
  void addFd(int fd, std::uint32_t events, IoHandler* handler);
  /// Unregisters `fd` and drops the events already fetched for `handler`.
  void removeFd(int fd, IoHandler* handler);
  /// `fd` of `handler` is about to be closed by the caller: drops the events
  /// already fetched for `handler` (forget()) and lets the backend let go of
  /// the file. Stream::close() calls it; every registered fd closes through it.
  /// `discardOutput`: the caller resets the connection; bytes a backend still
  /// holds for it (io_uring's sends) need not go out.
  void closingFd(int fd, IoHandler* handler, bool discardOutput = false) noexcept;
  /// Drops the events already fetched in this iteration for `handler`: a
  /// handler (or the object reusing it) never sees an event of a socket it closed.
  void forget(IoHandler* handler) noexcept;

  /// Loop time in ms from the injected clock, refreshed once per iteration.
  Millis now() const noexcept { return now_; }
  /// The injected clock, for sub-millisecond stamps (latency, RTT).
  const core::Clock& clock() const noexcept { return clock_; }
  core::TimerWheel& timers() noexcept { return wheel_; }

  /// Runs `fn` once after `delay` ms on this loop, unless cancelled first.
  /// Pending calls are discarded (not run) when the loop is destroyed.
  DelayedCallId runAfter(Millis delay, std::function<void()> fn);
  /// Cancels a pending call; a call that already ran (or an empty id) is a no-op.
  void cancel(DelayedCallId id) noexcept;

  /// Registers a hook run at the end of every iteration (after all callbacks):
  /// the place to destroy objects that must not die inside their own callback.
  /// Returns an id for removeEndOfIterationHook().
  std::uint64_t addEndOfIterationHook(std::function<void()> fn);
  /// Removes a hook; safe from inside a hook.
  void removeEndOfIterationHook(std::uint64_t id) noexcept;

  /// The cached `Date:` header value (IMF-fixdate), refreshed at most once a second.
  std::string_view httpDate() const noexcept { return {date_, kDateLen}; }

  /// The backend's receiving transport for plain streams (Stream::open), or
  /// nullptr: see EventBackend::receiveTransport().
  Transport* receiveTransport() noexcept { return backend_->receiveTransport(); }

  /// A connection from `listenFd`: see EventBackend::accept().
  int accept(int listenFd) noexcept { return backend_->accept(listenFd); }

  /// The backend's name ("epoll", "io_uring").
  const char* backendName() const noexcept { return backend_->name(); }

  bool isInLoopThread() const noexcept;
  void assertInLoopThread() const;

 private:
  struct DelayedCall {
    void fire();
    EventLoop* loop = nullptr;
    std::uint32_t slot = 0;
    std::uint32_t generation = 1;
    std::function<void()> fn;
    core::Timer<DelayedCall, &DelayedCall::fire> timer{this};
  };
  struct Hook {
    std::uint64_t id;
    std::function<void()> fn;
  };
  static constexpr std::size_t kDateLen = 29;

  void release(DelayedCall& call) noexcept;
  void updateTime();
  int pollTimeoutMs(Millis maxWait) const;
  void dispatch(int ready);
  void runQueued();
  void runHooks();
  void wakeup();

  const core::Clock& clock_;
  std::unique_ptr<EventBackend> backend_;
  int wakeFd_;
  std::atomic<bool> quit_{false};
  std::atomic<bool> hasQueued_{false};
  Millis now_;
  core::TimerWheel wheel_;
  std::vector<ReadyEvent> events_;
  int dispatchNext_ = 0;  // events_[dispatchNext_, dispatchEnd_) are still to dispatch
  int dispatchEnd_ = 0;
  std::mutex queueMutex_;
  std::vector<std::function<void()>> queue_;
  std::vector<Hook> hooks_;
  std::uint64_t nextHookId_ = 1;
  bool hooksRemoved_ = false;
  std::deque<DelayedCall> delayed_;  // stable addresses: the wheel links their timers
  std::vector<std::uint32_t> freeDelayed_;
  long dateSecond_ = -1;
  char date_[kDateLen + 1];
  unsigned long threadId_;
};

}  // namespace tether::net
