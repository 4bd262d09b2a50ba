// ServerConnection: reading and parsing requests, running the handler, queueing
// responses. The timer policy is in server_connection_timers.cpp, output and
// closing in server_connection_output.cpp.
#include "server_connection.h"

#include <unistd.h>

#include <cerrno>

#include "active_state.h"
#include "event_stream_session.h"
#include "keepalive_policy.h"
#include "response_head.h"
#include "tether/net/tls.h"
#include "upgraded.h"
#include "websocket/session.h"
#include "worker.h"

namespace tether::http {
namespace {

using State = ServerConnection::State;
// Stop reading pipelined requests once this much output is queued (backpressure).
constexpr std::size_t kOutputHighWater = 256 * 1024;

bool readsRequests(State s) noexcept {
  return s == State::kIdle || s == State::kReadingHead || s == State::kReadingBody;
}

// What an idle keep-alive connection costs (it holds no buffers): keep it there.
// 168: the accept time for the lifetime histogram took the last 8 bytes; 176:
// the WebSocket session pointer (no field is free to share it safely).
static_assert(sizeof(void*) != 8 || sizeof(ServerConnection) <= 176, "idle connection grew");

}  // namespace

void ServerConnection::open(Worker& worker, int fd, std::uint64_t id, Millis lifetimeEnd,
                            const net::TlsContext* tls) {
  worker_ = &worker;
  waitPrev = waitNext = nullptr;  // waitPrev held the free-list link
  id_ = id;
  requests_ = 0;
  lifetimeEnd_ = lifetimeEnd;
  openedAt_ = stateSince_ = lastActivity_ = lastRead_ = worker.loop().now();
  closeAfterWrite_ = bodyUnread_ = false;
  setState(State::kIdle);
  stream_.open(worker.loop(), fd, this, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  if (tls != nullptr) {
    stream_.setTransport(new net::TlsTransport(*tls, stream_));  // closeTls() deletes it
  }
  worker.markWaiting(*this);  // for its first request head
  armTimer();
}

// ---- event handling -----------------------------------------------------------

// The loop never delivers an event of a socket closed earlier in the batch
// (Stream::close() drops them), so no staleness check here.
void ServerConnection::onIoEvents(std::uint32_t events) {
  stream_.onEvents(events);
  drive();
}

// Pumps the state machine until it must wait for the socket, a timer or a
// deferred handler. A loop, not recursion, so pipelined floods stay flat.
void ServerConnection::drive() {
  for (;;) {
    switch (state_) {
      case State::kFree:
      case State::kHandling: return;
      case State::kLingering: return linger();
      case State::kWebSocket:
      case State::kEventStream: return upgraded_->drive();
      case State::kWriting:
        if (!stream_.writeReady() || !flush()) return;
        if (!afterOutput()) return;
        continue;
      default: break;
    }
    if (active_ != nullptr && active_->outputPending()) {
      setState(State::kWriting);
      continue;
    }
    if (active_ != nullptr && active_->parsed < active_->end) {
      process();
      continue;
    }
    if (!stream_.readReady()) return maybeIdle();
    if (readOnce()) process();
  }
}

bool ServerConnection::readOnce() {
  acquireActive();
  ActiveState& a = *active_;
  if (a.end == a.capacity) a.compact();
  bool handshake = stream_.transport() != nullptr && handshaking();
  net::IoResult r = stream_.read(a.buffer.get() + a.end, a.capacity - a.end);
  if (handshake) afterTlsRead();
  switch (r.kind) {
    case net::IoResult::Kind::kDone:
      a.end += static_cast<std::uint32_t>(r.bytes);
      lastRead_ = lastActivity_ = worker_->loop().now();
      return true;
    case net::IoResult::Kind::kEof: onPeerEof(); return false;
    case net::IoResult::Kind::kBlocked: return false;
    case net::IoResult::Kind::kFailed: closeOnError(r.err); return false;
  }
  return false;
}

// Half-close does not end a request (RFC 9112 §9.6): responses to complete
// requests still go out (afterOutput/maybeIdle close afterwards); a request cut
// off mid-way can never be answered.
void ServerConnection::onPeerEof() {
  if (active_ != nullptr && active_->parser.messageInProgress()) close(CloseReason::kClientClosed);
}

// ---- request processing -------------------------------------------------------

void ServerConnection::process() {
  ActiveState& a = *active_;
  bool resume = false;  // a paused head must be resumed even with no new bytes
  while ((a.parsed < a.end || resume) && readsRequests(state_)) {
    resume = false;
    if (state_ == State::kIdle) beginRequest();
    std::size_t consumed = 0;
    const char* base = a.buffer.get();
    auto event = a.parser.execute(base, base + a.parsed, a.end - a.parsed, consumed);
    a.parsed += static_cast<std::uint32_t>(consumed);
    switch (event) {
      case RequestParser::Event::kNeedMore: return checkHeadLimit();
      case RequestParser::Event::kHeadComplete:
        onHeadComplete();
        resume = true;
        break;
      case RequestParser::Event::kMessageComplete:
        // A bodiless request: its head was not paused on, so act on it now.
        if (state_ == State::kReadingHead) {
          onHeadComplete();
          if (state_ != State::kReadingHead) return;  // the head was rejected
        }
        onMessageComplete();
        break;
      case RequestParser::Event::kError:
        return respondError(a.parser.errorStatus(), a.parser.errorReason(),
                            CloseReason::kBadRequest);
    }
  }
}

// A head that starts right after an idle wait keeps its place in the waiting
// list (the wait goes on until the head is complete); one that follows a
// pipelined request joins it now.
void ServerConnection::beginRequest() {
  worker_->markWaitingIfNot(*this);
  if (requests_ > 0) observeSince(Distribution::kIdleGapSeconds, stateSince_);
  stateSince_ = worker_->loop().now();
  setState(State::kReadingHead);
  armTimer();
}

void ServerConnection::checkHeadLimit() {
  ActiveState& a = *active_;
  if (a.parser.headComplete() || !a.parser.messageInProgress()) return;
  if (a.parsed - a.start > worker_->options().maxHeaderSize) rejectOversizedHead();
}

// 414 when the request target alone breaks the limit (RFC 9110 §15.5.15), else 431.
void ServerConnection::rejectOversizedHead() {
  ActiveState& a = *active_;
  std::uint64_t max = worker_->options().maxHeaderSize;
  bool targetTooLong = !a.parser.urlComplete() || a.parser.urlEnd() - a.start > max;
  respondError(targetTooLong ? 414 : 431,
               targetTooLong ? "request target too long" : "request header too large",
               CloseReason::kBadRequest);
}

void ServerConnection::onHeadComplete() {
  ActiveState& a = *active_;
  a.headEnd = a.parsed;
  if (a.headEnd - a.start > worker_->options().maxHeaderSize) return rejectOversizedHead();
  worker_->unmarkWaiting(*this);  // the client did its part: not a victim now
  ++requests_;
  WorkerStats& st = worker_->mutableStats();
  WorkerStats::add(st.requests, 1);
  if (requests_ > 1) WorkerStats::add(st.reusedRequests, 1);
  if (!a.parser.bodyExpected()) return;
  setState(State::kReadingBody);
  armTimer();
  const char* base = a.buffer.get();
  a.parser.fillRequest(base, a.request);
  // RFC 9110 §10.1.1: an HTTP/1.0 client knows no 1xx, so its expectation is
  // ignored; a client that sent body bytes already does not wait for a 100.
  std::string_view expect = a.request.header("expect");
  if (expect.empty() || a.request.versionMinor == 0) return;
  if (!equalsIgnoreCase(expect, "100-continue")) {
    return respondError(417, "unsupported expectation", CloseReason::kBadRequest);
  }
  if (a.end > a.headEnd) return;
  a.out.append("HTTP/1.1 100 Continue\r\n\r\n");  // flushed before we wait for the body
}

void ServerConnection::onMessageComplete() {
  ActiveState& a = *active_;
  Request& req = a.request;
  a.parser.fillRequest(a.buffer.get(), req);
  req.connectionId = id_;
  req.requestNumber = requests_;
  a.requestPersistent =
      requestWantsPersistence(req.versionMajor, req.versionMinor, a.parser.connectionTokens());
  a.headRequest = req.isHead();
  a.http10 = req.versionMinor == 0;
  if (worker_->accessLogEnabled()) {
    a.logRequestLine.assign(req.method).append(" ").append(req.target);
    a.logRequestLine.append(a.http10 ? " HTTP/1.0" : " HTTP/1.1");
  }
  a.response.reset();
  a.response.conn_ = this;
  setState(State::kHandling);
  worker_->server().dispatch(req, a.response);
  a.start = a.parsed;
  if (a.response.deferred_) return;  // finishDeferred() continues
  queueResponse();
}

void ServerConnection::finishDeferred() {
  if (state_ != State::kHandling) return;
  queueResponse();
  drive();
}

void ServerConnection::queueResponse() {
  ActiveState& a = *active_;
  Response& r = a.response;
  if (r.upgrade_ != nullptr) return queueUpgrade();
  if (r.events_ != nullptr) return queueEventStream();
  const ServerOptions& o = worker_->options();
  PersistenceInput in;
  in.requestPersistent = a.requestPersistent;
  in.keepaliveEnabled = o.keepaliveTimeout > 0;
  in.requestNumber = requests_;
  in.maxRequests = o.keepaliveRequests;
  in.lifetimeExpired = worker_->loop().now() >= lifetimeEnd_;
  in.shuttingDown = worker_->shuttingDown();
  in.handlerClose = r.forceClose_;
  in.bodyUnread = bodyUnread_;
  writeHead(r.status_, r.contentType_, r.headers_, r.bodySize(), closeAfterResponse(in));
  if (!a.headRequest && statusHasBody(r.status_)) {
    if (r.source_) {
      a.source = std::move(r.source_);
    } else {
      a.out.append(r.body_);
    }
  }
  worker_->logAccess(*this, a.logRequestLine, r.status_, r.bodySize(), !closeAfterWrite_);
  bool stop = closeAfterWrite_ || a.source || a.out.size() - a.outSent > kOutputHighWater;
  observeSince(Distribution::kRequestSeconds, stateSince_);  // since beginRequest()
  if (!stop) stateSince_ = worker_->loop().now();            // the keep-alive wait begins
  setState(stop ? State::kWriting : State::kIdle);
}

// A long-lived stream is not started during a shutdown: 503 instead.
bool ServerConnection::refuseWhileShuttingDown() {
  if (!worker_->shuttingDown()) return false;
  Response& r = active_->response;
  r.reset();
  r.conn_ = this;
  r.setStatus(503);
  r.setContentType("text/plain");
  r.setBody("Service Unavailable: the server is shutting down\n");
  queueResponse();
  return true;
}

// A 101: its head goes out, then the connection speaks WebSocket (see
// afterOutput). The keep-alive policy has no say: the connection is no longer
// HTTP.
void ServerConnection::queueUpgrade() {
  if (refuseWhileShuttingDown()) return;
  ActiveState& a = *active_;
  HeadFraming f;
  f.upgrade = true;
  f.date = worker_->loop().httpDate();
  appendResponseHead(a.out, 101, {}, a.response.headers_, 0, f);
  worker_->logAccess(*this, a.logRequestLine, 101, 0, true);
  observeSince(Distribution::kRequestSeconds, stateSince_);
  setState(State::kWriting);
}

// An event stream's head (open-ended body, the connection closes after it);
// its events follow from the session (see afterOutput).
void ServerConnection::queueEventStream() {
  if (refuseWhileShuttingDown()) return;
  ActiveState& a = *active_;
  Response& r = a.response;
  HeadFraming f;
  f.stream = true;
  f.keepAlive = false;
  f.http10 = a.http10;
  f.date = worker_->loop().httpDate();
  appendResponseHead(a.out, 200, r.contentType_, r.headers_, 0, f);
  worker_->logAccess(*this, a.logRequestLine, 200, 0, false);
  observeSince(Distribution::kRequestSeconds, stateSince_);
  setState(State::kWriting);
}

bool ServerConnection::upgrading() const noexcept {
  return active_ != nullptr &&
         (active_->response.upgrade_ != nullptr || active_->response.events_ != nullptr);
}

// The head is out: the stream, its buffer and any bytes the client sent after
// its request pass to the protocol that follows.
void ServerConnection::becomeUpgraded() {
  Response& r = active_->response;
  if (r.upgrade_ != nullptr) {
    upgraded_ = new ws::Session(*this, std::move(r.upgrade_));
    setState(State::kWebSocket);
  } else {
    upgraded_ = new EventStreamSession(*this, std::move(r.events_), !active_->http10);
    setState(State::kEventStream);
  }
  upgraded_->open();
  armTimer();
}

void ServerConnection::writeHead(int status, std::string_view type, std::string_view headers,
                                 std::uint64_t bodySize, std::optional<CloseReason> close) {
  ActiveState& a = *active_;
  const ServerOptions& o = worker_->options();
  if (close) {
    closeAfterWrite_ = true;
    closeReason_ = *close;
  }
  HeadFraming f;
  f.keepAlive = !close.has_value();
  f.http10 = a.http10;
  f.advertise = o.keepaliveHeader;
  f.timeoutSeconds = advertisedTimeoutSeconds(o.keepaliveTimeout);
  f.remaining = o.keepaliveRequests == 0 ? 0 : o.keepaliveRequests - requests_;
  f.date = worker_->loop().httpDate();
  appendResponseHead(a.out, status, type, headers, bodySize, f);
}

// Answers bad input and stops parsing: the framing of anything after it is lost.
void ServerConnection::respondError(int status, const char* reason, CloseReason why) {
  ActiveState& a = *active_;
  bodyUnread_ = a.parser.messageInProgress() || a.parsed < a.end;
  a.parsed = a.end;
  std::string body = std::string(reasonPhrase(status)) + ": " + reason + "\n";
  writeHead(status, "text/plain", {}, body.size(), why);
  a.out.append(body);
  worker_->logAccess(*this, a.logRequestLine, status, body.size(), false);
  setState(State::kWriting);
}

}  // namespace tether::http
