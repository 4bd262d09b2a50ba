#include "tools/bench/bench_worker.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <stdexcept>

#include "tools/bench/bench_connection.h"

namespace tether::tools::bench {
namespace {

constexpr core::Millis kProgressEveryMs = 200;

}  // namespace

// The loop exists before the worker's thread starts (created here, run there),
// so requestStop() from the driving thread never sees it half-made.
BenchWorker::BenchWorker(const WorkerPlan& plan, const core::Clock& clock)
    : plan_(plan), clock_(clock), loop_(std::make_unique<net::EventLoop>(clock_)) {
  if (const BenchConfig& c = *plan_.config; c.tls) {
    tls_ = std::make_unique<net::TlsOrigin>(*c.tls, c.tlsServerName);
    tls_->mode().offerSession = c.tlsResume;
  }
}

BenchWorker::~BenchWorker() {
  conns_.clear();  // closes sockets and unlinks timers while the loop still exists
  if (pacerTimer_.linked()) loop_->timers().unlink(pacerTimer_);
  if (pacerFd_ >= 0) ::close(pacerFd_);
}

void BenchWorker::run() {
  begin();
  loop_->run();
  for (auto& c : conns_) c->close();
}

void BenchWorker::begin() {
  readBuffer_ = std::make_unique<char[]>(kReadBufferSize);
  const BenchConfig& cfg = config();
  for (int i = 0; i < cfg.pipeline; ++i) batch_ += cfg.request;
  measuredFromNs_ = plan_.startNs + std::uint64_t(cfg.warmup) * 1'000'000u;
  budgeted_ = cfg.requests > 0;
  budget_ = plan_.requests;
  conns_.reserve(std::size_t(plan_.connections));
  for (int i = 0; i < plan_.connections; ++i) {
    conns_.push_back(std::make_unique<BenchConnection>(*this));
  }
  std::uint64_t now = nowNs();
  if (!budgeted_) {
    // runAfter() counts from the loop's time, read when the loop was made on the driving
    // thread, not from `now`: a thread that begins late must not end the run early.
    std::uint64_t endNs = measuredFromNs_ + std::uint64_t(config().duration) * 1'000'000u;
    core::Millis endMs = core::Millis((endNs + 999'999u) / 1'000'000u);  // never before endNs
    loop_->runAfter(std::max<core::Millis>(0, endMs - loop_->now()), [this] { finish(); });
  }
  if (openLoop()) {
    pacer_ = RatePacer(plan_.startNs, plan_.rate);
    // Sub-millisecond pacing where the clock is one a timerfd can follow (see the header).
    if (dynamic_cast<const core::MonotonicClock*>(&clock_) != nullptr) {
      pacerFd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
      if (pacerFd_ < 0) throw std::runtime_error("timerfd_create failed");
      loop_->addFd(pacerFd_, EPOLLIN, this);
    }
  }
  schedulePublish();
  for (auto& c : conns_) {
    if (finished_) break;
    onReady(*c, now);
  }
  maybeFinish();  // a thread whose share of -n is 0
}

void BenchWorker::requestStop() {
  loop_->queueInLoop([this] { finish(); });
}

void BenchWorker::schedulePublish() {
  loop_->runAfter(kProgressEveryMs, [this] {
    publishProgress();
    if (!finished_) schedulePublish();
  });
}

void BenchWorker::publishProgress() noexcept {
  progress_.requests.store(stats_.requests, std::memory_order_relaxed);
  progress_.errors.store(stats_.errors.total(), std::memory_order_relaxed);
}

std::uint32_t BenchWorker::takeBudget(std::uint32_t wanted, std::uint64_t nowNs) noexcept {
  if (!budgeted_ || !measuringNow(nowNs)) return wanted;  // warm-up requests are free
  std::uint32_t k = budget_ < wanted ? std::uint32_t(budget_) : wanted;
  budget_ -= k;
  return k;
}

void BenchWorker::onReady(BenchConnection& c, std::uint64_t nowNs) {
  if (finished_ || (budgeted_ && budget_ == 0 && measuringNow(nowNs))) {
    c.close();
    return maybeFinish();
  }
  if (c.parked) return;  // open loop: already waiting for a due request
  if (openLoop()) {
    if (!pacer_.due(nowNs)) {
      c.parked = true;
      parked_.push_back(&c);
      return armPacer();
    }
    bool charged = budgeted_ && measuringNow(nowNs);
    takeBudget(1, nowNs);
    return c.issue(1, pacer_.take(), false, charged);
  }
  bool charged = budgeted_ && measuringNow(nowNs);
  std::uint32_t k = takeBudget(std::uint32_t(config().pipeline), nowNs);
  c.issue(k, nowNs, true, charged);
}

// Open loop: hand every due request to a parked connection.
void BenchWorker::issueDue(std::uint64_t nowNs) {
  while (!parked_.empty() && pacer_.due(nowNs) && !finished_) {
    BenchConnection* c = parked_.back();
    parked_.pop_back();
    c->parked = false;
    onReady(*c, nowNs);
  }
  if (!parked_.empty()) armPacer();
}

void BenchWorker::armPacer() {
  std::uint64_t at = pacer_.nextNs();
  if (pacerArmed_ && pacerArmedFor_ == at) return;
  pacerArmed_ = true;
  pacerArmedFor_ = at;
  if (pacerFd_ < 0) {
    // The first tick at or after `at`: the request is then due.
    constexpr std::uint64_t kNsPerMs = 1'000'000;
    loop_->timers().link(pacerTimer_, core::Millis((at + kNsPerMs - 1) / kNsPerMs));
    return;
  }
  itimerspec spec{};
  spec.it_value.tv_sec = time_t(at / 1'000'000'000u);
  spec.it_value.tv_nsec = long(at % 1'000'000'000u);
  if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  ::timerfd_settime(pacerFd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void BenchWorker::onIoEvents(std::uint32_t) {
  std::uint64_t expirations;
  [[maybe_unused]] ssize_t n = ::read(pacerFd_, &expirations, sizeof expirations);
  pacerArmed_ = false;
  issueDue(nowNs());
}

void BenchWorker::onPacerTimer() {
  pacerArmed_ = false;
  issueDue(nowNs());
}

void BenchWorker::maybeFinish() {
  if (finished_ || !budgeted_ || budget_ != 0) return;
  for (const auto& c : conns_) {
    if (!c->quiescent()) return;
  }
  finish();
}

void BenchWorker::finish() {
  if (finished_) return;
  finished_ = true;
  endNs_ = nowNs();
  for (auto& c : conns_) c->close();
  parked_.clear();
  if (pacerTimer_.linked()) loop_->timers().unlink(pacerTimer_);
  publishProgress();
  loop_->quit();
}

}  // namespace tether::tools::bench
