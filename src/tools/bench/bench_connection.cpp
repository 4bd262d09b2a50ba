#include "tools/bench/bench_connection.h"

#include <cerrno>

#include "tether/net/connector.h"
#include "tether/net/socket.h"
#include "tools/bench/bench_worker.h"

namespace tether::tools::bench {
namespace {

// After a failed connect the connection waits this long before trying again, so a
// closed port costs a bounded number of attempts instead of a busy loop.
constexpr core::Millis kConnectBackoffMs = 10;

}  // namespace

// Bench needs status and framing only: ResponseFramer, no header copies. The
// method is the request line's first word: HEAD responses carry no body.
BenchConnection::BenchConnection(BenchWorker& worker) : worker_(worker) {
  framer_.setRequestIsHead(worker_.config().request.rfind("HEAD ", 0) == 0);
}

BenchConnection::~BenchConnection() { close(); }

void BenchConnection::issue(std::uint32_t count, std::uint64_t startNs, bool fromWrite,
                            bool charged) {
  inFlight_ = count;
  charged_ = charged;
  startNs_ = startNs;
  fromWrite_ = fromWrite;
  issuedMs_ = worker_.loop().now();
  writeOffset_ = 0;
  writeEnd_ = count * worker_.config().request.size();
  if (state_ == State::kClosed || state_ == State::kBackoff) {
    connect();
    return;
  }
  state_ = State::kBusy;
  if (!timer_.linked()) armTimer(deadline());
  flush();
}

void BenchConnection::close() {
  closeFd();
  inFlight_ = 0;
  writeOffset_ = writeEnd_ = 0;
  state_ = State::kClosed;
}

void BenchConnection::connect() {
  net::SocketSetup setup;
  setup.noDelay = true;
  if (const auto& keepalive = worker_.config().keepalive) {
    setup.prepare = [&keepalive](int fd) {
      return liveness::applyKeepaliveProfile(fd, *keepalive);
    };
  }
  state_ = State::kConnecting;
  stateSinceMs_ = worker_.loop().now();
  bool connected = false;
  int fd = net::startConnect(worker_.config().target, setup, &connected);
  if (fd < 0) return fail(Failure::kConnect, errno);
  // connect() bound the local port: remember it so TIME_WAIT counts only ours.
  int local = net::localAddress(fd).port();
  if (local > 0) worker_.mutableStats().ownPorts.set(static_cast<std::size_t>(local));
  // Registered once for everything: no epoll_ctl until the socket is closed.
  stream_.open(worker_.loop(), fd, this, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  if (net::TlsOrigin* origin = worker_.tls()) {
    tls_ = origin->start(fd);  // the handshake runs inside the first write
    stream_.setTransport(tls_.get());
    handshakeCounted_ = false;
  }
  armTimer(deadline());
  if (connected) onConnected();
}

void BenchConnection::onConnected() {
  std::uint64_t now = worker_.nowNs();
  ThreadStats& s = worker_.mutableStats();
  if (worker_.measuringNow(now)) {
    ++s.connectionsOpened;
    s.timeline.addConnection(worker_.sinceMeasured(now));
  }
  connectedNs_ = now;
  framer_.reset();
  responses_ = 0;
  countedUsed_ = false;
  if (inFlight_ == 0) return becomeIdle(now);
  state_ = State::kBusy;
  if (fromWrite_) startNs_ = now;
  flush();
}

// Events of a socket closed earlier in the batch never arrive (Stream::close()).
void BenchConnection::onIoEvents(std::uint32_t events) {
  events = stream_.onEvents(events);
  if (state_ == State::kConnecting) {
    int err = net::connectResult(stream_.fd());
    return err != 0 ? fail(Failure::kConnect, err) : onConnected();
  }
  std::uint32_t generation = generation_;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    readAll((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
  }
  if (generation == generation_ && (events & EPOLLOUT) && writeOffset_ < writeEnd_) flush();
}

// https: counts the handshake once it is done (inside a write or a read).
void BenchConnection::noteHandshake() {
  if (!tls_ || handshakeCounted_ || !tls_->handshakeDone()) return;
  handshakeCounted_ = true;
  std::uint64_t now = worker_.nowNs();
  if (!worker_.measuringNow(now)) return;
  ThreadStats& s = worker_.mutableStats();
  ++(tls_->resumed() ? s.tlsResumed : s.tlsFull);
  if (*s.tlsVersion == '\0') s.tlsVersion = tls_->version();
  s.tlsHandshake.record(now - connectedNs_);
}

// A failure that TLS explains before any request went out: a refused
// certificate, an alert, bytes that are not TLS.
bool BenchConnection::tlsFailed(int err) const noexcept {
  if (!tls_ || err != EPROTO) return false;
  net::TlsTransport::Failure f = tls_->failure();
  return f == net::TlsTransport::Failure::kVerify ||
         (f != net::TlsTransport::Failure::kNone && !tls_->handshakeDone());
}

void BenchConnection::flush() {
  std::size_t before = writeOffset_;
  net::IoResult r =
      stream_.writeAll(std::string_view(worker_.batch()).substr(0, writeEnd_), &writeOffset_);
  noteHandshake();
  if (worker_.measured(startNs_)) worker_.mutableStats().bytesWritten += writeOffset_ - before;
  if (r.kind == net::IoResult::Kind::kFailed) failOnError(r.err);
  // kBlocked: the registered EPOLLOUT edge resumes us.
}

void BenchConnection::failOnError(int err) {
  if (tlsFailed(err)) return fail(Failure::kTls, err);
  bool reset = stream_.classify(err, writeOffset_ < writeEnd_) == net::StreamError::kPeerReset;
  fail(reset ? Failure::kReset : Failure::kRead, err);
}

// Edge-triggered: stop at EAGAIN or a short read (the socket was drained; later
// data raises a new edge). After the peer's FIN the edge will not come again, so
// then (and while draining) read until EOF.
void BenchConnection::readAll(bool peerClosed) {
  char* buf = worker_.readBuffer();
  std::uint32_t generation = generation_;
  for (;;) {
    net::IoResult r = stream_.read(buf, BenchWorker::kReadBufferSize);
    switch (r.kind) {
      case net::IoResult::Kind::kDone: break;
      case net::IoResult::Kind::kEof: return onEof();
      case net::IoResult::Kind::kBlocked: return;
      case net::IoResult::Kind::kFailed:
        // Every response is in: a reset instead of the FIN still ends the drain.
        return state_ == State::kDraining ? onEof() : failOnError(r.err);
    }
    noteHandshake();
    std::uint64_t now = worker_.nowNs();
    if (worker_.measuringNow(now)) worker_.mutableStats().bytesRead += r.bytes;
    consume(buf, r.bytes, now);
    if (generation != generation_) return;  // closed (and maybe reopened) meanwhile
    // A short read drained the socket, unless TLS holds more (an end after the bytes).
    if (r.bytes < BenchWorker::kReadBufferSize && !r.more && !peerClosed &&
        state_ != State::kDraining) {
      return;
    }
  }
}

void BenchConnection::consume(const char* data, std::size_t len, std::uint64_t nowNs) {
  while (len > 0) {
    if (inFlight_ == 0 || state_ == State::kDraining) {
      return fail(Failure::kParse, 0);  // bytes no request asked for
    }
    std::size_t used = 0;
    client::ResponseFramer::Event ev = framer_.execute(data, len, used);
    if (ev == client::ResponseFramer::Event::kNeedMore) return;
    if (ev == client::ResponseFramer::Event::kError) return fail(Failure::kParse, 0);
    data += used;
    len -= used;
    recordResponse(nowNs);
    if (inFlight_ > 0 && framer_.reusable()) continue;
    if (len > 0) return fail(Failure::kParse, 0);  // bytes after a closing response
    if (inFlight_ > 0) giveBackUnanswered();
    if (!framer_.reusable() || !worker_.config().keepAlive) {
      // The server closes: wait for its FIN so the TIME_WAIT lands on its side.
      state_ = State::kDraining;
      stateSinceMs_ = worker_.loop().now();
      armTimer(deadline());
      return;
    }
    return becomeIdle(nowNs);
  }
}

void BenchConnection::recordResponse(std::uint64_t nowNs) {
  --inFlight_;
  ++responses_;
  if (!worker_.measured(startNs_)) return;
  ThreadStats& s = worker_.mutableStats();
  ++s.requests;
  s.timeline.addRequest(worker_.sinceMeasured(nowNs));
  s.latency.record(nowNs > startNs_ ? nowNs - startNs_ : 0);
  int cls = framer_.status() / 100;
  if (cls < 1 || cls > 5) cls = 0;
  ++s.statusClasses[std::size_t(cls)];
  if (cls == 4) ++s.errors.status4xx;
  if (cls == 5) ++s.errors.status5xx;
  if (responses_ > 1) ++s.reusedRequests;
  if (!countedUsed_) {
    countedUsed_ = true;
    ++s.connectionsUsed;
  }
}

// The server answered with `Connection: close` while pipelined requests were
// still unanswered. It must not process them (RFC 9112 §9.6), so they are
// neither responses nor errors: their share of -n goes back, to be sent again
// on a new connection (§9.3.2 allows the retry).
void BenchConnection::giveBackUnanswered() {
  if (charged_) worker_.refund(inFlight_);
  inFlight_ = 0;
  writeOffset_ = writeEnd_;  // stop writing the rest of the batch
}

void BenchConnection::onEof() {
  std::uint64_t now = worker_.nowNs();
  if (inFlight_ > 0 && state_ == State::kBusy) {
    // A close-delimited body ends here; anything else in flight was lost.
    if (framer_.finish() == client::ResponseFramer::Event::kMessageComplete) recordResponse(now);
    if (inFlight_ > 0) return fail(Failure::kRead, 0);
  }
  // Expected (draining), or an idle keep-alive connection the server closed:
  // not an error; the worker decides whether to reconnect.
  close();
  worker_.onReady(*this, now);  // a parked (open-loop, idle) connection stays parked
}

void BenchConnection::fail(Failure why, int err) {
  std::uint64_t now = worker_.nowNs();
  bool counted = why == Failure::kConnect ? worker_.measuringNow(now) : worker_.measured(startNs_);
  if (counted) {
    // Every request of the batch that got no response failed: with -n, the
    // responses and the errors add up to N.
    std::uint64_t n = inFlight_ > 0 ? inFlight_ : 1;
    ErrorCounts& e = worker_.mutableStats().errors;
    switch (why) {
      case Failure::kConnect:
        e.connect += n;
        if (e.connectErrno == 0) e.connectErrno = err;
        break;
      case Failure::kTls:
        e.tls += n;
        if (e.tlsError == nullptr) {
          e.tlsError = tls_->failureText();
          e.tlsRefused = tls_->failure() == net::TlsTransport::Failure::kVerify;
        }
        break;
      case Failure::kReset: e.reset += n; break;
      case Failure::kTimeout: e.timeout += n; break;
      case Failure::kRead: e.read += n; break;
      case Failure::kParse: e.parse += n; break;
    }
  }
  close();
  if (why == Failure::kConnect || why == Failure::kTls) {  // retrying at once would spin
    state_ = State::kBackoff;
    stateSinceMs_ = worker_.loop().now();
    armTimer(deadline());
    return;
  }
  worker_.onReady(*this, now);
}

void BenchConnection::closeFd() {
  if (timer_.linked()) worker_.loop().timers().unlink(timer_);
  if (!stream_.isOpen()) return;
  // Our close of a live session says so; after the server's FIN it would only
  // draw a reset.
  if (tls_ && !stream_.peerDone()) tls_->closeNotify();
  stream_.close(worker_.loop(), this);
  stream_.setTransport(nullptr);
  tls_.reset();
  ++generation_;
}

void BenchConnection::becomeIdle(std::uint64_t nowNs) {
  state_ = State::kReady;
  worker_.onReady(*this, nowNs);
}

void BenchConnection::armTimer(core::Millis at) {
  if (at != core::TimerWheel::kNever) worker_.loop().timers().link(timer_, at);
}

core::Millis BenchConnection::deadline() const noexcept {
  core::Millis timeout = worker_.config().timeout;
  switch (state_) {
    case State::kConnecting:
    case State::kDraining: return stateSinceMs_ + timeout;
    case State::kBusy: return issuedMs_ + timeout;
    case State::kBackoff: return stateSinceMs_ + kConnectBackoffMs;
    default: return core::TimerWheel::kNever;
  }
}

// Lazy re-arm: requests only move startNs_; the timer checks the real deadline.
void BenchConnection::onTimer() {
  core::Millis due = deadline();
  if (due == core::TimerWheel::kNever) return;
  if (worker_.loop().now() < due) return armTimer(due);
  std::uint64_t now = worker_.nowNs();
  switch (state_) {
    case State::kConnecting: return fail(Failure::kConnect, ETIMEDOUT);
    case State::kBusy: return fail(Failure::kTimeout, ETIMEDOUT);
    case State::kDraining:  // the server never closed: we do (not an error)
    case State::kBackoff: close(); return worker_.onReady(*this, now);
    default: return;
  }
}

}  // namespace tether::tools::bench
