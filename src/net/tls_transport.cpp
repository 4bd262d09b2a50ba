// TlsTransport: one SSL object driven by the stream's non-blocking operations.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "tether/net/tls.h"
#include "tls_internal.h"

namespace tether::net {
namespace {

using Kind = IoResult::Kind;
// Largest piece of a file read and encrypted per call: one TLS record.
constexpr std::size_t kFileChunk = 16 * 1024;

IoResult failedWith(int err) {
  IoResult r{Kind::kFailed};
  r.err = err;
  return r;
}

TlsTransport::Failure classifySslError(unsigned long e) {
  int reason = ERR_GET_REASON(e);
  // OpenSSL recognizes GET, POST, HEAD, PUT and CONNECT as a first record.
  if (reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST) {
    return TlsTransport::Failure::kNotTls;
  }
  // An alert received from the peer (reason codes start at SSL_AD_REASON_OFFSET),
  // or one we sent because nothing was acceptable.
  if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) return TlsTransport::Failure::kVerify;
  if (reason >= SSL_AD_REASON_OFFSET || reason == SSL_R_NO_APPLICATION_PROTOCOL ||
      reason == SSL_R_NO_SHARED_CIPHER || reason == SSL_R_UNSUPPORTED_PROTOCOL) {
    return TlsTransport::Failure::kAlert;
  }
  return TlsTransport::Failure::kProtocol;
}

}  // namespace

TlsTransport::TlsTransport(const TlsContext& ctx, int fd) : ssl_(SSL_new(ctx.native())) {
  if (ssl_ == nullptr) {
    fatal_ = true;
    return;
  }
  start(ctx, newSocketBio(fd));
}

TlsTransport::TlsTransport(const TlsContext& ctx, Stream& stream)
    : ssl_(SSL_new(ctx.native())), lower_{stream.loopTransport(), &stream} {
  if (ssl_ == nullptr) {
    fatal_ = true;
    return;
  }
  start(ctx, lower_.transport ? newTransportBio(lower_) : newSocketBio(stream.fd()));
}

void TlsTransport::start(const TlsContext& ctx, BIO* bio) {
  SSL_set_bio(ssl_, bio, bio);
  if (ctx.isServer()) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
}

// A session both sides closed properly stays resumable even though our own
// close_notify was not sent (after the peer's, ours would only draw a reset):
// without SSL_SENT_SHUTDOWN, SSL_free would mark the session bad.
TlsTransport::~TlsTransport() {
  if (ssl_ != nullptr && !fatal_ && peerCloseNotify()) {
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }
  SSL_free(ssl_);
}

// Fills `buf` as far as the socket allows: a short result then means the socket
// is drained (the stream's edge-triggered contract), which one SSL_read (one
// record) would not tell. An end met after some bytes is kept for the next call.
IoResult TlsTransport::read(Stream&, char* buf, std::size_t len) {
  if (pendingEnd_.kind != Kind::kDone) {
    IoResult end = pendingEnd_;
    pendingEnd_ = IoResult{Kind::kDone};
    return end;
  }
  if (fatal_) return failedWith(EPROTO);
  std::size_t got = 0;
  while (got < len) {
    std::size_t n = 0;
    errno = 0;  // SSL_ERROR_SYSCALL with errno 0 is an EOF
    int rc = SSL_read_ex(ssl_, buf + got, len - got, &n);
    noteHandshake();  // it may finish in a call that then waits for data
    if (rc == 1) {
      got += n;
      continue;
    }
    IoResult end = result(rc, Dir::kRead);
    if (got == 0) return end;
    IoResult r{Kind::kDone, got};
    if (end.kind != Kind::kBlocked) {
      pendingEnd_ = end;
      r.more = true;
    }
    return r;
  }
  return {Kind::kDone, got};
}

IoResult TlsTransport::writeOne(const char* data, std::size_t len) {
  if (fatal_) return failedWith(EPROTO);
  std::size_t n = 0;
  errno = 0;
  int rc = SSL_write_ex(ssl_, data, len, &n);
  noteHandshake();
  if (rc != 1) return result(rc, Dir::kWrite);
  writeWantsRead_ = false;
  return {Kind::kDone, n};
}

// Each piece is its own SSL_write (records do not span pieces); stops at the
// first piece not taken whole, reporting the bytes taken so far.
IoResult TlsTransport::writev(Stream&, const iovec* iov, int count) {
  std::size_t total = 0;
  for (int i = 0; i < count; ++i) {
    if (iov[i].iov_len == 0) continue;
    IoResult r = writeOne(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    if (!r.done()) return total > 0 ? IoResult{Kind::kDone, total} : r;
    total += r.bytes;
    if (r.bytes < iov[i].iov_len) break;
  }
  return {Kind::kDone, total};
}

// No kTLS: pread into a record-sized buffer and SSL_write it. After a blocked
// write the caller retries from the same offset, so the same bytes are offered
// again, as OpenSSL requires.
IoResult TlsTransport::sendFile(Stream&, int fileFd, std::uint64_t offset, std::size_t len) {
  static thread_local char chunk[kFileChunk];
  std::size_t want = std::min(len, kFileChunk);
  ssize_t n;
  do {
    n = ::pread(fileFd, chunk, want, static_cast<off_t>(offset));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return failedWith(errno);
  if (n == 0) return {Kind::kDone, 0};  // the file ended early
  return writeOne(chunk, static_cast<std::size_t>(n));
}

// Through the loop's transport the FIN waits for the records it holds.
void TlsTransport::shutdownWrite(Stream& s) {
  closeNotify();
  if (lower_.transport != nullptr) return lower_.transport->shutdownWrite(s);
  ::shutdown(s.fd(), SHUT_WR);
}

void TlsTransport::closeNotify() noexcept {
  if (fatal_ || !handshakeDone_ || (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN)) return;
  // 0: sent, the peer's close_notify not yet seen; 1: both done; < 0: the
  // socket is full or gone: the FIN that follows still ends the stream.
  if (SSL_shutdown(ssl_) < 0) ERR_clear_error();
}

std::uint32_t TlsTransport::adjustEvents(std::uint32_t events) const noexcept {
  if (readWantsWrite_ && (events & EPOLLOUT)) events |= EPOLLIN;
  if (writeWantsRead_ && (events & EPOLLIN)) events |= EPOLLOUT;
  return events;
}

bool TlsTransport::resumed() const noexcept { return ssl_ != nullptr && SSL_session_reused(ssl_); }

const char* TlsTransport::version() const noexcept {
  return ssl_ != nullptr ? SSL_get_version(ssl_) : "-";
}

bool TlsTransport::peerCloseNotify() const noexcept {
  return ssl_ != nullptr && (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN);
}

bool TlsTransport::quiet(const Stream&) noexcept {
  if (fatal_ || pendingEnd_.kind != Kind::kDone) return false;
  char byte;
  std::size_t n = 0;
  errno = 0;
  int rc = SSL_peek_ex(ssl_, &byte, 1, &n);
  if (rc == 1) return false;  // application bytes nobody asked for
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return true;
  // close_notify, EOF, reset or a broken record: this session is over.
  ERR_clear_error();
  fatal_ = true;
  return false;
}

bool TlsTransport::holdsInput(const Stream& s) noexcept {
  return lower_.transport != nullptr && lower_.transport->holdsInput(s);
}

int TlsTransport::heldError(const Stream& s) noexcept {
  return lower_.transport != nullptr ? lower_.transport->heldError(s) : 0;
}

std::string TlsTransport::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  if (ssl_ != nullptr) SSL_get0_alpn_selected(ssl_, &data, &len);
  return data != nullptr ? std::string(reinterpret_cast<const char*>(data), len) : std::string();
}

const char* TlsTransport::cipher() const noexcept {
  const char* name = ssl_ != nullptr ? SSL_get_cipher_name(ssl_) : nullptr;
  return name != nullptr ? name : "-";
}

const char* TlsTransport::verifyError() const noexcept {
  if (failure_ != Failure::kVerify) return "";
  return X509_verify_cert_error_string(SSL_get_verify_result(ssl_));
}

const char* TlsTransport::failureText() const noexcept {
  switch (failure_) {
    case Failure::kNone: return "";
    case Failure::kNotTls: return "plain HTTP on a TLS port";
    case Failure::kAlert:
      return "the handshake ended with an alert (no common version, cipher or ALPN?)";
    case Failure::kProtocol:
      return "bytes that are not TLS (plain HTTP on this port?) or a broken record";
    case Failure::kVerify: return verifyError();
  }
  return "";
}

const char* TlsTransport::failureName(Failure f) noexcept {
  switch (f) {
    case Failure::kNone: return "none";
    case Failure::kNotTls: return "not_tls";
    case Failure::kAlert: return "alert";
    case Failure::kProtocol: return "protocol";
    case Failure::kVerify: return "verify";
  }
  return "protocol";
}

void TlsTransport::noteHandshake() noexcept {
  if (!handshakeDone_ && SSL_is_init_finished(ssl_)) handshakeDone_ = true;
}

// Maps SSL_get_error to the stream's vocabulary, remembering which socket
// direction a blocked operation waits for.
IoResult TlsTransport::result(int rc, Dir dir) {
  switch (SSL_get_error(ssl_, rc)) {
    case SSL_ERROR_WANT_READ:
      (dir == Dir::kRead ? readWantsWrite_ : writeWantsRead_) = dir == Dir::kWrite;
      return {Kind::kBlocked};
    case SSL_ERROR_WANT_WRITE:
      (dir == Dir::kRead ? readWantsWrite_ : writeWantsRead_) = dir == Dir::kRead;
      return {Kind::kBlocked};
    case SSL_ERROR_ZERO_RETURN: return {Kind::kEof};  // close_notify, or an EOF (tolerated)
    case SSL_ERROR_SYSCALL: {
      int err = errno;
      fatal_ = true;
      ERR_clear_error();
      return err == 0 ? IoResult{Kind::kEof} : failedWith(err);
    }
    default: {
      fatal_ = true;
      unsigned long e = ERR_peek_last_error();
      // The peer closed mid-handshake: an end, not a protocol error.
      if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_clear_error();
        return {Kind::kEof};
      }
      failure_ = classifySslError(e);
      ERR_clear_error();
      return failedWith(EPROTO);
    }
  }
}

}  // namespace tether::net
