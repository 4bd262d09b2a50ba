// One `tether bench` thread: its own EventLoop, connections, request budget,
// pacer, histogram and counters (shared-nothing). Created (with its loop) and
// destroyed by the driving thread, run on its own; requestStop() from any
// thread, progress() read anywhere.
//
// Closed loop (default): a connection writes its next request (or pipelined
// batch, one send) as soon as the previous responses are complete; latency is
// measured from that write. Open loop (--rate): the pacer assigns intended start
// times; a free connection takes a request when it is due, a late one at once,
// and latency is measured from the intended time.
//
// Time: every timestamp (latency, pacing, the measured window) is read from the
// loop's clock (EventLoop::clock()), in ns on that clock's base. The pacing wake-up
// is a timerfd when the loop runs on the monotonic clock: it wakes within tens of
// microseconds of the intended time, where the loop's 1 ms wheel (and epoll's
// millisecond timeout) sends each paced request up to about a millisecond late, and
// latency counts from the intended time (--rate 2000 against `tether serve` on
// loopback: p50 0.13-0.17 ms with the timerfd, 0.83-0.91 ms with the wheel). On any
// other clock (a ManualClock in tests) it is a timer on the loop's wheel, in virtual
// time.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tether/core/time.h"
#include "tether/net/event_loop.h"
#include "tether/net/tls_client.h"
#include "tether/tools/bench.h"
#include "tools/bench/bench_pacer.h"
#include "tools/bench/bench_stats.h"

namespace tether::tools::bench {

class BenchConnection;

/// What one thread must do: a share of the connections, requests and rate.
struct WorkerPlan {
  const BenchConfig* config = nullptr;
  int connections = 1;
  std::uint64_t requests = 0;  // 0: run for config->duration
  double rate = 0;             // this thread's share; 0: closed loop
  std::uint64_t startNs = 0;   // common start (ns on the worker's clock)
};

class BenchWorker final : private net::IoHandler {
 public:
  /// `clock`: the loop's (and so every timestamp's) time source; outlives the worker.
  explicit BenchWorker(const WorkerPlan& plan, const core::Clock& clock = core::monotonicClock());
  ~BenchWorker();
  BenchWorker(const BenchWorker&) = delete;
  BenchWorker& operator=(const BenchWorker&) = delete;

  /// Runs until the duration ends, the request budget is spent, or requestStop().
  void run();
  /// What run() does before running the loop: creates the connections and
  /// hands out the first requests. A test then drives loop().runOnce() itself.
  void begin();
  /// The run ended (duration, budget, or stop): the loop was asked to quit.
  bool finished() const noexcept { return finished_; }
  /// Any thread.
  void requestStop();

  const ThreadStats& stats() const noexcept { return stats_; }
  const ProgressCounters& progress() const noexcept { return progress_; }
  /// End of this worker's measured window (ns on the worker's clock).
  std::uint64_t endNs() const noexcept { return endNs_; }

  // --- For BenchConnection (loop thread) ---
  net::EventLoop& loop() noexcept { return *loop_; }
  /// Now on the loop's clock, in ns (sub-millisecond: latency stamps).
  std::uint64_t nowNs() const noexcept { return static_cast<std::uint64_t>(clock_.nanos()); }
  const BenchConfig& config() const noexcept { return *plan_.config; }
  /// https: this thread's origin (its sessions); null for http.
  net::TlsOrigin* tls() noexcept { return tls_.get(); }
  ThreadStats& mutableStats() noexcept { return stats_; }
  char* readBuffer() noexcept { return readBuffer_.get(); }
  static constexpr std::size_t kReadBufferSize = 64 * 1024;
  /// The pipelined batch: `pipeline` copies of the request, back to back.
  const std::string& batch() const noexcept { return batch_; }
  bool measured(std::uint64_t sentNs) const noexcept { return sentNs >= measuredFromNs_; }
  bool measuringNow(std::uint64_t nowNs) const noexcept { return nowNs >= measuredFromNs_; }
  /// Time since the measured window began (0 before it).
  std::uint64_t sinceMeasured(std::uint64_t nowNs) const noexcept {
    return nowNs > measuredFromNs_ ? nowNs - measuredFromNs_ : 0;
  }
  bool openLoop() const noexcept { return plan_.rate > 0; }
  /// The connection may take work: give it a request, park it, or close it.
  void onReady(BenchConnection& c, std::uint64_t nowNs);
  void publishProgress() noexcept;
  /// Returns `n` requests taken from the -n budget that the server never processed.
  void refund(std::uint32_t n) noexcept { budget_ += n; }

 private:
  void onIoEvents(std::uint32_t events) override;  // the pacer's timerfd
  void onPacerTimer();                             // the pacer's wheel timer
  void finish();
  void maybeFinish();
  std::uint32_t takeBudget(std::uint32_t wanted, std::uint64_t nowNs) noexcept;
  void issueDue(std::uint64_t nowNs);
  void armPacer();
  void schedulePublish();

  WorkerPlan plan_;
  const core::Clock& clock_;
  std::unique_ptr<net::EventLoop> loop_;
  std::unique_ptr<net::TlsOrigin> tls_;  // before the connections: outlives them
  std::vector<std::unique_ptr<BenchConnection>> conns_;
  std::vector<BenchConnection*> parked_;  // open loop: free connections waiting for a due request
  std::unique_ptr<char[]> readBuffer_;
  std::string batch_;
  ThreadStats stats_;
  ProgressCounters progress_;
  RatePacer pacer_;
  int pacerFd_ = -1;  // -1: the pacer uses pacerTimer_
  core::Timer<BenchWorker, &BenchWorker::onPacerTimer> pacerTimer_{this};
  bool pacerArmed_ = false;
  std::uint64_t pacerArmedFor_ = 0;
  bool budgeted_ = false;
  std::uint64_t budget_ = 0;
  std::uint64_t measuredFromNs_ = 0;
  std::uint64_t endNs_ = 0;
  bool finished_ = false;
};

}  // namespace tether::tools::bench
