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
#include "worker.h"

namespace tether::http {
namespace {

using State = ServerConnection::State;
// Largest piece of a body source written per call, so one big file cannot
// hold the loop.
constexpr std::uint64_t kSourceChunk = 1024 * 1024;

}  // namespace

// ---- output -------------------------------------------------------------------

// Classifies the result of one send()/sendfile(): bytes went out (true), or the
// socket is full / the connection failed (false, with the timer armed or the
// connection closed). `n == 0` only comes from a body source that ended early
// (a truncated file): the promised framing can no longer be kept.
bool ServerConnection::wrote(ssize_t n) {
  if (n > 0) {
    lastActivity_ = worker_->loop().now();
    return true;
  }
  if (n < 0 && errno == EINTR) return true;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    writeReady_ = false;
    armTimer();
    return false;
  }
  if (n < 0 && errno == ETIMEDOUT) {
    closeTimedOut();
    return false;
  }
  bool reset = n < 0 && (errno == ECONNRESET || errno == EPIPE);
  close(reset ? CloseReason::kClientReset : CloseReason::kError);
  return false;
}

// Writes queued output; true when everything went out.
bool ServerConnection::flush() {
  ActiveState& a = *active_;
  while (a.outSent < a.out.size()) {
    ssize_t n = ::send(fd_, a.out.data() + a.outSent, a.out.size() - a.outSent, MSG_NOSIGNAL);
    if (!wrote(n)) return false;
    if (n > 0) a.outSent += static_cast<std::size_t>(n);
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
    ssize_t n = a.source->writeTo(fd_, a.sourceSent, chunk);
    if (!wrote(n)) return false;
    if (n > 0) a.sourceSent += static_cast<std::uint64_t>(n);
  }
  a.source.reset();
  a.sourceSent = 0;
  return true;
}

// All queued output is out: close, resume reading, or go idle. False when the
// connection stopped (closed or lingering).
bool ServerConnection::afterOutput() {
  if (closeAfterWrite_) {
    startClose(closeReason_);
    return false;
  }
  ActiveState& a = *active_;
  if (a.parser.messageInProgress()) {
    setState(a.parser.headComplete() ? State::kReadingBody : State::kReadingHead);
    armTimer();
  } else {
    setState(State::kIdle);
  }
  if (peerEof_ && !a.parser.messageInProgress() && a.parsed == a.end) {
    close(CloseReason::kClientClosed);
    return false;
  }
  return true;
}

// Nothing buffered and nothing in flight: give the buffers back and wait.
void ServerConnection::maybeIdle() {
  if (state_ != State::kIdle) return;
  if (peerEof_) return close(CloseReason::kClientClosed);
  if (active_ == nullptr) return;  // already idle: a wake-up without data
  ActiveState& a = *active_;
  if (a.parsed != a.end || a.parser.messageInProgress() || a.outputPending()) return;
  worker_->releaseActive(active_);
  active_ = nullptr;
  if (requests_ == 0) return;  // still the fresh connection's header wait
  stateSince_ = worker_->loop().now();
  worker_->markIdle(*this);
  armTimer();
}

// ---- closing ------------------------------------------------------------------

void ServerConnection::startClose(CloseReason reason) {
  closeReason_ = reason;
  LingeringClose mode = worker_->options().lingeringClose;
  bool clientMaySend = readReady_ || bodyUnread_ ||
                       (active_ != nullptr &&
                        (active_->parsed < active_->end || active_->parser.messageInProgress()));
  if (peerEof_ || mode == LingeringClose::kOff || (mode == LingeringClose::kOn && !clientMaySend)) {
    return close(reason);
  }
  // Staged close (RFC 9112 §9.6): FIN first, then drain so an RST cannot
  // destroy the response the client has not read yet.
  ::shutdown(fd_, SHUT_WR);
  if (active_ != nullptr) {
    worker_->releaseActive(active_);
    active_ = nullptr;
  }
  setState(State::kLingering);
  stateSince_ = lastActivity_ = worker_->loop().now();
  armTimer();
  readReady_ = true;
  linger();
}

void ServerConnection::linger() {
  for (;;) {
    ssize_t n = ::read(fd_, worker_->scratch(), Worker::kScratchSize);
    if (n > 0) {
      lastActivity_ = worker_->loop().now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      readReady_ = false;
      return;  // the timer was armed when lingering began and re-checks itself
    }
    return close(closeReason_);  // EOF or error: the client is done
  }
}

// The kernel gave up on the peer (ETIMEDOUT, read from the socket error after
// EPOLLERR). Data still queued here or being retransmitted by the kernel means
// TCP_USER_TIMEOUT (or tcp_retries2) fired; otherwise keepalive probes went
// unanswered. Rare, so the extra getsockopt calls cost nothing that matters.
void ServerConnection::closeTimedOut() {
  auto rtx = net::getRetransmitState(fd_);
  bool inFlight = state_ == State::kWriting || (active_ != nullptr && active_->outputPending()) ||
                  (rtx && (rtx->retransmits > 0 || rtx->backoff > 0));
  CloseReason reason = inFlight ? CloseReason::kUserTimeout : CloseReason::kKeepaliveTimeout;
  double silent = static_cast<double>(worker_->loop().now() - lastRead_) / 1000.0;
  fmt::print(stderr, "tether: closed {}: {} after {:.1f} s without data\n",
             net::peerAddressEvenIfClosed(fd_).toString(), closeReasonName(reason), silent);
  close(reason);
}

void ServerConnection::close(CloseReason reason, bool reset) {
  if (state_ == State::kFree) return;
  WorkerStats::add(worker_->mutableStats().closes[static_cast<std::size_t>(reason)], 1);
  worker_->unmarkIdle(*this);
  worker_->loop().timers().unlink(timer_);
  if (active_ != nullptr) {
    worker_->releaseActive(active_);
    active_ = nullptr;
  }
  if (reset) net::setLingerReset(fd_);
  ::close(fd_);  // also removes it from epoll
  fd_ = -1;
  ++generation_;
  setState(State::kFree);
  worker_->retire(*this);
}

void ServerConnection::acquireActive() {
  if (active_ != nullptr) return;
  active_ = worker_->acquireActive();
  active_->parser.reset(worker_->options().maxBodySize);
}

}  // namespace tether::http
