#include "client_connection.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "pool_impl.h"
#include "tether/http/client/request_writer.h"

namespace tether::http::client {

ClientConnection::ClientConnection(PoolImpl& pool, std::uint64_t id, Millis lifetimeEnd)
    : pool_(pool), lifetimeEnd_(lifetimeEnd), id_(id) {
  parser_.setBodySink(&ClientConnection::onBody, this);
}

ClientConnection::~ClientConnection() { close(); }

bool ClientConnection::connect(const net::SocketAddress& addr,
                               const liveness::KeepaliveProfile& keepalive, Millis now) {
  fd_ = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  // Keepalive and TCP_USER_TIMEOUT bound how long a dead peer can hold a
  // request (S3/S4); failing to set them is not fatal for the request.
  (void)liveness::applyKeepaliveProfile(fd_, keepalive);
  connectStartUs_ = statsMicros();
  if (::connect(fd_, addr.raw(), addr.length) < 0 && errno != EINPROGRESS) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    errno = err;
    return false;
  }
  state_ = State::kConnecting;
  pool_.loop().addFd(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
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

bool ClientConnection::peerStillThere() const {
  if (rdhup_ || fd_ < 0) return false;
  char byte;
  ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // 0: FIN queued; > 0: bytes nobody asked for (e.g. a 408); error other than
  // EAGAIN: RST. Only "nothing to read" means the peer may still want us.
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void ClientConnection::enterIdle(Millis deadline, Millis now) {
  state_ = State::kIdle;
  idleSince_ = now;
  arm(deadline);
}

void ClientConnection::close() {
  if (timer_.entry.linked()) pool_.loop().timers().unlink(timer_.entry);
  if (fd_ >= 0) {
    pool_.loop().removeFd(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  state_ = State::kClosed;
}

void ClientConnection::arm(Millis deadline) {
  deadline_ = deadline;
  pool_.loop().timers().link(timer_.entry, deadline);
}

void ClientConnection::onTimer(core::TimerEntry& entry) {
  ClientConnection& self = *reinterpret_cast<TimerHook*>(&entry)->owner;
  switch (self.state_) {
    case State::kConnecting:
      self.fail(ErrorKind::kConnectTimeout, ETIMEDOUT, "no connection within the connect timeout");
      break;
    case State::kBusy:
      self.fail(ErrorKind::kRequestTimeout, ETIMEDOUT, "no response within the request timeout");
      break;
    case State::kIdle: self.pool_.onIdleExpired(self); break;
    case State::kClosed: break;
  }
}

void ClientConnection::onIoEvents(std::uint32_t events) {
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) rdhup_ = true;
  switch (state_) {
    case State::kClosed: return;
    case State::kIdle:
      // Idle: anything but "writable" means the peer closed or misbehaves.
      if (pool_.options().watchIdle && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        pool_.onIdlePeerClosed(*this);
      }
      return;
    case State::kConnecting:
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      onConnected();
      if (state_ != State::kBusy) return;
      [[fallthrough]];  // the same edge may already carry response bytes
    case State::kBusy:
      if (events & EPOLLOUT) {
        writable_ = true;
        if (written_ < out_.size()) flush();
      }
      if (state_ == State::kBusy && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        readAll();
      }
      return;
  }
}

void ClientConnection::onConnected() {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err != 0) return fail(ErrorKind::kConnectFailed, err, "connect failed");
  rdhup_ = false;  // a HUP before the connect finished belongs to the failure path above
  state_ = State::kBusy;
  writable_ = true;
  std::int64_t nowUs = statsMicros();
  if (ex_) ex_->result.stats.connectUs = nowUs - connectStartUs_;
  writeStartUs_ = nowUs;
  arm(pool_.loop().now() + pool_.options().requestTimeout);
  flush();
}

void ClientConnection::flush() {
  while (writable_ && written_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + written_, out_.size() - written_, MSG_NOSIGNAL);
    if (n > 0) {
      written_ += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      writable_ = false;
    } else if (n < 0 && errno != EINTR) {
      // EPIPE/ECONNRESET: the response (or the reason for the close) may still
      // be readable; read it before deciding.
      int err = errno;
      readAll();
      if (state_ == State::kBusy)
        fail(ErrorKind::kConnectionClosedBeforeResponse, err, "send failed");
      return;
    }
  }
}

void ClientConnection::readAll() {
  for (;;) {
    ssize_t n = ::recv(fd_, pool_.readBuffer(), pool_.readBufferSize(), 0);
    if (n > 0) {
      if (received_ == 0 && ex_) ex_->result.stats.firstByteUs = statsMicros() - writeStartUs_;
      received_ += static_cast<std::size_t>(n);
      if (!parse(pool_.readBuffer(), static_cast<std::size_t>(n))) return;
    } else if (n == 0) {
      rdhup_ = true;
      ResponseParser::Event ev = parser_.finish();
      if (ev == ResponseParser::Event::kMessageComplete) return completeResponse(false);
      if (ev == ResponseParser::Event::kError && received_ > 0) {
        return fail(ErrorKind::kConnectionClosedDuringResponse, 0, parser_.errorReason());
      }
      return fail(received_ > 0 ? ErrorKind::kConnectionClosedDuringResponse
                                : ErrorKind::kConnectionClosedBeforeResponse,
                  0, "the server closed the connection");
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (errno != EINTR) {
      rdhup_ = true;
      return fail(received_ > 0 ? ErrorKind::kConnectionClosedDuringResponse
                                : ErrorKind::kConnectionClosedBeforeResponse,
                  errno, "connection reset");
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
  bool reusable = parser_.reusable() && !extraBytes && written_ == out_.size() && !rdhup_;
  if (!reusable) close();
  pool_.onResponse(*this, std::move(ex_), reusable, parser_.keepAliveHint().timeoutSeconds);
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
