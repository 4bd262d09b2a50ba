// A worker: one thread, one event loop, its own listeners (SO_REUSEPORT), its
// own connection pool, idle list, buffer pool, stats and access-log buffer.
// Shared-nothing: the only cross-worker state is the server's connection count.
//
// Threading: run() on the worker's thread; requestShutdown() and stats() from
// any thread; everything else on the worker's loop thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "server_connection.h"
#include "tether/http/histogram_counters.h"
#include "tether/http/server.h"
#include "tether/net/acceptor.h"
#include "tether/net/event_loop.h"

namespace tether::http {

struct ActiveState;

/// Single-writer counters: the worker's loop updates, anyone reads (relaxed).
class WorkerStats {
 public:
  using Counter = std::atomic<std::uint64_t>;
  static void add(Counter& c, std::int64_t delta) noexcept {
    addRelaxed(c, static_cast<std::uint64_t>(delta));
  }
  Counter idle{0}, reading{0}, writing{0}, lingering{0}, websockets{0}, eventStreams{0};
  /// The gauge counting connections in `state` (nullptr for kFree).
  Counter* gauge(ServerConnection::State state) noexcept {
    static constexpr Counter WorkerStats::*kByState[] = {nullptr,
                                                         &WorkerStats::idle,
                                                         &WorkerStats::reading,
                                                         &WorkerStats::reading,
                                                         &WorkerStats::writing,
                                                         &WorkerStats::writing,
                                                         &WorkerStats::lingering,
                                                         &WorkerStats::websockets,
                                                         &WorkerStats::eventStreams};
    Counter WorkerStats::*member = kByState[static_cast<std::size_t>(state)];
    return member == nullptr ? nullptr : &(this->*member);
  }
  Counter accepted{0}, requests{0}, reusedRequests{0};
  std::array<Counter, static_cast<std::size_t>(CloseReason::kCount)> closes{};
  Counter tlsFull{0}, tlsResumed{0}, tls12{0}, tls13{0}, tlsAbandoned{0};
  Counter wsOpened{0}, wsMessagesIn{0}, wsMessagesOut{0}, wsPingsSent{0}, wsPongsReceived{0};
  std::array<Counter, kWsCountedCloseCodes.size() + 1> wsCloseCodes{};
  Counter sseOpened{0}, sseEvents{0}, sseHeartbeats{0};
  static void addCloseCode(WorkerStats& s, std::uint16_t code) noexcept {
    add(s.wsCloseCodes[wsCloseCodeIndex(code)], 1);
  }
  std::array<HistogramCounters, static_cast<std::size_t>(Distribution::kCount)> histograms;
  void observe(Distribution d, std::uint64_t value) noexcept {
    histograms[static_cast<std::size_t>(d)].observe(histogramSpec(d), value);
  }

  void addTo(ServerStatsSnapshot& s) const noexcept;
};

/// The only state shared by workers.
struct SharedCounters {
  std::atomic<std::uint64_t> live{0};    // open connections, all workers
  std::atomic<std::uint64_t> nextId{1};  // connection ids, unique per server
};

class Worker final : public net::Acceptor::Owner {
 public:
  /// Takes ownership of `listenFds`; `logFd` (-1: none) stays owned by the server.
  /// `clock` drives the worker's loop (a ManualClock in unit tests).
  Worker(Server& server, std::vector<int> listenFds, SharedCounters& shared, int logFd,
         const core::Clock& clock = core::monotonicClock());
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Before start(): run `fn` every `period` ms on the loop until the shutdown begins.
  void addPeriodic(Millis period, std::function<void()> fn);
  /// Loop thread: arms the periodic calls (start() does it on its thread; unit
  /// tests driving the loop themselves call it).
  void startPeriodic();
  void start();  // spawns the thread running the loop
  void join();
  void requestShutdown();  // any thread
  const WorkerStats& stats() const noexcept { return stats_; }

  // Loop thread only.
  net::EventLoop& loop() noexcept { return *loop_; }
  const ServerOptions& options() const noexcept { return server_.options(); }
  const Server& server() const noexcept { return server_; }
  WorkerStats& mutableStats() noexcept { return stats_; }
  bool shuttingDown() const noexcept { return shuttingDown_; }
  Millis shutdownStartedAt() const noexcept { return shutdownAt_; }

  ActiveState* acquireActive();
  void releaseActive(ActiveState* state) noexcept;
  /// Request buffers held by connections now (idle ones hold none).
  std::size_t buffersInUse() const noexcept { return activeInUse_; }
  // The waiting list: connections waiting for a client's request head (fresh,
  // idle keep-alive, or a head still arriving), in the order their waits
  // began. Its first entry with no unread input is the eviction victim at the
  // connection limit and when descriptors run out.
  void markWaiting(ServerConnection& c) noexcept;       // (re)append: a wait begins now
  void markWaitingIfNot(ServerConnection& c) noexcept;  // append unless already there
  void unmarkWaiting(ServerConnection& c) noexcept;     // remove if present
  void retire(ServerConnection& c) noexcept;            // after close: recycle at end of iteration
  char* scratch() noexcept { return scratch_.get(); }
  static constexpr std::size_t kScratchSize = 64 * 1024;
  bool accessLogEnabled() const noexcept { return logFd_ >= 0; }
  void logAccess(const ServerConnection& c, std::string_view requestLine, int status,
                 std::uint64_t bytes, bool keepAlive);

 private:
  // One per listener: tells the worker whether its connections speak TLS.
  struct Listener final : net::Acceptor::Owner {
    Worker* worker = nullptr;
    bool tls = false;
    void onAccepted(int fd) override { worker->adopt(fd, tls); }
    bool onOutOfDescriptors() override { return worker->evictLongestWaiting(); }
  };
  // As an Acceptor::Owner itself (unit tests hand it sockets): plain connections.
  void onAccepted(int fd) override { adopt(fd, false); }
  bool onOutOfDescriptors() override { return evictLongestWaiting(); }
  void adopt(int fd, bool tls);
  bool makeRoom();
  bool evictLongestWaiting();
  Millis lifetimeWithJitter();
  void logLimited(const char* message);
  ServerConnection* allocateConnection();
  void endOfIteration();
  void beginShutdownInLoop();
  void forceCloseAll();
  template <typename Fn>
  void forEachOpen(Fn fn);
  void flushAccessLog();
  void schedulePeriodic(std::size_t index);

  Server& server_;
  SharedCounters& shared_;
  std::unique_ptr<net::EventLoop> loop_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<net::Acceptor>> acceptors_;
  std::thread thread_;
  WorkerStats stats_;

  std::vector<std::unique_ptr<ServerConnection[]>> chunks_;
  ServerConnection* freeConnections_ = nullptr;
  ServerConnection* retired_ = nullptr;
  std::uint64_t openConnections_ = 0;

  ServerConnection* waitHead_ = nullptr;  // the longest wait first
  ServerConnection* waitTail_ = nullptr;

  ActiveState* freeActive_ = nullptr;
  std::size_t freeActiveCount_ = 0;
  std::size_t activeInUse_ = 0;
  std::uint32_t bufferSize_;

  std::unique_ptr<char[]> scratch_;
  int logFd_ = -1;
  std::string logBuffer_;
  std::uint64_t rng_;
  Millis lastLogAt_ = -1'000'000;
  std::uint64_t suppressedLogs_ = 0;

  std::vector<std::pair<Millis, std::function<void()>>> periodic_;
  bool shuttingDown_ = false;
  Millis shutdownAt_ = 0;
};

}  // namespace tether::http
