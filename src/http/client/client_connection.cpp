#include "client_connection.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "pool_impl.h"
#include "tether/http/client/request_writer.h"
#include "tether/net/connector.h"

namespace tether::http::client {
ClientConnection::ClientConnection(PoolImpl& pool, std::uint64_t id, Millis lifetimeEnd)
    : pool_(pool), lifetimeEnd_(lifetimeEnd), id_(id) {
  parser_.setBodySink(&ClientConnection::onBody, this);
}

ClientConnection::~ClientConnection() { close(); }

bool ClientConnection::connect(const net::SocketAddress& addr,
                               const liveness::KeepaliveProfile& keepalive, Millis now) {
  net::SocketSetup setup;
  // Keepalive and TCP_USER_TIMEOUT bound how long a dead peer can hold a
  // request, idle or with data in flight; failing to set them is not fatal.
  setup.prepare = [&keepalive](int fd) {
    (void)liveness::applyKeepaliveProfile(fd, keepalive);
    return true;
  };
  connectStartUs_ = statsMicros();
  bool connected = false;  // even then, the first EPOLLOUT edge reports it
  int fd = net::startConnect(addr, setup, &connected);
  if (fd < 0) return false;
  state_ = State::kConnecting;
  stream_.open(pool_.loop(), fd, this, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  // decideRetry() needs to know whether the kernel took a request byte.
  stream_.sendDirectly();
  if (net::TlsOrigin* origin = pool_.tls()) {
    tls_ = origin->start(fd);  // the handshake runs inside the first write
    stream_.setTransport(tls_.get());
  }
  arm(now + pool_.options().connectTimeout);
  return true;
}

void ClientConnection::start(std::unique_ptr<Exchange> ex, Millis now) {
  ex_ = std::move(ex);
  reused_ = requests_ > 0;
  ++requests_;
  received_ = 0;
  written_ = 0;
  parser_.setRequestIsHead(ex_->request.method == "HEAD");
  // Validated by the pool before a connection was chosen.
  (void)serializeRequest(ex_->request, pool_.host(), out_);
  RequestStats& st = ex_->result.stats;
  st.reused = reused_;
  st.idleBeforeReuseMs = reused_ ? now - idleSince_ : -1;
  if (st.attempts == 1) {  // what a failed first attempt met, even if a retry follows
    st.firstAttemptReused = reused_;
    st.firstAttemptIdleMs = st.idleBeforeReuseMs;
  }
  st.connectionId = id_;
  st.requestOnConnection = requests_;
  st.firstByteUs = -1;
  if (state_ == State::kConnecting) return;  // onConnected() writes
  state_ = State::kBusy;
  st.connectUs = -1;
  writeStartUs_ = statsMicros();
  arm(now + pool_.options().requestTimeout);
  flush();
}

bool ClientConnection::peerStillThere() const { return stream_.quietAndOpen(); }

void ClientConnection::enterIdle(Millis deadline, Millis now) {
  state_ = State::kIdle;
  idleSince_ = now;
  arm(deadline);
}

void ClientConnection::close() {
  if (timer_.linked()) pool_.loop().timers().unlink(timer_);
  if (tls_) tls_->closeNotify();  // skipped after a failure or before the handshake
  stream_.close(pool_.loop(), this);
  stream_.setTransport(nullptr);
  tls_.reset();
  state_ = State::kClosed;
}

void ClientConnection::arm(Millis deadline) {
  deadline_ = deadline;
  pool_.loop().timers().link(timer_, deadline);
}

void ClientConnection::onTimer() {
  switch (state_) {
    case State::kConnecting:
      fail(ErrorKind::kConnectTimeout, ETIMEDOUT, "no connection within the connect timeout");
      break;
    case State::kBusy:
      fail(ErrorKind::kRequestTimeout, ETIMEDOUT, "no response within the request timeout");
      break;
    case State::kIdle: pool_.onIdleExpired(*this); break;
    case State::kClosed: break;
  }
}

void ClientConnection::onIoEvents(std::uint32_t events) {
  events = stream_.onEvents(events);
  switch (state_) {
    case State::kClosed: return;
    case State::kIdle: {
      // Idle: anything but "writable" means the peer closed or misbehaves,
      // except TLS records that carry no data (late TLS 1.3 tickets).
      bool closing = events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
      bool readable = events & EPOLLIN;
      bool gone = closing || (readable && (!tls_ || !stream_.quietAndOpen()));
      if (pool_.options().watchIdle && gone) pool_.onIdlePeerClosed(*this);
      return;
    }
    case State::kConnecting:
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      onConnected();
      if (state_ != State::kBusy) return;
      [[fallthrough]];  // the same edge may already carry response bytes
    case State::kBusy:
      if ((events & EPOLLOUT) && written_ < out_.size()) flush();
      if (state_ == State::kBusy && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        readAll();
      }
      if (state_ == State::kBusy) noteHandshake();
      return;
  }
}

void ClientConnection::onConnected() {
  int err = net::connectResult(stream_.fd());
  if (err != 0) return fail(ErrorKind::kConnectFailed, err, "connect failed");
  state_ = State::kBusy;
  std::int64_t nowUs = statsMicros();
  if (ex_) ex_->result.stats.connectUs = nowUs - connectStartUs_;
  writeStartUs_ = nowUs;
  arm(pool_.loop().now() + pool_.options().requestTimeout);
  flush();
}

void ClientConnection::flush() {
  if (!stream_.writeReady()) return;
  net::IoResult r = stream_.writeAll(out_, &written_);
  noteHandshake();
  if (r.kind != net::IoResult::Kind::kFailed) return;  // done, or EPOLLOUT resumes
  if (failedByTls(r.err)) return;
  // EPIPE/ECONNRESET: the response (or the reason for the close) may still be
  // readable; read it before deciding.
  readAll();
  if (state_ == State::kBusy)
    fail(ErrorKind::kConnectionClosedBeforeResponse, r.err, "send failed");
}

void ClientConnection::readAll() {
  for (;;) {
    net::IoResult r = stream_.read(pool_.readBuffer(), pool_.readBufferSize());
    if (r.kind == net::IoResult::Kind::kDone) {
      if (received_ == 0 && ex_) ex_->result.stats.firstByteUs = statsMicros() - writeStartUs_;
      received_ += r.bytes;
      if (!parse(pool_.readBuffer(), r.bytes)) return;
    } else if (r.kind == net::IoResult::Kind::kEof) {
      ResponseParser::Event ev = parser_.finish();
      if (ev == ResponseParser::Event::kMessageComplete) return completeResponse(false);
      if (ev == ResponseParser::Event::kError && received_ > 0) {
        return fail(ErrorKind::kConnectionClosedDuringResponse, 0, parser_.errorReason());
      }
      bool handshaking = tls_ && !tls_->handshakeDone();
      return fail(received_ > 0 ? ErrorKind::kConnectionClosedDuringResponse
                                : ErrorKind::kConnectionClosedBeforeResponse,
                  0,
                  handshaking ? "the server closed the connection during the TLS handshake"
                              : "the server closed the connection");
    } else if (r.kind == net::IoResult::Kind::kBlocked) {
      return;
    } else {
      if (failedByTls(r.err)) return;
      return fail(received_ > 0 ? ErrorKind::kConnectionClosedDuringResponse
                                : ErrorKind::kConnectionClosedBeforeResponse,
                  r.err, "connection reset");
    }
  }
}

// Returns false when the exchange ended (the connection was handed back).
bool ClientConnection::parse(const char* data, std::size_t len) {
  std::size_t consumed = 0;
  ResponseParser::Event ev = parser_.execute(data, len, consumed);
  if (ev == ResponseParser::Event::kNeedMore) {
    if (ex_ && ex_->result.response.body.size() > pool_.options().maxResponseBody) {
      fail(ErrorKind::kResponseTooLarge, 0, "response body above the limit");
      return false;
    }
    return true;
  }
  if (ev == ResponseParser::Event::kError) {
    fail(ErrorKind::kMalformedResponse, 0, parser_.errorReason());
    return false;
  }
  completeResponse(consumed < len);
  return false;
}

void ClientConnection::onBody(void* self, std::string_view bytes) {
  auto& conn = *static_cast<ClientConnection*>(self);
  if (conn.ex_) conn.ex_->result.response.body.append(bytes);
}

void ClientConnection::completeResponse(bool extraBytes) {
  ClientResponse& r = ex_->result.response;
  r.status = parser_.status();
  r.versionMinor = parser_.versionMinor();
  r.reason.assign(parser_.reason());
  r.headers.clear();
  for (std::size_t i = 0; i < parser_.headerCount(); ++i) {
    r.headers.emplace_back(parser_.headerName(i), parser_.headerValue(i));
  }
  RequestStats& st = ex_->result.stats;
  st.bytesSent = written_;
  st.bytesReceived = received_;
  st.keepAliveHintSeconds = parser_.keepAliveHint().timeoutSeconds;
  // Bytes past the response, a request not fully written (early answer) or a
  // FIN already seen: the connection cannot carry another exchange.
  bool reusable =
      parser_.reusable() && !extraBytes && written_ == out_.size() && !stream_.peerDone();
  if (!reusable) close();
  pool_.onResponse(*this, std::move(ex_), reusable, parser_.keepAliveHint().timeoutSeconds);
}

// A failed handshake or a refused certificate, in the client's words; false
// when TLS does not explain the failure (a broken record after the handshake
// is a reset like any other).
bool ClientConnection::failedByTls(int err) {
  if (!tls_ || err != EPROTO) return false;
  net::TlsTransport::Failure f = tls_->failure();
  if (f == net::TlsTransport::Failure::kVerify) {
    fail(ErrorKind::kTlsVerifyFailed, err, tls_->failureText());
    return true;
  }
  if (f == net::TlsTransport::Failure::kNone || tls_->handshakeDone()) return false;
  fail(ErrorKind::kTlsHandshakeFailed, err, tls_->failureText());
  return true;
}

// https: counts the handshake once it finished and times it for the exchange
// that caused it (from writable to done).
void ClientConnection::noteHandshake() {
  if (!tls_ || handshakeCounted_ || !tls_->handshakeDone()) return;
  handshakeCounted_ = true;
  pool_.onTlsHandshake(tls_->resumed());
  if (!ex_) return;
  ex_->result.stats.tlsHandshakeUs = statsMicros() - writeStartUs_;
  ex_->result.stats.tlsResumed = tls_->resumed();
}

void ClientConnection::fail(ErrorKind kind, int err, const char* detail) {
  AttemptFailure f;
  f.kind = kind;
  f.sysErrno = err;
  f.detail = detail;
  f.requestSent = written_ > 0;
  f.responseStarted = received_ > 0;
  f.connectionClosed = kind == ErrorKind::kConnectionClosedBeforeResponse;
  if (ex_) {
    ex_->result.stats.bytesSent = written_;
    ex_->result.stats.bytesReceived = received_;
  }
  close();
  pool_.onFailure(*this, std::move(ex_), f);
}

}  // namespace tether::http::client
