#include "tether/liveness/heartbeat_session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tether/net/socket.h"

namespace tether::liveness {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxQueued = 256 * 1024;  // stop streaming DATA above this backlog
constexpr Millis kStreamTick = 20;

}  // namespace

std::string_view sessionCloseReasonName(SessionCloseReason reason) noexcept {
  switch (reason) {
    case SessionCloseReason::kHeartbeatTimeout: return "heartbeat_timeout";
    case SessionCloseReason::kKeepaliveTimeout: return "keepalive_timeout";
    case SessionCloseReason::kUserTimeout: return "user_timeout";
    case SessionCloseReason::kPeerClosed: return "peer_closed";
    case SessionCloseReason::kPeerReset: return "peer_reset";
    case SessionCloseReason::kTooManyPings: return "too_many_pings";
    case SessionCloseReason::kError: return "error";
    case SessionCloseReason::kLocal: return "local";
  }
  return "error";
}

HeartbeatSession::HeartbeatSession(net::EventLoop& loop, int fd,
                                   const HeartbeatSessionOptions& options,
                                   HeartbeatSessionObserver& observer, std::uint64_t seed)
    : loop_(loop),
      options_(options),
      observer_(observer),
      engine_(loop.timers(), *this, options.heartbeat, seed),
      peer_(net::peerAddress(fd).toString()),
      codec_(options.codec ? options.codec() : makeTetherHeartbeatCodec()) {
  stream_.adopt(fd);
}

HeartbeatSession::~HeartbeatSession() {
  engine_.stop();
  loop_.timers().unlink(sendTimer_);
  loop_.timers().unlink(goodbyeTimer_);
  stream_.close(loop_, this);
}

void HeartbeatSession::start() {
  codec_->appendOpening(out_);
  loop_.addFd(stream_.fd(), EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
  engine_.start(loop_.now());
  if (options_.sendRate > 0) {
    lastStreamed_ = loop_.now();
    loop_.timers().link(sendTimer_, loop_.now() + kStreamTick);
  }
  flush();
}

// ---- input --------------------------------------------------------------------

void HeartbeatSession::onIoEvents(std::uint32_t events) {
  stream_.onEvents(events);
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readAll();
  if (!closed() && (events & EPOLLOUT)) flush();
}

// Edge-triggered: read until the socket is empty. Bytes are decoded before an
// EOF or error is acted on, so a GOODBYE right before the FIN is seen.
void HeartbeatSession::readAll() {
  char buf[kReadChunk];
  while (!closed()) {
    net::IoResult r = stream_.read(buf, sizeof buf);
    switch (r.kind) {
      case net::IoResult::Kind::kDone:
        engine_.onBytesRead(loop_.now());
        in_.append(buf, r.bytes);
        processInput();
        continue;
      case net::IoResult::Kind::kEof:
        if (closing_) return close(std::move(*closing_));
        return close(SessionCloseReason::kPeerClosed, "end of stream");
      case net::IoResult::Kind::kFailed: return failWithErrno(r.err);
      case net::IoResult::Kind::kBlocked: return;
    }
  }
}

void HeartbeatSession::processInput() {
  std::size_t used = 0;
  std::string_view rest = in_;
  if (!helloReceived_) {
    wire::DecodeResult r = codec_->decodeOpening(rest);
    if (r.status == wire::DecodeStatus::kError) {
      return closeWithGoodbye(wire::GoodbyeReason::kProtocolError, SessionCloseReason::kError,
                              r.error);
    }
    if (r.status == wire::DecodeStatus::kNeedMore) return (void)in_.erase(0, r.consumed);
    helloReceived_ = true;
    used = r.consumed;
    observer_.onOpened(*this);
    if (closed()) return;
  }
  while (!closed()) {
    wire::Frame frame;
    wire::DecodeResult r = codec_->decodeFrame(rest.substr(used), &frame);
    if (r.status == wire::DecodeStatus::kError) {
      return closeWithGoodbye(wire::GoodbyeReason::kProtocolError, SessionCloseReason::kError,
                              r.error);
    }
    if (r.status == wire::DecodeStatus::kNeedMore) break;
    used += r.consumed;
    if (!handleFrame(frame)) return;
  }
  if (!closed()) in_.erase(0, used);
  flush();
}

// Returns false when the frame closed the session.
bool HeartbeatSession::handleFrame(const wire::Frame& frame) {
  if (closing_) {  // only the answer to our goodbye matters now
    if (frame.type == wire::FrameType::kGoodbye) close(std::move(*closing_));
    return !closed();
  }
  switch (frame.type) {
    case wire::FrameType::kPing:
      observer_.onPeerPing(*this);
      if (closed() || !options_.answerPings) return !closed();
      if (engine_.onPingReceived(loop_.now()) == HeartbeatEngine::PingVerdict::kTooManyPings) {
        closeWithGoodbye(wire::GoodbyeReason::kTooManyPings, SessionCloseReason::kTooManyPings,
                         "peer pinged faster than the minimum ping interval");
        return false;
      }
      codec_->appendPong(out_, frame);
      return true;
    case wire::FrameType::kPong:
      if (engine_.onPongReceived(frame.opaque, loop_.now())) {
        observer_.onPong(*this, core::toMillisDouble(loop_.clock().nanos() - pingSentNs_));
      }
      return !closed();
    case wire::FrameType::kData: dataReceived_ += frame.payload.size(); return true;
    case wire::FrameType::kGoodbye: onPeerGoodbye(frame); return false;
  }
  return true;
}

void HeartbeatSession::onPeerGoodbye(const wire::Frame& frame) {
  SessionClose info{frame.reason == wire::GoodbyeReason::kTooManyPings
                        ? SessionCloseReason::kTooManyPings
                        : SessionCloseReason::kPeerClosed,
                    loop_.now() - engine_.lastRead(),
                    codec_->goodbyeDetail(frame),
                    true,
                    frame.code,
                    std::string(frame.text)};
  if (!codec_->appendGoodbyeReply(out_, frame)) return close(std::move(info));
  (void)stream_.writeAll(out_, &written_);
  // WebSocket (RFC 6455 §7.1.1): the server closes TCP first; wait for its FIN
  // so that the TIME_WAIT state stays on its side.
  awaitGoodbyeAnswer(std::move(info));
}

// ---- output -------------------------------------------------------------------

// Returns false when the session closed on a write error.
bool HeartbeatSession::flush() {
  if (closed()) return false;
  net::IoResult r = stream_.writeAll(out_, &written_);  // blocked: EPOLLOUT resumes
  if (r.kind == net::IoResult::Kind::kFailed) {
    failWithErrno(r.err);
    return false;
  }
  if (written_ == out_.size()) {
    out_.clear();
    written_ = 0;
  }
  return !closed();
}

void HeartbeatSession::heartbeatSendPing(std::uint64_t opaque) {
  pingSentNs_ = loop_.clock().nanos();
  codec_->appendPing(out_, opaque);
  observer_.onPingSent(*this, opaque);
  if (!closed()) flush();
}

void HeartbeatSession::heartbeatPeerDead() {
  closeWithGoodbye(wire::GoodbyeReason::kHeartbeatTimeout, SessionCloseReason::kHeartbeatTimeout,
                   "no byte from the peer within the heartbeat timeout");
}

// Token bucket: queue DATA at --send-rate while the backlog is small, so a
// stalled peer leaves data in flight (unacknowledged) without unbounded memory.
void HeartbeatSession::streamData(Millis now) {
  double rate = static_cast<double>(options_.sendRate);
  sendBudget_ = std::min(sendBudget_ + rate * static_cast<double>(now - lastStreamed_) / 1000.0,
                         rate * 0.1 + static_cast<double>(wire::kMaxPayload));
  lastStreamed_ = now;
  static const std::string kFiller(wire::kMaxPayload, 'x');
  bool queued = false;
  while (sendBudget_ >= 1 && out_.size() - written_ < kMaxQueued) {
    auto n = static_cast<std::size_t>(std::min(sendBudget_, static_cast<double>(kFiller.size())));
    codec_->appendData(out_, std::string_view(kFiller).substr(0, n));
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

void HeartbeatSession::failWithErrno(int err) {
  if (closing_) return close(std::move(*closing_));  // e.g. a reset right after its answer
  std::string detail = std::strerror(err);
  switch (stream_.classify(err, written_ < out_.size())) {
    case net::StreamError::kUserTimeout: return close(SessionCloseReason::kUserTimeout, detail);
    case net::StreamError::kKeepaliveTimeout:
      return close(SessionCloseReason::kKeepaliveTimeout, detail);
    case net::StreamError::kPeerReset: return close(SessionCloseReason::kPeerReset, detail);
    case net::StreamError::kNone:
    case net::StreamError::kOther: return close(SessionCloseReason::kError, detail);
  }
}

void HeartbeatSession::closeWithGoodbye(wire::GoodbyeReason why, SessionCloseReason reason,
                                        std::string detail) {
  if (closed() || closing_) return;
  codec_->appendGoodbye(out_, why, detail);
  // One non-blocking attempt: a peer that stopped reading must not delay the close.
  (void)stream_.writeAll(out_, &written_);
  SessionClose info{reason, loop_.now() - engine_.lastRead(), std::move(detail)};
  // Only a normal goodbye waits: a dead or misbehaving peer is dropped at once.
  if (why == wire::GoodbyeReason::kNormal && codec_->goodbyeIsAnswered() && helloReceived_) {
    return awaitGoodbyeAnswer(std::move(info));
  }
  close(std::move(info));
}

// The heartbeat and DATA stop; reads go on until the answer, a FIN or the wait.
void HeartbeatSession::awaitGoodbyeAnswer(SessionClose info) {
  closing_ = std::move(info);
  engine_.stop();
  loop_.timers().unlink(sendTimer_);
  loop_.timers().link(goodbyeTimer_, loop_.now() + kGoodbyeAnswerWait);
}

void HeartbeatSession::onGoodbyeWaitOver() {
  if (closing_) close(std::move(*closing_));
}

void HeartbeatSession::close(SessionCloseReason reason, std::string detail) {
  close({reason, loop_.now() - engine_.lastRead(), std::move(detail)});
}

void HeartbeatSession::close(SessionClose info) {
  if (closed()) return;
  closing_.reset();
  engine_.stop();
  loop_.timers().unlink(sendTimer_);
  loop_.timers().unlink(goodbyeTimer_);
  stream_.close(loop_, this);
  observer_.onClosed(*this, info);
}

}  // namespace tether::liveness
