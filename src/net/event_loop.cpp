#include "tether/net/event_loop.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "tether/core/clock.h"

namespace tether::net {
namespace {

constexpr int kMaxEvents = 256;

[[noreturn]] void fatal(const char* what) {
  std::perror(what);
  std::abort();
}

}  // namespace

// A one-shot timer owned by the loop: the entry must be first so the callback
// can recover the call from the entry.
struct EventLoop::DelayedCall {
  core::TimerEntry entry{&DelayedCall::fire};
  std::function<void()> fn;
  EventLoop* loop;
  std::size_t index;

  static void fire(core::TimerEntry& e) {
    auto* call = reinterpret_cast<DelayedCall*>(&e);
    auto& list = call->loop->delayed_;
    list[call->index] = list.back();  // swap-remove keeps removal O(1)
    list[call->index]->index = call->index;
    list.pop_back();
    auto fn = std::move(call->fn);
    delete call;
    fn();
  }
};

EventLoop::EventLoop()
    : epfd_(epoll_create1(EPOLL_CLOEXEC)),
      wakeFd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      now_(core::monotonicMillis()),
      wheel_(now_),
      events_(kMaxEvents),
      threadId_(pthread_self()) {
  if (epfd_ < 0) fatal("epoll_create1");
  if (wakeFd_ < 0) fatal("eventfd");
  addFd(wakeFd_, EPOLLIN, nullptr);
  updateTime();
}

EventLoop::~EventLoop() {
  for (DelayedCall* call : delayed_) {
    wheel_.unlink(call->entry);
    delete call;
  }
  ::close(wakeFd_);
  ::close(epfd_);
}

void EventLoop::run() {
  threadId_ = pthread_self();
  while (!quit_.load(std::memory_order_acquire)) {
    int ready =
        epoll_wait(epfd_, events_.data(), static_cast<int>(events_.size()), pollTimeoutMs());
    if (ready < 0 && errno != EINTR) fatal("epoll_wait");
    updateTime();
    if (ready > 0) dispatch(ready);
    wheel_.advance(now_);
    runQueued();
    for (auto& hook : endHooks_) hook();
  }
}

void EventLoop::quit() {
  quit_.store(true, std::memory_order_release);
  if (!isInLoopThread()) wakeup();
}

void EventLoop::queueInLoop(std::function<void()> fn) {
  {
    std::lock_guard lock(queueMutex_);
    queue_.push_back(std::move(fn));
    hasQueued_.store(true, std::memory_order_release);
  }
  wakeup();
}

void EventLoop::addFd(int fd, std::uint32_t events, IoHandler* handler) {
  epoll_event ev{};
  ev.events = events | EPOLLET;
  ev.data.ptr = handler;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) fatal("epoll_ctl add");
}

void EventLoop::removeFd(int fd) { epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::runAfter(Millis delay, std::function<void()> fn) {
  auto* call = new DelayedCall;
  call->fn = std::move(fn);
  call->loop = this;
  call->index = delayed_.size();
  delayed_.push_back(call);
  wheel_.link(call->entry, now_ + delay);
}

void EventLoop::addEndOfIterationHook(std::function<void()> fn) {
  endHooks_.push_back(std::move(fn));
}

bool EventLoop::isInLoopThread() const noexcept { return pthread_self() == threadId_; }

void EventLoop::assertInLoopThread() const { assert(isInLoopThread()); }

void EventLoop::updateTime() {
  now_ = core::monotonicMillis();
  time_t wall = time(nullptr);
  if (wall == dateSecond_) return;
  dateSecond_ = wall;
  tm utc;
  gmtime_r(&wall, &utc);
  strftime(date_, sizeof date_, "%a, %d %b %Y %H:%M:%S GMT", &utc);
}

int EventLoop::pollTimeoutMs() const {
  // Work queued by other threads must not wait for the next I/O event.
  if (hasQueued_.load(std::memory_order_acquire)) return 0;
  // No periodic tick: an idle loop sleeps until its next deadline (the Date
  // cache is refreshed on every wake-up, so it never serves a stale second).
  Millis next = wheel_.nextWakeup();
  if (next == core::TimerWheel::kNever) return -1;
  Millis wait = next - core::monotonicMillis();
  if (wait <= 0) return 0;
  constexpr Millis kMaxWait = 24 * 3600 * 1000;  // fits in an int
  return static_cast<int>(wait > kMaxWait ? kMaxWait : wait);
}

void EventLoop::dispatch(int ready) {
  for (int i = 0; i < ready; ++i) {
    auto* handler = static_cast<IoHandler*>(events_[i].data.ptr);
    if (handler == nullptr) {
      std::uint64_t drained;
      [[maybe_unused]] ssize_t n = ::read(wakeFd_, &drained, sizeof drained);
      continue;
    }
    handler->onIoEvents(events_[i].events);
  }
}

void EventLoop::runQueued() {
  if (!hasQueued_.load(std::memory_order_acquire)) return;  // the common case: no lock
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(queueMutex_);
    work.swap(queue_);
    hasQueued_.store(false, std::memory_order_relaxed);
  }
  for (auto& fn : work) fn();
}

void EventLoop::wakeup() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wakeFd_, &one, sizeof one);
}

}  // namespace tether::net
