#include "tools/inspect/inspect_probe.h"

#include <cerrno>
#include <cstring>

#include "tether/net/connector.h"

namespace tether::tools::inspect {
namespace {

constexpr std::size_t kReadBuffer = 16 * 1024;

ResponseSeen seen(const client::ResponseParser& p) {
  ResponseSeen r;
  r.status = p.status();
  r.versionMinor = p.versionMinor();
  r.connectionClose = p.connectionTokens().close;
  r.connectionKeepAlive = p.connectionTokens().keepAlive;
  r.keepAliveTimeout = p.keepAliveHint().timeoutSeconds;
  r.keepAliveMax = p.keepAliveHint().max;
  r.bodyBytes = p.bodyBytes();
  r.reusable = p.reusable();
  return r;
}

}  // namespace

const char* closeStyleName(CloseStyle s) noexcept {
  switch (s) {
    case CloseStyle::kFin: return "fin";
    case CloseStyle::kRst: return "rst";
    case CloseStyle::kOpen: break;
  }
  return "open";
}

Probe::Probe(net::EventLoop& loop, const net::SocketAddress& target, ProbeScript script,
             std::function<void()> onDone)
    : loop_(loop), target_(target), script_(std::move(script)), onDone_(std::move(onDone)) {}

Probe::~Probe() {
  loop_.cancel(timer_);
  stream_.close(loop_, this);
  stream_.setTransport(nullptr);
}

void Probe::start() {
  net::SocketSetup setup;
  setup.noDelay = true;
  bool keepaliveFailed = false;
  if (script_.keepalive) {
    setup.prepare = [&](int fd) {
      keepaliveFailed = !liveness::applyKeepaliveProfile(fd, *script_.keepalive);
      return !keepaliveFailed;
    };
  }
  bool connected = false;
  int fd = net::startConnect(target_, setup, &connected);
  if (fd < 0) return onFailed(keepaliveFailed ? "keepalive options" : "connect", errno);
  stream_.open(loop_, fd, this, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  if (script_.tls != nullptr) {
    tls_ = script_.tls->start(fd);  // the handshake runs inside the first write
    stream_.setTransport(tls_.get());
  }
  armTimer(script_.requestTimeout);
  if (connected) onConnected();
}

void Probe::onFailed(const char* what, int err) {
  out_.connectErrno = err;
  finish(std::string(what) + ": " + std::strerror(err));
}

void Probe::onIoEvents(std::uint32_t events) {
  events = stream_.onEvents(events);
  if (state_ == State::kDone) return;
  if (state_ == State::kConnecting) {
    if (int err = net::connectResult(stream_.fd()); err != 0) return onFailed("connect", err);
    if (!(events & EPOLLOUT)) return;
    onConnected();
    if (state_ == State::kDone) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readAll();
  if (state_ != State::kDone && (events & EPOLLOUT)) flush();
}

// https: what the handshake was, once it is done (inside a write or a read).
void Probe::noteHandshake() {
  if (!tls_ || out_.tls.done || !tls_->handshakeDone()) return;
  TlsSeen& t = out_.tls;
  t.done = true;
  t.version = tls_->version();
  t.alpn = tls_->alpn();
  t.cipher = tls_->cipher();
  t.resumed = tls_->resumed();
  t.handshakeMs = nowMs() - connectedMs_;
}

// A failed handshake or a refused certificate ends the probe with the reason.
bool Probe::failedByTls(int err) {
  if (!tls_ || err != EPROTO || tls_->failure() == net::TlsTransport::Failure::kNone) return false;
  out_.tls.refused = tls_->failure() == net::TlsTransport::Failure::kVerify;
  finish(std::string("TLS: ") + tls_->failureText());
  return true;
}

void Probe::onConnected() {
  connectedMs_ = nowMs();
  state_ = State::kAwaiting;
  headIndex_ = 0;
  sent_ = 1;
  send(script_.first, script_.headFlags.size());
}

void Probe::send(const std::string& bytes, std::size_t responses) {
  pending_ = bytes;
  written_ = 0;
  outstanding_ = responses;
  armTimer(script_.requestTimeout);
  flush();
}

void Probe::flush() {
  net::IoResult r = stream_.writeAll(pending_, &written_);  // blocked: EPOLLOUT resumes
  noteHandshake();
  if (r.kind != net::IoResult::Kind::kFailed || failedByTls(r.err)) return;
  // The server closed while we wrote: what it sent before is still queued for
  // us (Linux returns queued data before the reset), so read that first.
  if (stream_.classify(r.err, true) == net::StreamError::kPeerReset) {
    readAll();
    if (state_ != State::kDone) onPeerClosed(CloseStyle::kRst);
    return;
  }
  finish(std::string("send: ") + std::strerror(r.err));
}

// Edge-triggered: read until EAGAIN, EOF or an error.
void Probe::readAll() {
  char buf[kReadBuffer];
  while (state_ != State::kDone) {
    net::IoResult r = stream_.read(buf, sizeof buf);
    noteHandshake();
    switch (r.kind) {
      case net::IoResult::Kind::kDone: consume(buf, r.bytes, nowMs()); continue;
      case net::IoResult::Kind::kEof: return onPeerClosed(CloseStyle::kFin);
      case net::IoResult::Kind::kBlocked: return;
      case net::IoResult::Kind::kFailed:
        if (failedByTls(r.err)) return;
        if (stream_.classify(r.err, false) == net::StreamError::kPeerReset) {
          return onPeerClosed(CloseStyle::kRst);
        }
        return finish(std::string("recv: ") + std::strerror(r.err));
    }
  }
}

void Probe::consume(const char* data, std::size_t len, double nowMs) {
  while (len > 0 && state_ != State::kDone) {
    if (outstanding_ == 0) {
      out_.unexpectedBytes += len;  // e.g. an answer to the request the server should not read
      return;
    }
    if (headIndex_ < script_.headFlags.size()) {
      parser_.setRequestIsHead(script_.headFlags[headIndex_]);
    } else {
      parser_.setRequestIsHead(false);
    }
    std::size_t used = 0;
    auto ev = parser_.execute(data, len, used);
    if (ev == client::ResponseParser::Event::kError) {
      return finish(std::string("malformed response: ") + parser_.errorReason());
    }
    if (ev == client::ResponseParser::Event::kNeedMore) return;
    data += used;
    len -= used;
    onResponse(nowMs);
  }
}

void Probe::onResponse(double nowMs) {
  ++headIndex_;
  --outstanding_;
  ++out_.responseCount;
  lastResponseMs_ = nowMs;
  ResponseSeen r = seen(parser_);
  // Repeat mode keeps the first and the last response only.
  if (!script_.again.empty() && out_.responses.size() == 2) {
    out_.responses.back() = r;
  } else {
    out_.responses.push_back(r);
  }
  if (outstanding_ == 0) afterResponses(nowMs);
}

void Probe::afterResponses(double nowMs) {
  (void)nowMs;
  bool open = parser_.reusable();
  if (open && !script_.again.empty() && sent_ < script_.cap) {
    ++sent_;
    return send(script_.again, 1);
  }
  if (!script_.again.empty() && open) return finish("");  // cap reached, still open
  state_ = State::kWaitingClose;
  armTimer(script_.waitForClose);
}

void Probe::onPeerClosed(CloseStyle style) {
  double now = nowMs();
  if (state_ == State::kAwaiting && outstanding_ > 0) {
    // A close-delimited body ends here; anything else in flight was cut short.
    if (parser_.messageInProgress() &&
        parser_.finish() == client::ResponseParser::Event::kMessageComplete) {
      onResponse(now);
    } else if (parser_.messageInProgress()) {
      out_.closedMidResponse = true;
    } else {
      out_.closedWithRequestPending = true;
    }
  }
  out_.close = style;
  out_.tls.peerCloseNotify = tls_ && tls_->peerCloseNotify();
  if (lastResponseMs_ >= 0) out_.closeAfterMs = now - lastResponseMs_;
  finish("");
}

void Probe::onTimeout() {
  if (state_ == State::kConnecting) return finish("connect timed out");
  if (state_ == State::kAwaiting) return finish("request timed out");
  out_.waitedMs = script_.waitForClose;
  finish("");  // still open after the wait: CloseStyle::kOpen
}

void Probe::armTimer(Millis delay) {
  loop_.cancel(timer_);
  timer_ = loop_.runAfter(delay, [this] { onTimeout(); });
}

void Probe::finish(std::string error) {
  if (state_ == State::kDone) return;
  state_ = State::kDone;
  loop_.cancel(timer_);
  out_.error = std::move(error);
  // Our close of a live session says so (it also keeps the session resumable).
  if (tls_ && !stream_.peerDone()) tls_->closeNotify();
  stream_.close(loop_, this);
  onDone_();
}

}  // namespace tether::tools::inspect
