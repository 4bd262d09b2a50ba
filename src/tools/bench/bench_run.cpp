// runBench(): splits the work over the threads, runs them, merges the results
// and takes the TIME_WAIT counts around the run.
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tools/bench/bench_percentiles.h"
#include "tools/bench/bench_stats.h"
#include "tools/bench/bench_timewait.h"
#include "tools/bench/bench_worker.h"

namespace tether::tools::bench {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(20);
constexpr std::uint64_t kProgressEveryNs = 1'000'000'000;
// After the last close, the FIN/ACK exchanges that create TIME_WAIT entries need
// the server to react; wait for the port's closing sockets to settle, bounded.
constexpr int kSettlePolls = 50;  // x 20 ms

std::vector<WorkerPlan> planWorkers(const BenchConfig& cfg, std::uint64_t startNs) {
  std::vector<WorkerPlan> plans(std::size_t(cfg.threads));
  for (int i = 0; i < cfg.threads; ++i) {
    WorkerPlan& p = plans[std::size_t(i)];
    p.config = &cfg;
    p.startNs = startNs;
    p.connections = cfg.connections / cfg.threads + (i < cfg.connections % cfg.threads ? 1 : 0);
    auto t = std::uint64_t(cfg.threads);
    p.requests = cfg.requests / t + (std::uint64_t(i) < cfg.requests % t ? 1 : 0);
    p.rate = cfg.rate / double(cfg.threads);
  }
  return plans;
}

std::optional<PortSocketCounts> settledCounts(int port, const PortSet& own) {
  std::optional<PortSocketCounts> counts;
  for (int i = 0; i < kSettlePolls; ++i) {
    counts = readPortSocketCounts(port, &own);
    if (!counts || (counts->clientClosing == 0 && counts->serverClosing == 0)) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  return counts;
}

void reportProgress(const BenchConfig& cfg, const std::vector<std::unique_ptr<BenchWorker>>& ws,
                    std::uint64_t startNs, std::uint64_t now, std::uint64_t& lastNs,
                    std::uint64_t& lastRequests) {
  Progress p;
  for (const auto& w : ws) {
    p.requests += w->progress().requests.load(std::memory_order_relaxed);
    p.errors += w->progress().errors.load(std::memory_order_relaxed);
  }
  p.elapsedS = double(now - startNs) / 1e9;
  double dt = double(now - lastNs) / 1e9;
  p.recentRps = dt > 0 && p.requests >= lastRequests ? double(p.requests - lastRequests) / dt : 0;
  lastNs = now;
  lastRequests = p.requests;
  cfg.onProgress(p);
}

}  // namespace

BenchResult runBench(const BenchConfig& cfg) {
  if (cfg.threads < 1 || cfg.connections < cfg.threads || cfg.pipeline < 1) {
    throw std::invalid_argument("runBench: need 1 <= threads <= connections and pipeline >= 1");
  }
  BenchResult result;
  int port = cfg.target.port();
  // Counted at the end, once the run's own client ports are known.
  std::string beforeTables;
  bool haveBefore = readTcpTables(beforeTables);

  // The workers' loops run on the same clock: their timestamps share its base.
  const core::Clock& clock = core::monotonicClock();
  auto nowNs = [&clock] { return static_cast<std::uint64_t>(clock.nanos()); };
  std::uint64_t startNs = nowNs();
  std::vector<std::unique_ptr<BenchWorker>> workers;
  for (const WorkerPlan& plan : planWorkers(cfg, startNs)) {
    workers.push_back(std::make_unique<BenchWorker>(plan, clock));
  }
  std::atomic<int> running{cfg.threads};
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&running, worker = w.get()] {
      worker->run();
      running.fetch_sub(1, std::memory_order_release);
    });
  }

  // Every worker ends by itself (duration, budget, or per-request timeouts).
  std::uint64_t lastNs = startNs, lastRequests = 0, nextProgress = startNs + kProgressEveryNs;
  bool stopSent = false;
  while (running.load(std::memory_order_acquire) > 0) {
    std::this_thread::sleep_for(kPollInterval);
    if (!stopSent && cfg.stop.stop_requested()) {
      for (auto& w : workers) w->requestStop();
      stopSent = result.interrupted = true;
    }
    std::uint64_t now = nowNs();
    if (cfg.onProgress && now >= nextProgress) {
      reportProgress(cfg, workers, startNs, now, lastNs, lastRequests);
      nextProgress += kProgressEveryNs;
    }
  }
  for (auto& t : threads) t.join();

  std::uint64_t measuredFrom = startNs + std::uint64_t(cfg.warmup) * 1'000'000u;
  std::uint64_t endNs = measuredFrom;
  for (auto& w : workers) {
    w->stats().mergeInto(result);
    if (w->endNs() > endNs) endNs = w->endNs();
  }
  LatencyHistogram merged, handshakes;
  PortSet own;
  for (auto& w : workers) {
    merged.merge(w->stats().latency);
    handshakes.merge(w->stats().tlsHandshake);
    own |= w->stats().ownPorts;
  }
  result.latency = summarize(merged);
  result.tls.enabled = cfg.tls != nullptr;
  result.tls.handshake = summarize(handshakes);
  result.latencyDistribution = percentileDistribution(merged);
  result.elapsedS = double(endNs - measuredFrom) / 1e9;
  workers.clear();  // closes any socket left

  std::optional<PortSocketCounts> after = settledCounts(port, own);
  if (haveBefore && after) {
    PortSocketCounts before;
    countTcpTable(beforeTables, port, before, &own);
    result.timeWait = {true, before.serverTimeWait, after->serverTimeWait, before.clientTimeWait,
                       after->clientTimeWait};
  }
  return result;
}

}  // namespace tether::tools::bench
