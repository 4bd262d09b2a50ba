#include "pool_impl.h"

#include <cerrno>

#include "retry_policy.h"
#include "reuse_policy.h"
#include "tether/http/client/request_writer.h"

namespace tether::http::client {
namespace {

constexpr std::size_t kReadBufferSize = 64 * 1024;

ClientError toError(const AttemptFailure& f) {
  ClientError e;
  e.kind = f.kind;
  e.sysErrno = f.sysErrno;
  e.detail = f.detail;
  e.requestSent = f.requestSent;
  // Once a request byte left, only a response proves what happened; a close,
  // a timeout or garbage does not prove the server did nothing.
  e.maybeProcessed = f.requestSent;
  return e;
}

// "example.test:8443" -> "example.test"; "[::1]:8443" -> "::1".
std::string hostWithoutPort(const std::string& authority) {
  if (!authority.empty() && authority.front() == '[') {
    return authority.substr(1, authority.find(']') - 1);
  }
  std::size_t colon = authority.find(':');
  if (colon != std::string::npos && authority.find(':', colon + 1) == std::string::npos) {
    return authority.substr(0, colon);
  }
  return authority;  // no port, or a bare IPv6 literal
}

}  // namespace

PoolImpl::PoolImpl(net::EventLoop& loop, const net::SocketAddress& origin, std::string host,
                   const PoolOptions& options)
    : loop_(loop),
      origin_(origin),
      host_(std::move(host)),
      options_(options),
      readBuffer_(kReadBufferSize),
      rng_(options.seed != 0 ? options.seed : std::random_device{}()),
      alive_(std::make_shared<PoolImpl*>(this)) {
  if (options_.tls != nullptr) {
    std::string name = options_.serverName.empty() ? hostWithoutPort(host_) : options_.serverName;
    tls_ = std::make_unique<net::TlsOrigin>(*options_.tls, std::move(name));
  }
  // Closed connections may still have events in the loop's current batch:
  // free them only once the iteration is over.
  loop_.addEndOfIterationHook([alive = alive_] {
    if (*alive != nullptr) (*alive)->freeRetired();
  });
}

PoolImpl::~PoolImpl() {
  *alive_ = nullptr;
  for (auto& c : conns_) c->close();
}

void PoolImpl::request(ClientRequest request, Pool::Callback done) {
  ++stats_.requests;
  auto ex = std::make_unique<Exchange>();
  ex->request = std::move(request);
  ex->done = std::move(done);
  ex->replayable = isReplayable(ex->request);
  ex->startUs = statsMicros();
  std::string probe;
  if (const char* bad = serializeRequest(ex->request, host_, probe); *bad != '\0') {
    ex->result.error = {ErrorKind::kInvalidRequest, 0, false, false, bad};
    return deliver(std::move(ex));
  }
  dispatch(std::move(ex));
}

void PoolImpl::dispatch(std::unique_ptr<Exchange> ex) {
  if (!ex->forceFresh) {
    if (ClientConnection* conn = takeIdle()) {
      ++stats_.reusedAttempts;
      ex->result.stats.attempts += 1;
      return conn->start(std::move(ex), loop_.now());
    }
  }
  if (conns_.size() < options_.maxConnections) return openFor(std::move(ex));
  if (idleTail_ != nullptr) {  // full, but an idle one can make room for the fresh one
    retire(*idleTail_);
    return openFor(std::move(ex));
  }
  ex->forceFresh ? queue_.push_front(std::move(ex)) : queue_.push_back(std::move(ex));
}

// LIFO: the most recently used connection is the least likely to be stale.
ClientConnection* PoolImpl::takeIdle() {
  while (ClientConnection* conn = idleHead_) {
    unlinkIdle(*conn);
    if (!options_.checkBeforeReuse || conn->peerStillThere()) return conn;
    ++stats_.staleBeforeReuse;
    retire(*conn);
  }
  return nullptr;
}

void PoolImpl::openFor(std::unique_ptr<Exchange> ex) {
  Millis now = loop_.now();
  double unit = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  Millis end = lifetimeEnd(now, options_.maxLifetime, options_.lifetimeJitterPercent, unit);
  auto conn = std::make_unique<ClientConnection>(*this, nextId_++, end);
  ex->result.stats.attempts += 1;
  if (!conn->connect(origin_, options_.keepalive, now)) {
    AttemptFailure f;
    f.kind = ErrorKind::kConnectFailed;
    f.sysErrno = errno;
    f.detail = "connect failed";
    ex->result.error = toError(f);
    ex->result.stats.noRetryReason = "no connection: the request was not sent";
    return deliver(std::move(ex));
  }
  ++stats_.connectionsOpened;
  conn->slot = conns_.size();
  ClientConnection* raw = conn.get();
  conns_.push_back(std::move(conn));
  raw->start(std::move(ex), now);
}

void PoolImpl::onResponse(ClientConnection& conn, std::unique_ptr<Exchange> ex, bool reusable,
                          std::int64_t hintSeconds) {
  Millis now = loop_.now();
  IdleInput in;
  in.now = now;
  in.responseReusable = reusable;
  in.idleTimeout = options_.idleTimeout;
  in.honourHint = options_.honourKeepAliveHint;
  in.hintSeconds = hintSeconds;
  in.hintMargin = options_.keepAliveHintMargin;
  in.lifetimeEnd = conn.lifetimeEnd();
  in.requestsDone = conn.requests();
  in.maxRequests = options_.maxRequestsPerConnection;
  IdleDecision d = decideIdle(in);
  if (d.verdict == KeepVerdict::kKeep) {
    conn.enterIdle(d.deadline, now);
    pushIdle(conn);
  } else {
    ++stats_.notKept;
    retire(conn);
  }
  pumpQueue();
  deliver(std::move(ex));
}

void PoolImpl::onFailure(ClientConnection& conn, std::unique_ptr<Exchange> ex,
                         const AttemptFailure& f) {
  retire(conn);
  if (!ex) return pumpQueue();
  RetryInput in;
  in.replayable = ex->replayable;
  in.reusedConnection = ex->result.stats.reused;
  in.requestBytesSent = f.requestSent;
  in.responseBytesReceived = f.responseStarted;
  in.connectionClosed = f.connectionClosed;
  in.attempt = ex->result.stats.attempts;
  RetryDecision d = decideRetry(in);
  if (d.retry) {
    ++stats_.retries;
    ex->result.stats.retryReason = d.reason;
    ex->result.response = {};
    ex->forceFresh = true;  // its idle siblings are likely stale too
    return dispatch(std::move(ex));
  }
  ex->result.error = toError(f);
  bool connecting = f.kind == ErrorKind::kConnectFailed || f.kind == ErrorKind::kConnectTimeout;
  ex->result.stats.noRetryReason =
      connecting ? "no connection: the request was not sent" : d.reason;
  pumpQueue();
  deliver(std::move(ex));
}

void PoolImpl::onIdlePeerClosed(ClientConnection& conn) {
  ++stats_.peerClosedWhileIdle;
  unlinkIdle(conn);
  retire(conn);
}

void PoolImpl::onIdleExpired(ClientConnection& conn) {
  ++stats_.idleExpired;
  unlinkIdle(conn);
  retire(conn);
}

void PoolImpl::pumpQueue() {
  while (!queue_.empty() && (idleHead_ != nullptr || conns_.size() < options_.maxConnections)) {
    std::unique_ptr<Exchange> ex = std::move(queue_.front());
    queue_.pop_front();
    dispatch(std::move(ex));
  }
}

void PoolImpl::deliver(std::unique_ptr<Exchange> ex) {
  ClientResult& r = ex->result;
  r.stats.totalUs = statsMicros() - ex->startUs;
  ++(r.ok() ? stats_.succeeded : stats_.failed);
  Pool::Callback done = std::move(ex->done);
  ClientResult result = std::move(r);
  ex.reset();  // the callback may re-enter the pool; nothing of ours stays borrowed
  done(std::move(result));
}

void PoolImpl::retire(ClientConnection& conn) {
  if (conn.state() == ClientConnection::State::kIdle) unlinkIdle(conn);
  conn.close();
  std::size_t i = conn.slot;
  if (i >= conns_.size() || conns_[i].get() != &conn) return;  // already retired
  ++stats_.connectionsClosed;
  retired_.push_back(std::move(conns_[i]));
  if (i + 1 != conns_.size()) {  // swap-remove keeps this O(1)
    conns_[i] = std::move(conns_.back());
    conns_[i]->slot = i;
  }
  conns_.pop_back();
}

void PoolImpl::pushIdle(ClientConnection& conn) {
  conn.idlePrev = nullptr;
  conn.idleNext = idleHead_;
  if (idleHead_ != nullptr) idleHead_->idlePrev = &conn;
  idleHead_ = &conn;
  if (idleTail_ == nullptr) idleTail_ = &conn;
  ++stats_.idle;
  if (stats_.idle > options_.maxIdle) retire(*idleTail_);
}

void PoolImpl::unlinkIdle(ClientConnection& conn) {
  bool linked = conn.idlePrev != nullptr || conn.idleNext != nullptr || idleHead_ == &conn;
  if (!linked) return;
  (conn.idlePrev ? conn.idlePrev->idleNext : idleHead_) = conn.idleNext;
  (conn.idleNext ? conn.idleNext->idlePrev : idleTail_) = conn.idlePrev;
  conn.idlePrev = conn.idleNext = nullptr;
  --stats_.idle;
}

void PoolImpl::freeRetired() { retired_.clear(); }

void PoolImpl::cancelAll() {
  std::vector<std::unique_ptr<Exchange>> cancelled;
  for (auto& q : queue_) cancelled.push_back(std::move(q));
  queue_.clear();
  while (!conns_.empty()) {
    ClientConnection& conn = *conns_.back();
    if (auto ex = conn.release()) cancelled.push_back(std::move(ex));
    retire(conn);
  }
  for (auto& ex : cancelled) {
    // Conservative: once handed to a connection, the request may have left.
    bool started = ex->result.stats.attempts > 0;
    ex->result.error = {ErrorKind::kCancelled, 0, false, started, "cancelled"};
    deliver(std::move(ex));
  }
}

void PoolImpl::closeIdle() {
  while (idleHead_ != nullptr) retire(*idleHead_);
}

PoolStats PoolImpl::stats() const {
  PoolStats s = stats_;
  s.open = conns_.size();
  s.queued = queue_.size();
  return s;
}

// --- Pool: the public face ---

Pool::Pool(net::EventLoop& loop, const net::SocketAddress& origin, std::string host,
           const PoolOptions& options)
    : impl_(std::make_unique<PoolImpl>(loop, origin, std::move(host), options)) {}
Pool::~Pool() = default;
void Pool::request(ClientRequest request, Callback done) {
  impl_->request(std::move(request), std::move(done));
}
void Pool::cancelAll() { impl_->cancelAll(); }
void Pool::closeIdle() { impl_->closeIdle(); }
PoolStats Pool::stats() const { return impl_->stats(); }

}  // namespace tether::http::client
