// ServerConnection's output and closing: writing queued responses and body
// sources, going idle, lingering close, and the close reasons.
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "active_state.h"
#include "server_connection.h"
#include "tether/net/socket.h"
#include "upgraded.h"
#include "worker.h"

namespace tether::http {
namespace {

using State = ServerConnection::State;
// Largest piece of a body source written per call, so one big file cannot
// hold the loop.
constexpr std::uint64_t kSourceChunk = 1024 * 1024;

}  // namespace

// ---- output -------------------------------------------------------------------

// Classifies the result of a write: bytes went out (true), or the socket is
// full / the connection failed (false, with the timer armed or the connection
// closed). Zero bytes only come from a body source that ended early (a
// truncated file): the promised framing can no longer be kept.
bool ServerConnection::wrote(const net::IoResult& r) {
  switch (r.kind) {
    case net::IoResult::Kind::kDone:
      if (r.bytes == 0) break;
      lastActivity_ = worker_->loop().now();
      return true;
    case net::IoResult::Kind::kBlocked: armTimer(); return false;
    case net::IoResult::Kind::kFailed: closeOnError(r.err); return false;
    case net::IoResult::Kind::kEof: break;
  }
  close(CloseReason::kError);
  return false;
}

// Writes queued output; true when everything went out.
bool ServerConnection::flush() {
  ActiveState& a = *active_;
  if (a.outSent < a.out.size()) {
    std::size_t before = a.outSent;
    net::IoResult r = stream_.writeAll(a.out, &a.outSent);
    if (a.outSent > before) lastActivity_ = worker_->loop().now();
    if (!r.done()) return wrote(r);
  }
  a.out.clear();
  a.outSent = 0;
  return a.source == nullptr || writeSource();
}

bool ServerConnection::writeSource() {
  ActiveState& a = *active_;
  std::uint64_t size = a.source->size();
  while (a.sourceSent < size) {
    auto chunk = static_cast<std::size_t>(std::min(size - a.sourceSent, kSourceChunk));
    net::IoResult r = a.source->writeTo(stream_, a.sourceSent, chunk);
    if (!wrote(r)) return false;
    a.sourceSent += r.bytes;
  }
  a.source.reset();
  a.sourceSent = 0;
  return true;
}

ServerConnection::OutputStep ServerConnection::upgradedOutput(bool closeNow, CloseReason reason) {
  if (active_ != nullptr && active_->outputPending()) {
    if (!stream_.writeReady()) return OutputStep::kNothing;  // reading may go on meanwhile
    return flush() ? OutputStep::kFlushed : OutputStep::kStop;
  }
  if (!closeNow) return OutputStep::kNothing;
  startClose(reason);
  return OutputStep::kStop;
}

// All queued output is out: close, resume reading, or go idle. False when the
// connection stopped (closed or lingering).
bool ServerConnection::afterOutput() {
  if (upgrading()) {
    becomeUpgraded();
    return true;
  }
  if (closeAfterWrite_) {
    startClose(closeReason_);
    return false;
  }
  ActiveState& a = *active_;
  if (a.parser.messageInProgress()) {
    setState(a.parser.headComplete() ? State::kReadingBody : State::kReadingHead);
    armTimer();
  } else {
    stateSince_ = worker_->loop().now();  // the keep-alive wait begins
    setState(State::kIdle);
  }
  if (stream_.peerEof() && !a.parser.messageInProgress() && a.parsed == a.end) {
    close(CloseReason::kClientClosed);
    return false;
  }
  return true;
}

// Nothing buffered and nothing in flight: give the buffers back and wait.
void ServerConnection::maybeIdle() {
  if (state_ != State::kIdle) return;
  if (stream_.peerEof()) return close(CloseReason::kClientClosed);
  if (active_ == nullptr) return;  // already idle: a wake-up without data
  ActiveState& a = *active_;
  if (a.parsed != a.end || a.parser.messageInProgress() || a.outputPending()) return;
  worker_->releaseActive(active_);
  active_ = nullptr;
  if (requests_ == 0) return;  // still the fresh connection's header wait
  stateSince_ = worker_->loop().now();
  worker_->markWaiting(*this);
  armTimer();
}

// ---- closing ------------------------------------------------------------------

void ServerConnection::startClose(CloseReason reason) {
  closeReason_ = reason;
  LingeringClose mode = worker_->options().lingeringClose;
  bool clientMaySend = stream_.readReady() || bodyUnread_ ||
                       (active_ != nullptr &&
                        (active_->parsed < active_->end || active_->parser.messageInProgress()));
  if (stream_.peerEof() || mode == LingeringClose::kOff ||
      (mode == LingeringClose::kOn && !clientMaySend)) {
    return close(reason);
  }
  // Staged close (RFC 9112 §9.6): FIN first, then drain so an RST cannot
  // destroy the response the client has not read yet.
  stream_.shutdownWrite();
  if (active_ != nullptr) {
    worker_->releaseActive(active_);
    active_ = nullptr;
  }
  setState(State::kLingering);
  stateSince_ = lastActivity_ = worker_->loop().now();
  armTimer();
  stream_.setReadReady();
  linger();
}

void ServerConnection::linger() {
  net::IoResult r = stream_.drain(worker_->scratch(), Worker::kScratchSize);
  if (r.bytes > 0) lastActivity_ = worker_->loop().now();
  // Blocked: the timer was armed when lingering began and re-checks itself.
  // EOF or error: the client is done.
  if (r.kind != net::IoResult::Kind::kBlocked) close(closeReason_);
}

// A read or write failed. When the kernel gave up on the peer (ETIMEDOUT), the
// stream tells keepalive from user timeout; that close is logged, since it
// is how a dead peer shows up.
void ServerConnection::closeOnError(int err) {
  bool queued = state_ == State::kWriting || (active_ != nullptr && active_->outputPending());
  CloseReason reason = CloseReason::kError;
  if (auto tlsReason = tlsFailure(err)) return close(*tlsReason);
  switch (stream_.classify(err, queued)) {
    case net::StreamError::kPeerReset: reason = CloseReason::kClientReset; break;
    case net::StreamError::kKeepaliveTimeout: reason = CloseReason::kKeepaliveTimeout; break;
    case net::StreamError::kUserTimeout: reason = CloseReason::kUserTimeout; break;
    case net::StreamError::kNone:
    case net::StreamError::kOther: break;
  }
  if (err == ETIMEDOUT) {
    double silent = static_cast<double>(worker_->loop().now() - lastRead_) / 1000.0;
    fmt::print(stderr, "tether: closed {}: {} after {:.1f} s without data\n",
               net::peerAddressEvenIfClosed(fd()).toString(), closeReasonName(reason), silent);
  }
  close(reason);
}

void ServerConnection::close(CloseReason reason, bool reset) {
  if (state_ == State::kFree) return;
  WorkerStats& st = worker_->mutableStats();
  WorkerStats::add(st.closes[static_cast<std::size_t>(reason)], 1);
  st.observe(Distribution::kRequestsPerConnection, requests_);
  observeSince(Distribution::kConnectionSeconds, openedAt_);
  if (state_ == State::kIdle && requests_ > 0) {
    observeSince(Distribution::kIdleClosedSeconds, stateSince_);
  }
  worker_->unmarkWaiting(*this);
  worker_->loop().timers().unlink(timer_);
  if (upgraded_ != nullptr) upgraded_->onConnectionClosed();
  if (active_ != nullptr) {
    worker_->releaseActive(active_);
    active_ = nullptr;
  }
  if (stream_.transport() != nullptr) closeTls(reason, reset);
  stream_.close(worker_->loop(), this, reset);
  ++generation_;
  setState(State::kFree);
  worker_->retire(*this);
}

void ServerConnection::recycle() noexcept {
  delete upgraded_;
  upgraded_ = nullptr;
}

void ServerConnection::acquireActive() {
  if (active_ != nullptr) return;
  active_ = worker_->acquireActive();
  active_->parser.reset(worker_->options().maxBodySize);
}

}  // namespace tether::http
