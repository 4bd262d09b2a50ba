#include "tools/bench/bench_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

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
  if (!timer_.entry.linked()) armTimer(deadline());
  flush();
}

void BenchConnection::close() {
  closeFd();
  inFlight_ = 0;
  writeOffset_ = writeEnd_ = 0;
  state_ = State::kClosed;
}

void BenchConnection::connect() {
  const net::SocketAddress& to = worker_.config().target;
  fd_ = ::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return fail(Failure::kConnect, errno);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const auto& keepalive = worker_.config().keepalive;
  if (keepalive && !liveness::applyKeepaliveProfile(fd_, *keepalive)) {
    return fail(Failure::kConnect, errno);
  }
  state_ = State::kConnecting;
  stateSinceMs_ = worker_.loop().now();
  int rc = ::connect(fd_, to.raw(), to.length);
  if (rc < 0 && errno != EINPROGRESS) return fail(Failure::kConnect, errno);
  // connect() bound the local port: remember it so TIME_WAIT counts only ours.
  int local = net::localAddress(fd_).port();
  if (local > 0) worker_.mutableStats().ownPorts.set(static_cast<std::size_t>(local));
  // Registered once for everything: no epoll_ctl until the socket is closed.
  worker_.loop().addFd(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
  armTimer(deadline());
  if (rc == 0) onConnected();
}

void BenchConnection::onConnected() {
  std::uint64_t now = monotonicNanos();
  ThreadStats& s = worker_.mutableStats();
  if (worker_.measuringNow(now)) ++s.connectionsOpened;
  framer_.reset();
  responses_ = 0;
  countedUsed_ = false;
  if (inFlight_ == 0) return becomeIdle(now);
  state_ = State::kBusy;
  if (fromWrite_) startNs_ = now;
  flush();
}

void BenchConnection::onIoEvents(std::uint32_t events) {
  if (fd_ < 0) return;  // a stale event of a socket closed earlier in this batch
  if (state_ == State::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(Failure::kConnect, err);
    sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    // A stale event for an earlier socket with the same number: not connected yet.
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&peer), &plen) < 0) return;
    return onConnected();
  }
  std::uint32_t generation = generation_;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    readAll((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
  }
  if (generation == generation_ && (events & EPOLLOUT) && writeOffset_ < writeEnd_) flush();
}

void BenchConnection::flush() {
  const std::string& batch = worker_.batch();
  while (writeOffset_ < writeEnd_) {
    ssize_t n = ::send(fd_, batch.data() + writeOffset_, writeEnd_ - writeOffset_, MSG_NOSIGNAL);
    if (n > 0) {
      writeOffset_ += static_cast<std::size_t>(n);
      if (worker_.measured(startNs_)) worker_.mutableStats().bytesWritten += std::uint64_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // the registered EPOLLOUT edge resumes us
    int err = errno;
    return fail(err == ECONNRESET || err == EPIPE ? Failure::kReset : Failure::kRead, err);
  }
}

// Edge-triggered: stop at EAGAIN or a short read (the socket was drained; later
// data raises a new edge). After the peer's FIN the edge will not come again, so
// then (and while draining) read until EOF.
void BenchConnection::readAll(bool peerClosed) {
  char* buf = worker_.readBuffer();
  std::uint32_t generation = generation_;
  for (;;) {
    ssize_t n = ::recv(fd_, buf, BenchWorker::kReadBufferSize, 0);
    if (n > 0) {
      std::uint64_t now = monotonicNanos();
      if (worker_.measuringNow(now)) worker_.mutableStats().bytesRead += std::uint64_t(n);
      consume(buf, std::size_t(n), now);
      if (generation != generation_) return;  // closed (and maybe reopened) meanwhile
      if (std::size_t(n) < BenchWorker::kReadBufferSize && !peerClosed &&
          state_ != State::kDraining) {
        return;
      }
      continue;
    }
    if (n == 0) return onEof();
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return;
    // Every response is in: a reset instead of the FIN still ends the drain.
    if (state_ == State::kDraining) return onEof();
    int err = errno;
    return fail(err == ECONNRESET ? Failure::kReset : Failure::kRead, err);
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
  std::uint64_t now = monotonicNanos();
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
  (void)err;
  std::uint64_t now = monotonicNanos();
  bool counted = why == Failure::kConnect ? worker_.measuringNow(now) : worker_.measured(startNs_);
  if (counted) {
    // Every request of the batch that got no response failed: with -n, the
    // responses and the errors add up to N.
    std::uint64_t n = inFlight_ > 0 ? inFlight_ : 1;
    ErrorCounts& e = worker_.mutableStats().errors;
    switch (why) {
      case Failure::kConnect: e.connect += n; break;
      case Failure::kReset: e.reset += n; break;
      case Failure::kTimeout: e.timeout += n; break;
      case Failure::kRead: e.read += n; break;
      case Failure::kParse: e.parse += n; break;
    }
  }
  close();
  if (why == Failure::kConnect) {
    state_ = State::kBackoff;
    stateSinceMs_ = worker_.loop().now();
    armTimer(deadline());
    return;
  }
  worker_.onReady(*this, now);
}

void BenchConnection::closeFd() {
  if (timer_.entry.linked()) worker_.loop().timers().unlink(timer_.entry);
  if (fd_ < 0) return;
  ::close(fd_);  // also removes it from the epoll set
  fd_ = -1;
  ++generation_;
}

void BenchConnection::becomeIdle(std::uint64_t nowNs) {
  state_ = State::kReady;
  worker_.onReady(*this, nowNs);
}

void BenchConnection::armTimer(core::Millis at) {
  if (at != core::TimerWheel::kNever) worker_.loop().timers().link(timer_.entry, at);
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
void BenchConnection::onTimer(core::TimerEntry& entry) {
  BenchConnection* self = reinterpret_cast<TimerHook*>(&entry)->owner;
  core::Millis due = self->deadline();
  if (due == core::TimerWheel::kNever) return;
  if (self->worker_.loop().now() < due) return self->armTimer(due);
  std::uint64_t now = monotonicNanos();
  switch (self->state_) {
    case State::kConnecting: return self->fail(Failure::kConnect, ETIMEDOUT);
    case State::kBusy: return self->fail(Failure::kTimeout, ETIMEDOUT);
    case State::kDraining:  // the server never closed: we do (not an error)
    case State::kBackoff: self->close(); return self->worker_.onReady(*self, now);
    default: return;
  }
}

}  // namespace tether::tools::bench
