#include "tools/inspect/inspect_probe.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

double monotonicMs() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

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
  if (fd_ >= 0) {
    loop_.removeFd(fd_);
    ::close(fd_);
  }
}

void Probe::start() {
  fd_ = ::socket(target_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    out_.connectErrno = errno;
    return finish(std::string("socket: ") + std::strerror(errno));
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (script_.keepalive && !liveness::applyKeepaliveProfile(fd_, *script_.keepalive)) {
    out_.connectErrno = errno;
    return finish(std::string("keepalive options: ") + std::strerror(errno));
  }
  int rc = ::connect(fd_, target_.raw(), target_.length);
  if (rc < 0 && errno != EINPROGRESS) {
    out_.connectErrno = errno;
    return finish(std::string("connect: ") + std::strerror(errno));
  }
  loop_.addFd(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
  armTimer(script_.requestTimeout);
  if (rc == 0) onConnected();
}

void Probe::onIoEvents(std::uint32_t events) {
  if (state_ == State::kDone) return;
  if (state_ == State::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      out_.connectErrno = err;
      return finish(std::string("connect: ") + std::strerror(err));
    }
    if (!(events & EPOLLOUT)) return;
    onConnected();
    if (state_ == State::kDone) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readAll();
  if (state_ != State::kDone && (events & EPOLLOUT)) flush();
}

void Probe::onConnected() {
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
  while (written_ < pending_.size()) {
    ssize_t n = ::send(fd_, pending_.data() + written_, pending_.size() - written_, MSG_NOSIGNAL);
    if (n > 0) {
      written_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // EPOLLOUT resumes
    // The server closed while we wrote: what it sent before is still queued for
    // us (Linux returns queued data before the reset), so read that first.
    if (errno == EPIPE || errno == ECONNRESET) {
      readAll();
      if (state_ != State::kDone) onPeerClosed(CloseStyle::kRst);
      return;
    }
    return finish(std::string("send: ") + std::strerror(errno));
  }
}

// Edge-triggered: read until EAGAIN, EOF or an error.
void Probe::readAll() {
  char buf[kReadBuffer];
  while (state_ != State::kDone) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      consume(buf, static_cast<std::size_t>(n), monotonicMs());
      continue;
    }
    if (n == 0) return onPeerClosed(CloseStyle::kFin);
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return;
    if (errno == ECONNRESET || errno == EPIPE) return onPeerClosed(CloseStyle::kRst);
    return finish(std::string("recv: ") + std::strerror(errno));
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
  double now = monotonicMs();
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
  unsigned generation = ++timerGeneration_;
  loop_.runAfter(delay, [this, generation] {
    if (generation == timerGeneration_ && state_ != State::kDone) onTimeout();
  });
}

void Probe::finish(std::string error) {
  if (state_ == State::kDone) return;
  state_ = State::kDone;
  ++timerGeneration_;
  out_.error = std::move(error);
  if (fd_ >= 0) {
    loop_.removeFd(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  onDone_();
}

}  // namespace tether::tools::inspect
