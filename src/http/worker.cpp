#include "worker.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "active_state.h"
#include "tether/net/socket.h"
#include "tether/net/tls.h"

namespace tether::http {
namespace {

constexpr std::size_t kConnectionChunk = 256;
constexpr std::size_t kMaxPooledActive = 256;
constexpr std::size_t kKeepCapacity = 64 * 1024;  // larger buffers are not pooled

// The kind was resolved (and io_uring probed) by Server::bind(); a refusal now
// means the kernel ran out of something between the two.
std::unique_ptr<net::EventBackend> makeBackend(net::IoBackend kind) {
  std::string why;
  auto backend = net::makeEventBackend(kind, &why);
  if (!backend) throw std::runtime_error(std::string("io_uring: ") + why);
  return backend;
}

template <typename String>
void shrinkIfLarge(String& s) {
  if (s.capacity() > kKeepCapacity) String().swap(s);
}

}  // namespace

void WorkerStats::addTo(ServerStatsSnapshot& s) const noexcept {
  auto get = [](const Counter& c) { return c.load(std::memory_order_relaxed); };
  s.idle += get(idle);
  s.reading += get(reading);
  s.writing += get(writing);
  s.lingering += get(lingering);
  s.websockets += get(websockets);
  s.eventStreams += get(eventStreams);
  s.sseOpened += get(sseOpened);
  s.sseEvents += get(sseEvents);
  s.sseHeartbeats += get(sseHeartbeats);
  s.wsOpened += get(wsOpened);
  s.wsMessagesIn += get(wsMessagesIn);
  s.wsMessagesOut += get(wsMessagesOut);
  s.wsPingsSent += get(wsPingsSent);
  s.wsPongsReceived += get(wsPongsReceived);
  for (std::size_t i = 0; i < wsCloseCodes.size(); ++i) s.wsCloseCodes[i] += get(wsCloseCodes[i]);
  s.accepted += get(accepted);
  s.requests += get(requests);
  s.reusedRequests += get(reusedRequests);
  for (std::size_t i = 0; i < closes.size(); ++i) s.closes[i] += get(closes[i]);
  s.tlsFullHandshakes += get(tlsFull);
  s.tlsResumedHandshakes += get(tlsResumed);
  s.tls12 += get(tls12);
  s.tls13 += get(tls13);
  s.tlsHandshakesAbandoned += get(tlsAbandoned);
  for (std::size_t i = 0; i < histograms.size(); ++i) histograms[i].addTo(s.histograms[i]);
}

Worker::Worker(Server& server, std::vector<int> listenFds, SharedCounters& shared, int logFd,
               const core::Clock& clock)
    : server_(server),
      shared_(shared),
      loop_(std::make_unique<net::EventLoop>(clock, makeBackend(server.options().ioBackend))),
      bufferSize_(static_cast<std::uint32_t>(
          std::max<std::uint64_t>(16 * 1024, server.options().maxHeaderSize + 4096))),
      scratch_(std::make_unique<char[]>(kScratchSize)),
      logFd_(logFd),
      rng_(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(this)) | 1) {
  // listenFds[i] listens on options().listen[i].
  const std::vector<bool>& tls = server.options().tlsListen;
  for (std::size_t i = 0; i < listenFds.size(); ++i) {
    listeners_.push_back(std::make_unique<Listener>());
    listeners_.back()->worker = this;
    listeners_.back()->tls = i < tls.size() && tls[i];
    acceptors_.push_back(std::make_unique<net::Acceptor>(*loop_, listenFds[i], *listeners_.back(),
                                                         /*noDelay=*/true));
  }
  loop_->addEndOfIterationHook([this] { endOfIteration(); });
}

Worker::~Worker() {
  forceCloseAll();
  endOfIteration();
  while (freeActive_ != nullptr) {
    ActiveState* next = freeActive_->nextFree;
    delete freeActive_;
    freeActive_ = next;
  }
}

void Worker::addPeriodic(Millis period, std::function<void()> fn) {
  periodic_.emplace_back(period, std::move(fn));
}

void Worker::startPeriodic() {
  for (std::size_t i = 0; i < periodic_.size(); ++i) schedulePeriodic(i);
}

void Worker::start() {
  thread_ = std::thread([this] {
    startPeriodic();
    loop_->run();
  });
}

// Re-armed after each run, so a slow call delays the next instead of piling up;
// not after the shutdown began, so the loop can quit once drained.
void Worker::schedulePeriodic(std::size_t index) {
  loop_->runAfter(periodic_[index].first, [this, index] {
    if (shuttingDown_) return;
    periodic_[index].second();
    schedulePeriodic(index);
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::requestShutdown() {
  loop_->queueInLoop([this] { beginShutdownInLoop(); });
}

// ---- accepting ----------------------------------------------------------------

// Out of descriptors, the acceptor asks onOutOfDescriptors() to close the
// connection waiting longest for its client, and otherwise comes back later.
void Worker::adopt(int fd, bool tls) {
  if (!makeRoom()) {
    ::close(fd);
    logLimited("tether: max-connections reached and every connection is busy; refused");
    return;
  }
  ServerConnection* c = allocateConnection();
  shared_.live.fetch_add(1, std::memory_order_relaxed);
  ++openConnections_;
  WorkerStats::add(stats_.accepted, 1);
  std::uint64_t id = shared_.nextId.fetch_add(1, std::memory_order_relaxed);
  c->open(*this, fd, id, loop_->now() + lifetimeWithJitter(), tls ? server_.tlsContext() : nullptr);
}

// At the limit, the connection that has waited longest for its client makes
// way (as nginx's ngx_drain_connections closes idle keep-alive ones). Waiting
// counts from the end of the last response (or the accept) to a complete head,
// so an idle keep-alive connection and a head trickling in (slowloris) rank
// alike, and a busy client, whose waits last microseconds, is the last to go:
// evicting idle keep-alive connections only would hand a slowloris flood every
// slot of the well-behaved clients. A connection whose head is complete (a
// request in progress) never makes way.
bool Worker::makeRoom() {
  std::uint64_t limit = server_.maxConnections();
  if (shared_.live.load(std::memory_order_relaxed) < limit) return true;
  if (!evictLongestWaiting()) return false;
  logLimited(
      "tether: max-connections reached; closed the connection waiting longest for its client");
  return true;
}

// A waiting connection between requests whose client has already sent more is
// not idle, only not read yet: accepted in the same burst as the newcomer, or its event comes
// later in this batch. Closing it would reset a client that did nothing wrong
// (and, at EMFILE, trade one fresh connection for another, over and over), so
// the search looks past a few of those; with none to spare the newcomer is
// refused, or the acceptor retries once they have been served.
bool Worker::evictLongestWaiting() {
  constexpr int kMaxProbes = 16;  // bounds the peeks per eviction
  int probes = 0;
  for (ServerConnection* c = waitHead_; c != nullptr && probes < kMaxProbes;
       c = c->waitNext, ++probes) {
    // A head already started (a slowloris trickle) earns no such protection.
    if (c->state() == ServerConnection::State::kIdle && c->inputWaiting()) continue;
    c->close(CloseReason::kEviction);
    return true;
  }
  return false;
}

Millis Worker::lifetimeWithJitter() {
  const ServerOptions& o = options();
  Millis base = o.keepaliveTime;
  if (o.keepaliveJitterPercent <= 0 || base <= 0) return base;
  // xorshift64: cheap, per-worker, good enough to spread reconnect waves.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  Millis span = base * o.keepaliveJitterPercent / 100;
  Millis offset = static_cast<Millis>(rng_ % static_cast<std::uint64_t>(2 * span + 1)) - span;
  return base + offset;
}

void Worker::logLimited(const char* message) {
  ++suppressedLogs_;
  if (loop_->now() - lastLogAt_ < 1000) return;
  fmt::print(stderr, "{} (x{})\n", message, suppressedLogs_);
  lastLogAt_ = loop_->now();
  suppressedLogs_ = 0;
}

// ---- pools --------------------------------------------------------------------

ServerConnection* Worker::allocateConnection() {
  if (freeConnections_ == nullptr) {
    chunks_.push_back(std::make_unique<ServerConnection[]>(kConnectionChunk));
    for (std::size_t i = 0; i < kConnectionChunk; ++i) {
      chunks_.back()[i].nextFree = freeConnections_;
      freeConnections_ = &chunks_.back()[i];
    }
  }
  ServerConnection* c = freeConnections_;
  freeConnections_ = c->nextFree;
  return c;
}

void Worker::retire(ServerConnection& c) noexcept {
  shared_.live.fetch_sub(1, std::memory_order_relaxed);
  --openConnections_;
  c.nextFree = retired_;
  retired_ = &c;
}

ActiveState* Worker::acquireActive() {
  ++activeInUse_;
  if (freeActive_ == nullptr) return new ActiveState(bufferSize_);
  ActiveState* a = freeActive_;
  freeActive_ = a->nextFree;
  --freeActiveCount_;
  return a;
}

void Worker::releaseActive(ActiveState* a) noexcept {
  --activeInUse_;
  a->clear();
  if (freeActiveCount_ >= kMaxPooledActive) {
    delete a;
    return;
  }
  shrinkIfLarge(a->out);
  shrinkIfLarge(a->parser.body());
  shrinkIfLarge(a->response.body());
  a->nextFree = freeActive_;
  freeActive_ = a;
  ++freeActiveCount_;
}

namespace {
bool isWaiting(const ServerConnection& c, const ServerConnection* head) noexcept {
  return c.waitPrev != nullptr || head == &c;
}
}  // namespace

void Worker::markWaiting(ServerConnection& c) noexcept {
  unmarkWaiting(c);
  c.waitPrev = waitTail_;
  c.waitNext = nullptr;
  (waitTail_ ? waitTail_->waitNext : waitHead_) = &c;
  waitTail_ = &c;
}

void Worker::markWaitingIfNot(ServerConnection& c) noexcept {
  if (!isWaiting(c, waitHead_)) markWaiting(c);
}

void Worker::unmarkWaiting(ServerConnection& c) noexcept {
  if (!isWaiting(c, waitHead_)) return;
  (c.waitPrev ? c.waitPrev->waitNext : waitHead_) = c.waitNext;
  (c.waitNext ? c.waitNext->waitPrev : waitTail_) = c.waitPrev;
  c.waitPrev = c.waitNext = nullptr;
}

// ---- iteration end, shutdown ----------------------------------------------------

void Worker::endOfIteration() {
  while (retired_ != nullptr) {
    ServerConnection* c = retired_;
    retired_ = c->nextFree;
    c->recycle();
    c->nextFree = freeConnections_;
    freeConnections_ = c;
  }
  if (!logBuffer_.empty()) flushAccessLog();
  if (shuttingDown_ && openConnections_ == 0) loop_->quit();
}

void Worker::beginShutdownInLoop() {
  if (shuttingDown_) return;
  shuttingDown_ = true;
  shutdownAt_ = loop_->now();
  // Take what the kernel already accepted, so closing the listener resets nobody.
  for (auto& a : acceptors_) a->acceptPendingAndClose();
  forEachOpen([](ServerConnection& c) { c.onShutdown(); });
  loop_->runAfter(options().shutdownTimeout, [this] { forceCloseAll(); });
}

void Worker::forceCloseAll() {
  forEachOpen([](ServerConnection& c) { c.close(CloseReason::kShutdown); });
}

template <typename Fn>
void Worker::forEachOpen(Fn fn) {
  for (auto& chunk : chunks_) {
    for (std::size_t i = 0; i < kConnectionChunk; ++i) {
      if (chunk[i].state() != ServerConnection::State::kFree) fn(chunk[i]);
    }
  }
}

// ---- access log ---------------------------------------------------------------

void Worker::logAccess(const ServerConnection& c, std::string_view requestLine, int status,
                       std::uint64_t bytes, bool keepAlive) {
  if (logFd_ < 0) return;
  net::SocketAddress peer = net::peerAddress(c.fd());
  fmt::format_to(std::back_inserter(logBuffer_), "{} conn={} req={} [{}] \"{}\" {} {} {}",
                 peer.toString(), c.id(), c.requests(), loop_->httpDate(),
                 requestLine.empty() ? std::string_view("-") : requestLine, status, bytes,
                 keepAlive ? "keep-alive" : "close");
  // TLS connections only, so plain lines keep their format.
  if (const net::TlsTransport* tls = c.tls()) {
    fmt::format_to(std::back_inserter(logBuffer_), " tls={} {}", tls->version(),
                   tls->resumed() ? "resumed" : "full");
  }
  logBuffer_ += '\n';
}

void Worker::flushAccessLog() {
  // O_APPEND writes of whole lines: workers sharing the file never interleave lines.
  std::size_t off = 0;
  while (off < logBuffer_.size()) {
    ssize_t n = ::write(logFd_, logBuffer_.data() + off, logBuffer_.size() - off);
    if (n <= 0 && errno == EINTR) continue;
    if (n <= 0) break;  // log full or gone: drop rather than stall serving
    off += static_cast<std::size_t>(n);
  }
  logBuffer_.clear();
}

}  // namespace tether::http
