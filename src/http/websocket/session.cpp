#include "session.h"

#include <algorithm>
#include <cstring>

#include "../active_state.h"
#include "../server_connection.h"
#include "../worker.h"

namespace tether::http::ws {
namespace {

constexpr Millis kNever = core::TimerWheel::kNever;
// Stop reading while this much output waits for a slow reader (backpressure).
constexpr std::size_t kOutputHighWater = 256 * 1024;
// A message buffer this large is freed after use rather than kept.
constexpr std::size_t kKeepMessageCapacity = 64 * 1024;

constexpr Millis kMaxPingBatch = 1'000;

liveness::HeartbeatConfig heartbeatConfig(const WebSocketOptions& o) {
  liveness::HeartbeatConfig c;
  c.interval = o.pingInterval;
  c.timeout = o.pingTimeout;
  c.missedPingsAllowed = 0;
  c.jitterPercent = 0;
  c.minPingInterval = o.minPingInterval;
  c.maxPingStrikes = o.maxPingStrikes;
  // A tenth of the interval, at most a second: 30 s pings go out once a second
  // in batches, for a bound of interval + timeout + 1 s.
  c.batch = std::clamp<Millis>(o.pingInterval / 10, 1, kMaxPingBatch);
  return c;
}

std::uint64_t readBigEndian64(std::string_view p) noexcept {
  std::uint64_t v = 0;
  for (char c : p) v = (v << 8) | static_cast<std::uint8_t>(c);
  return v;
}

}  // namespace

Session::Session(ServerConnection& conn, std::unique_ptr<WebSocketHandler> handler)
    : conn_(conn),
      handler_(std::move(handler)),
      heartbeat_(conn.worker().loop().timers(), *this, heartbeatConfig(conn.worker().options().ws),
                 conn.id()) {}

Session::~Session() { heartbeat_.stop(); }

Millis Session::now() const noexcept { return conn_.worker().loop().now(); }
WorkerStats& Session::stats() const noexcept { return conn_.worker().mutableStats(); }
net::EventLoop& Session::loop() noexcept { return conn_.worker().loop(); }
std::uint64_t Session::connectionId() const noexcept { return conn_.id(); }

std::size_t Session::queuedBytes() const noexcept {
  const ActiveState* a = conn_.active();
  return a == nullptr ? 0 : a->out.size() - a->outSent;
}

ActiveState& Session::buffer() {
  conn_.acquireActive();
  return *conn_.active();
}

void Session::open() {
  lastData_ = now();
  WorkerStats::add(stats().wsOpened, 1);
  heartbeat_.start(now());
  driving_ = true;
  handler_->onOpen(*this);
  driving_ = false;  // the connection's drive() goes on into ours
}

// ---- the loop -------------------------------------------------------------------

// Pumps output and input until the socket, a timer or the peer must act. A
// loop, not recursion, so a burst of small frames stays flat.
void Session::drive() {
  driving_ = true;
  while (!closed_) {
    auto step = conn_.upgradedOutput(closeWhenFlushed_, closeReason_);
    if (step == ServerConnection::OutputStep::kStop) break;
    if (step == ServerConnection::OutputStep::kFlushed) continue;
    ActiveState* a = conn_.active();
    bool pending = a != nullptr && a->outputPending();
    if (a != nullptr && a->parsed < a->end && !closeWhenFlushed_ && processInput()) continue;
    if (pending && queuedBytes() > kOutputHighWater) break;  // let the reader catch up
    if (closeWhenFlushed_ || !conn_.stream_.readReady() || !readOnce()) break;
  }
  driving_ = false;
  if (closed_) return;
  releaseIdleBuffer();
  conn_.armTimer();  // flushed output may have made an earlier deadline the one
}

bool Session::readOnce() {
  ActiveState& a = buffer();
  if (a.end == a.capacity) {
    if (a.parsed == 0) return false;  // cannot happen: frames larger than the buffer stream
    std::memmove(a.buffer.get(), a.buffer.get() + a.parsed, a.end - a.parsed);
    a.end -= a.parsed;
    a.parsed = 0;
  }
  net::IoResult r = conn_.stream_.read(a.buffer.get() + a.end, a.capacity - a.end);
  switch (r.kind) {
    case net::IoResult::Kind::kDone:
      a.end += static_cast<std::uint32_t>(r.bytes);
      conn_.lastRead_ = conn_.lastActivity_ = now();
      heartbeat_.onBytesRead(now());  // any frame is a sign of life
      return true;
    case net::IoResult::Kind::kEof:
      // The peer's FIN: after its close frame, the end of the handshake;
      // without one, an abnormal closure (1006).
      conn_.close(closeReceived_ ? closeReason_ : CloseReason::kClientClosed);
      return false;
    case net::IoResult::Kind::kBlocked: return false;
    case net::IoResult::Kind::kFailed: conn_.closeOnError(r.err); return false;
  }
  return false;
}

// Nothing half read, nothing queued: the buffer goes back to the pool.
void Session::releaseIdleBuffer() {
  ActiveState* a = conn_.active();
  if (a == nullptr || a->outputPending() || a->parsed < a->end || streaming_) return;
  conn_.worker_->releaseActive(a);
  conn_.active_ = nullptr;
}

// ---- input ----------------------------------------------------------------------

// Handles the whole frames in the buffer; true when it consumed any bytes or
// decided to close (either way drive() has more to do).
bool Session::processInput() {
  ActiveState& a = *conn_.active();
  std::uint32_t before = a.parsed;
  while (!closed_ && !closeWhenFlushed_ && a.parsed < a.end) {
    if (streaming_ ? !streamPayload() : !processFrame()) break;
  }
  if (closed_) return true;
  bool progress = a.parsed != before || closeWhenFlushed_;
  if (a.parsed == a.end) a.parsed = a.end = 0;
  return progress;
}

// One frame from the buffer: whole if it fits the buffer (no copy), else its
// header now and its payload streamed into message_.
bool Session::processFrame() {
  ActiveState& a = *conn_.active();
  char* at = a.buffer.get() + a.parsed;
  HeaderResult r = decodeHeader({at, a.end - a.parsed}, true);
  if (r.status == HeaderStatus::kNeedMore) return false;
  if (r.status == HeaderStatus::kError) {
    fail(kProtocolError, r.problem, CloseReason::kWsProtocolError);
    return false;
  }
  const FrameHeader& h = r.header;
  if (!h.isControl() && !acceptsData(h)) return false;
  std::uint64_t total = h.headerSize + h.length;
  if (total > a.capacity) {  // only data frames get here (control ≤ 139 bytes)
    frame_ = h;
    payloadDone_ = 0;
    streaming_ = true;
    a.parsed += static_cast<std::uint32_t>(h.headerSize);
    return true;
  }
  if (a.end - a.parsed < total) return false;  // readOnce() compacts when full
  char* payload = at + h.headerSize;
  unmask(payload, h.length, h.mask, 0);
  a.parsed += static_cast<std::uint32_t>(total);
  std::string_view p(payload, h.length);
  if (h.isControl()) {
    onControl(h, p);
  } else {
    onData(h, p);
  }
  return true;
}

// A payload larger than the buffer: unmask and append what arrived.
bool Session::streamPayload() {
  ActiveState& a = *conn_.active();
  auto n = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(a.end - a.parsed, frame_.length - payloadDone_));
  char* piece = a.buffer.get() + a.parsed;
  unmask(piece, n, frame_.mask, payloadDone_);
  a.parsed += n;
  payloadDone_ += n;
  FrameHeader h = frame_;
  if (payloadDone_ == frame_.length) streaming_ = false;
  h.fin = frame_.fin && !streaming_;  // the message ends with the frame's last piece
  onData(h, {piece, n});
  return true;
}

// The rules a data frame's header must pass before any of its payload counts:
// continuation only inside a fragmented message, a new message only outside
// one, and the message within --ws-max-message-size.
bool Session::acceptsData(const FrameHeader& h) {
  bool continuation = h.opcode == Opcode::kContinuation;
  bool open = messageOpcode_ != Opcode::kContinuation;
  if (continuation && !open) {
    fail(kProtocolError, "continuation frame without a message", CloseReason::kWsProtocolError);
    return false;
  }
  if (!continuation && open) {
    fail(kProtocolError, "new message inside a fragmented one", CloseReason::kWsProtocolError);
    return false;
  }
  std::uint64_t max = conn_.worker().options().ws.maxMessageSize;
  if (max > 0 && message_.size() + h.length > max) {
    fail(kMessageTooBig, "message too big", CloseReason::kWsProtocolError);
    return false;
  }
  if (!continuation) {
    messageOpcode_ = h.opcode;
    utf8_.reset();
  }
  return true;
}

// Data, a frame or a streamed piece of one. A message in one piece is handed
// over straight from the read buffer; fragments are joined in message_. Text
// is checked as it arrives, so a bad byte fails at once (RFC 6455 §8.1).
void Session::onData(const FrameHeader& h, std::string_view payload) {
  if (closeSent_) return;  // closing: data is read and dropped
  bool text = messageOpcode_ == Opcode::kText;
  if (text && !utf8_.feed(payload)) {
    return fail(kInvalidPayload, "invalid UTF-8 in a text message", CloseReason::kWsProtocolError);
  }
  bool whole = h.fin && message_.empty() && h.opcode != Opcode::kContinuation;
  if (!whole) message_.append(payload);
  if (!h.fin) return;
  if (text && !utf8_.complete()) {
    return fail(kInvalidPayload, "text message ends inside a character",
                CloseReason::kWsProtocolError);
  }
  messageOpcode_ = Opcode::kContinuation;
  if (whole) return deliver(payload, text);
  std::string message;
  message.swap(message_);
  deliver(message, text);
  if (message.capacity() <= kKeepMessageCapacity && message_.capacity() == 0) {
    message.clear();
    message_.swap(message);  // keep a modest buffer for the next fragments
  }
}

void Session::deliver(std::string_view data, bool text) {
  lastData_ = now();
  WorkerStats::add(stats().wsMessagesIn, 1);
  handler_->onMessage(*this, data, text);
}

void Session::onControl(const FrameHeader& h, std::string_view payload) {
  switch (h.opcode) {
    case Opcode::kPing:
      if (heartbeat_.onPingReceived(now()) ==
          liveness::HeartbeatEngine::PingVerdict::kTooManyPings) {
        return fail(kPolicyViolation, "too many pings", CloseReason::kWsTooManyPings);
      }
      if (!closeSent_) appendFrame(buffer().out, Opcode::kPong, payload);
      return;
    case Opcode::kPong: {
      WorkerStats::add(stats().wsPongsReceived, 1);
      if (payload.size() != 8) return;  // unsolicited (allowed) or not ours
      if (auto rtt = heartbeat_.onPongReceived(readBigEndian64(payload), now())) {
        stats().observe(Distribution::kWsPingRttSeconds, static_cast<std::uint64_t>(*rtt));
      }
      return;
    }
    case Opcode::kClose: return onClose(payload);
    default: return;
  }
}

// The peer's close frame: check it, answer with ours (echoing the code) unless
// we sent one, and end the TCP connection once that is out — the server
// closes first (RFC 6455 §7.1.1).
void Session::onClose(std::string_view payload) {
  closeReceived_ = true;
  if (payload.size() == 1)
    return fail(kProtocolError, "close frame of 1 byte", CloseReason::kWsProtocolError);
  std::uint16_t code = kNoStatus;
  if (payload.size() >= 2) {
    code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                      static_cast<std::uint8_t>(payload[1]));
    if (!validReceivedCloseCode(code)) {
      return fail(kProtocolError, "invalid close code", CloseReason::kWsProtocolError);
    }
    if (!validUtf8(payload.substr(2))) {
      return fail(kInvalidPayload, "invalid UTF-8 in the close reason",
                  CloseReason::kWsProtocolError);
    }
  }
  if (!closeSent_) {
    closeCode_ = code;
    closeSent_ = true;
    closeReason_ = CloseReason::kWsClosed;
    appendClose(buffer().out, code, {});
  }
  heartbeat_.stop();
  closeWhenFlushed_ = true;
}

// ---- closing ----------------------------------------------------------------------

// Our close frame: the handshake then waits (closeTimeout) for the peer's.
void Session::startClosing(std::uint16_t code, std::string_view reason, CloseReason why) {
  if (closed_ || closeSent_) return;
  closeSent_ = true;
  closeCode_ = code;
  closeReason_ = why;
  closeSentAt_ = now();
  appendClose(buffer().out, code, reason);
  heartbeat_.stop();
  conn_.armTimer();
  if (!driving_) drive();
}

// Bad input (RFC 6455 §7.1.7 "fail the connection"): our close frame with the
// code, then the TCP close without waiting for an answer; the lingering close
// reads and drops whatever the peer still sends.
void Session::fail(std::uint16_t code, const char* problem, CloseReason why) {
  if (!closeSent_) {
    closeSent_ = true;
    closeCode_ = code;
    appendClose(buffer().out, code, problem);
  }
  closeReason_ = why;
  heartbeat_.stop();
  closeWhenFlushed_ = true;
  if (!driving_) drive();
}

void Session::close(std::uint16_t code, std::string_view reason) {
  startClosing(code, reason, CloseReason::kWsClosed);
}

void Session::send(std::string_view data, bool text) {
  if (closed_ || closeSent_) return;
  appendFrame(buffer().out, text ? Opcode::kText : Opcode::kBinary, data);
  lastData_ = now();
  heartbeat_.onDataSent();
  WorkerStats::add(stats().wsMessagesOut, 1);
  if (!driving_) drive();
}

void Session::heartbeatSendPing(std::uint64_t opaque) {
  char payload[8];
  for (int i = 0; i < 8; ++i) payload[i] = static_cast<char>(opaque >> (56 - 8 * i));
  appendFrame(buffer().out, Opcode::kPing, {payload, 8});
  WorkerStats::add(stats().wsPingsSent, 1);
  if (!driving_) drive();
}

// Nothing came back in time: the peer is dead or hung. Say so if the socket
// takes it, but do not wait for an answer that will not come.
void Session::heartbeatPeerDead() {
  appendClose(buffer().out, kGoingAway, "ping timeout");
  closeSent_ = true;
  closeCode_ = kGoingAway;
  conn_.flush();
  if (!closed_) conn_.close(CloseReason::kWsPingTimeout);
}

Millis Session::deadline() const noexcept {
  const ServerOptions& o = conn_.worker().options();
  Millis d = kNever;
  if (queuedBytes() > 0) d = conn_.lastActivity_ + o.sendTimeout;
  if (closeSent_) return std::min(d, closeSentAt_ + o.ws.closeTimeout);
  if (o.ws.idleTimeout > 0) d = std::min(d, lastData_ + o.ws.idleTimeout);
  return d;
}

void Session::onTimeout() {
  const ServerOptions& o = conn_.worker().options();
  Millis t = now();
  if (queuedBytes() > 0 && t >= conn_.lastActivity_ + o.sendTimeout) {
    return conn_.close(CloseReason::kSendTimeout);
  }
  if (closeSent_) return conn_.close(CloseReason::kWsCloseTimeout);
  startClosing(kGoingAway, "idle timeout", CloseReason::kWsIdleTimeout);
}

void Session::onShutdown() {
  startClosing(kGoingAway, "server shutting down", CloseReason::kShutdown);
}

void Session::onConnectionClosed() noexcept {
  if (closed_) return;
  closed_ = true;
  heartbeat_.stop();
  WorkerStats::addCloseCode(stats(), closeCode_);
  handler_->onClose(*this, closeCode_);
}

}  // namespace tether::http::ws
