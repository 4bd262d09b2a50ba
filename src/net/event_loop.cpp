#include "tether/net/event_loop.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace tether::net {
namespace {

constexpr int kMaxEvents = 256;
// Timers fired per iteration. Deadlines cluster (heartbeat pings batched on a
// grid, idle timeouts of connections opened in one burst): thousands due at
// once would each write before the loop reads anything, and the answers that
// pile up meanwhile (pongs) would outnumber the io_uring receive buffers. In
// slices, the loop polls between them without blocking (nextWakeup() is now).
constexpr std::size_t kTimersPerIteration = 256;

[[noreturn]] void fatal(const char* what) {
  std::perror(what);
  std::abort();
}

}  // namespace

// The id dies before the call runs, so cancel() from inside the call is a no-op
// and the slot may be reused by a call it schedules.
void EventLoop::DelayedCall::fire() {
  auto call = std::move(fn);
  loop->release(*this);
  call();
}

void EventLoop::release(DelayedCall& call) noexcept {
  call.fn = nullptr;
  if (++call.generation == 0) call.generation = 1;
  freeDelayed_.push_back(call.slot);
}

EventLoop::EventLoop(const core::Clock& clock, std::unique_ptr<EventBackend> backend)
    : clock_(clock),
      backend_(std::move(backend)),
      wakeFd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      now_(clock.millis()),
      wheel_(now_),
      events_(kMaxEvents),
      threadId_(pthread_self()) {
  if (wakeFd_ < 0) fatal("eventfd");
  addFd(wakeFd_, EPOLLIN, nullptr);
  updateTime();
}

EventLoop::~EventLoop() {
  for (DelayedCall& call : delayed_) wheel_.unlink(call.timer);
  ::close(wakeFd_);
}

void EventLoop::run() {
  threadId_ = pthread_self();
  while (!quit_.load(std::memory_order_acquire)) runOnce(core::TimerWheel::kNever);
}

void EventLoop::runOnce(Millis maxWait) {
  int ready = backend_->wait(pollTimeoutMs(maxWait), events_);
  updateTime();
  if (ready > 0) dispatch(ready);
  wheel_.advance(now_, kTimersPerIteration);
  runQueued();
  runHooks();
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
  backend_->add(fd, events, handler);
}

void EventLoop::removeFd(int fd, IoHandler* handler) {
  backend_->remove(fd);
  forget(handler);
}

void EventLoop::closingFd(int fd, IoHandler* handler, bool discardOutput) noexcept {
  forget(handler);
  backend_->closing(fd, discardOutput);
}

// O(batch) per close, never per request; every entry of the batch for this
// handler belongs to the socket being closed (a new one registers later).
void EventLoop::forget(IoHandler* handler) noexcept {
  for (int i = dispatchNext_; i < dispatchEnd_; ++i) {
    if (events_[static_cast<std::size_t>(i)].handler == handler) {
      events_[static_cast<std::size_t>(i)].events = 0;
    }
  }
}

DelayedCallId EventLoop::runAfter(Millis delay, std::function<void()> fn) {
  if (freeDelayed_.empty()) {
    DelayedCall& fresh = delayed_.emplace_back();
    fresh.loop = this;
    fresh.slot = static_cast<std::uint32_t>(delayed_.size() - 1);
    freeDelayed_.push_back(fresh.slot);
  }
  DelayedCall& call = delayed_[freeDelayed_.back()];
  freeDelayed_.pop_back();
  call.fn = std::move(fn);
  wheel_.link(call.timer, now_ + delay);
  return {call.slot, call.generation};
}

void EventLoop::cancel(DelayedCallId id) noexcept {
  if (id.generation == 0 || id.slot >= delayed_.size()) return;
  DelayedCall& call = delayed_[id.slot];
  if (call.generation != id.generation || !call.timer.linked()) return;
  wheel_.unlink(call.timer);
  release(call);
}

std::uint64_t EventLoop::addEndOfIterationHook(std::function<void()> fn) {
  hooks_.push_back({nextHookId_, std::move(fn)});
  return nextHookId_++;
}

void EventLoop::removeEndOfIterationHook(std::uint64_t id) noexcept {
  for (Hook& h : hooks_) {
    if (h.id == id) h.fn = nullptr;  // erased after the hooks ran: removal may come from one
  }
  hooksRemoved_ = true;
}

void EventLoop::runHooks() {
  // By index: a hook may add hooks (push_back may reallocate).
  for (std::size_t i = 0; i < hooks_.size(); ++i) {
    if (hooks_[i].fn) hooks_[i].fn();
  }
  if (!hooksRemoved_) return;
  hooksRemoved_ = false;
  std::erase_if(hooks_, [](const Hook& h) { return !h.fn; });
}

bool EventLoop::isInLoopThread() const noexcept { return pthread_self() == threadId_; }

void EventLoop::assertInLoopThread() const { assert(isInLoopThread()); }

void EventLoop::updateTime() {
  now_ = clock_.millis();
  time_t wall = time(nullptr);
  if (wall == dateSecond_) return;
  dateSecond_ = wall;
  tm utc;
  gmtime_r(&wall, &utc);
  strftime(date_, sizeof date_, "%a, %d %b %Y %H:%M:%S GMT", &utc);
}

int EventLoop::pollTimeoutMs(Millis maxWait) const {
  // Work queued by other threads must not wait for the next I/O event.
  if (maxWait <= 0 || hasQueued_.load(std::memory_order_acquire)) return 0;
  // No periodic tick: an idle loop sleeps until its next deadline (the Date
  // cache is refreshed on every wake-up, so it never serves a stale second).
  Millis next = wheel_.nextWakeup();
  if (next == core::TimerWheel::kNever && maxWait == core::TimerWheel::kNever) return -1;
  Millis wait = next == core::TimerWheel::kNever ? maxWait : next - clock_.millis();
  wait = std::min(wait, maxWait);
  if (wait <= 0) return 0;
  constexpr Millis kMaxWait = 24 * 3600 * 1000;  // fits in an int
  return static_cast<int>(wait > kMaxWait ? kMaxWait : wait);
}

void EventLoop::dispatch(int ready) {
  dispatchEnd_ = ready;
  for (dispatchNext_ = 0; dispatchNext_ < ready;) {
    const ReadyEvent& ev = events_[static_cast<std::size_t>(dispatchNext_++)];
    if (ev.events == 0) continue;  // forgotten: its socket was closed in this batch
    IoHandler* handler = ev.handler;
    if (handler == nullptr) {
      std::uint64_t drained;
      [[maybe_unused]] ssize_t n = ::read(wakeFd_, &drained, sizeof drained);
      continue;
    }
    handler->onIoEvents(ev.events);
  }
  dispatchNext_ = dispatchEnd_ = 0;
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
