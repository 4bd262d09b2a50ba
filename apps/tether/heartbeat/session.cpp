#include "heartbeat/session.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "tether/net/socket.h"

namespace tether::app::heartbeat {
namespace {

namespace wire = liveness::wire;

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxQueued = 256 * 1024;  // stop streaming DATA above this backlog
constexpr Millis kStreamTick = 20;

std::int64_t preciseMicros() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
}

// Bytes the kernel still holds for the peer (unsent + unacknowledged).
int kernelOutQueue(int fd) noexcept {
  int pending = 0;
  return ioctl(fd, SIOCOUTQ, &pending) == 0 ? pending : 0;
}

}  // namespace

std::string_view closeReasonName(CloseReason reason) noexcept {
  switch (reason) {
    case CloseReason::kHeartbeatTimeout: return "heartbeat_timeout";
    case CloseReason::kKeepaliveTimeout: return "keepalive_timeout";
    case CloseReason::kUserTimeout: return "user_timeout";
    case CloseReason::kPeerClosed: return "peer_closed";
    case CloseReason::kPeerReset: return "peer_reset";
    case CloseReason::kTooManyPings: return "too_many_pings";
    case CloseReason::kError: return "error";
    case CloseReason::kLocal: return "local";
  }
  return "error";
}

Session::Session(net::EventLoop& loop, int fd, const SessionOptions& options,
                 SessionObserver& observer, std::uint64_t seed)
    : loop_(loop),
      options_(options),
      observer_(observer),
      engine_(loop.timers(), *this, options.heartbeat, seed),
      peer_(net::peerAddress(fd).toString()),
      fd_(fd) {}

Session::~Session() {
  engine_.stop();
  loop_.timers().unlink(sendTimer_);
  if (fd_ >= 0) {
    loop_.removeFd(fd_);
    ::close(fd_);
  }
}

void Session::start() {
  wire::appendHello(out_);
  loop_.addFd(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
  engine_.start(loop_.now());
  if (options_.sendRate > 0) {
    lastStreamed_ = loop_.now();
    loop_.timers().link(sendTimer_, loop_.now() + kStreamTick);
  }
  flush();
}

// ---- input --------------------------------------------------------------------

void Session::onIoEvents(std::uint32_t events) {
  if (closed()) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readAll();
  if (!closed() && (events & EPOLLOUT)) flush();
}

// Edge-triggered: read until the socket is empty. Bytes are decoded before an
// EOF or error is acted on, so a GOODBYE right before the FIN is seen.
void Session::readAll() {
  char buf[kReadChunk];
  while (!closed()) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      engine_.onBytesRead(loop_.now());
      in_.append(buf, static_cast<std::size_t>(n));
      processInput();
      continue;
    }
    if (n == 0) return close(CloseReason::kPeerClosed, "end of stream");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) failWithErrno(errno);
    return;
  }
}

void Session::processInput() {
  std::size_t used = 0;
  std::string_view rest = in_;
  if (!helloReceived_) {
    wire::DecodeResult r = wire::decodeHello(rest);
    if (r.status == wire::DecodeStatus::kError) {
      return closeWithGoodbye(wire::GoodbyeReason::kProtocolError, CloseReason::kError, r.error);
    }
    if (r.status == wire::DecodeStatus::kNeedMore) return;
    helloReceived_ = true;
    used = r.consumed;
  }
  while (!closed()) {
    wire::Frame frame;
    wire::DecodeResult r = wire::decodeFrame(rest.substr(used), &frame);
    if (r.status == wire::DecodeStatus::kError) {
      return closeWithGoodbye(wire::GoodbyeReason::kProtocolError, CloseReason::kError, r.error);
    }
    if (r.status == wire::DecodeStatus::kNeedMore) break;
    used += r.consumed;
    if (!handleFrame(frame)) return;
  }
  if (!closed()) in_.erase(0, used);
  flush();
}

// Returns false when the frame closed the session.
bool Session::handleFrame(const wire::Frame& frame) {
  switch (frame.type) {
    case wire::FrameType::kPing:
      if (engine_.onPingReceived(loop_.now()) ==
          liveness::HeartbeatEngine::PingVerdict::kTooManyPings) {
        closeWithGoodbye(wire::GoodbyeReason::kTooManyPings, CloseReason::kTooManyPings,
                         "peer pinged faster than the minimum ping interval");
        return false;
      }
      wire::appendPong(out_, frame.opaque);
      return true;
    case wire::FrameType::kPong:
      if (engine_.onPongReceived(frame.opaque, loop_.now())) {
        observer_.onPong(*this, static_cast<double>(preciseMicros() - pingSentUs_) / 1000.0);
      }
      return !closed();
    case wire::FrameType::kData: dataReceived_ += frame.payload.size(); return true;
    case wire::FrameType::kGoodbye: onPeerGoodbye(frame); return false;
  }
  return true;
}

void Session::onPeerGoodbye(const wire::Frame& frame) {
  auto code = static_cast<std::uint8_t>(frame.reason);
  std::string detail = "peer said goodbye: " + std::string(wire::goodbyeReasonName(code));
  if (!frame.text.empty()) detail += " (" + std::string(frame.text) + ")";
  close(frame.reason == wire::GoodbyeReason::kTooManyPings ? CloseReason::kTooManyPings
                                                           : CloseReason::kPeerClosed,
        std::move(detail));
}

// ---- output -------------------------------------------------------------------

// Returns false when the session closed on a write error.
bool Session::flush() {
  while (!closed() && written_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + written_, out_.size() - written_, MSG_NOSIGNAL);
    if (n > 0) {
      written_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;  // EPOLLOUT resumes
    failWithErrno(errno);
    return false;
  }
  if (written_ == out_.size()) {
    out_.clear();
    written_ = 0;
  }
  return !closed();
}

void Session::heartbeatSendPing(std::uint64_t opaque) {
  pingSentUs_ = preciseMicros();
  wire::appendPing(out_, opaque);
  observer_.onPingSent(*this, opaque);
  if (!closed()) flush();
}

void Session::heartbeatPeerDead() {
  closeWithGoodbye(wire::GoodbyeReason::kHeartbeatTimeout, CloseReason::kHeartbeatTimeout,
                   "no byte from the peer within the heartbeat timeout");
}

// Token bucket: queue DATA at --send-rate while the backlog is small, so a
// stalled peer leaves data in flight (unacknowledged) without unbounded memory.
void Session::streamData(Millis now) {
  double rate = static_cast<double>(options_.sendRate);
  sendBudget_ = std::min(sendBudget_ + rate * static_cast<double>(now - lastStreamed_) / 1000.0,
                         rate * 0.1 + static_cast<double>(wire::kMaxPayload));
  lastStreamed_ = now;
  static const std::string kFiller(wire::kMaxPayload, 'x');
  bool queued = false;
  while (sendBudget_ >= 1 && out_.size() - written_ < kMaxQueued) {
    auto n = static_cast<std::size_t>(std::min(sendBudget_, static_cast<double>(kFiller.size())));
    wire::appendData(out_, std::string_view(kFiller).substr(0, n));
    sendBudget_ -= static_cast<double>(n);
    dataSent_ += n;
    queued = true;
  }
  loop_.timers().link(sendTimer_, now + kStreamTick);
  if (queued) {
    engine_.onDataSent();
    flush();
  }
}

// ---- closing ------------------------------------------------------------------

void Session::failWithErrno(int err) {
  std::string detail = std::strerror(err);
  switch (err) {
    case ETIMEDOUT: {
      // The kernel gave up. With bytes unacknowledged it was retransmitting
      // (TCP_USER_TIMEOUT or tcp_retries2); with none, the keepalive probes failed.
      bool inFlight = kernelOutQueue(fd_) > 0 || written_ < out_.size();
      return close(inFlight ? CloseReason::kUserTimeout : CloseReason::kKeepaliveTimeout, detail);
    }
    case ECONNRESET:
    case EPIPE: return close(CloseReason::kPeerReset, detail);
    default: return close(CloseReason::kError, detail);
  }
}

void Session::closeWithGoodbye(wire::GoodbyeReason why, CloseReason reason, std::string detail) {
  if (closed()) return;
  wire::appendGoodbye(out_, why, detail);
  // One non-blocking attempt: a peer that stopped reading must not delay the close.
  while (written_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + written_, out_.size() - written_, MSG_NOSIGNAL);
    if (n <= 0) break;
    written_ += static_cast<std::size_t>(n);
  }
  close(reason, std::move(detail));
}

void Session::close(CloseReason reason, std::string detail) {
  if (closed()) return;
  CloseInfo info{reason, loop_.now() - engine_.lastRead(), std::move(detail)};
  engine_.stop();
  loop_.timers().unlink(sendTimer_);
  loop_.removeFd(fd_);
  ::close(fd_);
  fd_ = -1;
  observer_.onClosed(*this, info);
}

}  // namespace tether::app::heartbeat
