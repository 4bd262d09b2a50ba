// ServerConnection's TLS hooks: the transport's life, the end of the
// handshake (counters, the header wait starting), failures as close reasons,
// plain HTTP on a TLS port, and close_notify before every orderly close.
#include <sys/socket.h>

#include "server_connection.h"
#include "tether/net/tls.h"
#include "worker.h"

namespace tether::http {
namespace {

// nginx answers plain HTTP on an HTTPS port the same way (its 497 shown as 400).
constexpr std::string_view kPlainHttpAnswer =
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 54\r\n"
    "Connection: close\r\n"
    "\r\n"
    "Bad Request: plain HTTP request sent to an HTTPS port\n";

// Client and server ended the exchange properly (or the server chose to end
// it): close_notify belongs before the FIN (RFC 9112 §9.8). Failures, resets
// and dead peers get none.
bool orderlyClose(CloseReason r) noexcept {
  switch (r) {
    case CloseReason::kError:
    case CloseReason::kClientReset:
    case CloseReason::kKeepaliveTimeout:
    case CloseReason::kUserTimeout:
    case CloseReason::kTlsHandshakeTimeout:
    case CloseReason::kTlsPlainHttp:
    case CloseReason::kTlsAlert:
    case CloseReason::kTlsProtocolError: return false;
    default: return true;
  }
}

}  // namespace

// Only the server installs a transport on its connections, and only TLS.
net::TlsTransport* ServerConnection::tlsTransport() const noexcept {
  return static_cast<net::TlsTransport*>(stream_.transport());
}

const net::TlsTransport* ServerConnection::tls() const noexcept { return tlsTransport(); }

bool ServerConnection::handshaking() const noexcept {
  const net::TlsTransport* t = tlsTransport();
  return t != nullptr && !t->handshakeDone();
}

// After a read made while handshaking: if the handshake just finished, count
// it (once: the next read is not made while handshaking) and start the header
// wait now, as for a fresh plain connection.
void ServerConnection::afterTlsRead() {
  const net::TlsTransport* t = tlsTransport();
  if (!t->handshakeDone()) return;
  WorkerStats& st = worker_->mutableStats();
  WorkerStats::add(t->resumed() ? st.tlsResumed : st.tlsFull, 1);
  std::string_view v = t->version();
  if (v == "TLSv1.3") WorkerStats::add(st.tls13, 1);
  if (v == "TLSv1.2") WorkerStats::add(st.tls12, 1);
  stateSince_ = worker_->loop().now();
  armTimer();
}

// A failed read or write that TLS explains; plain HTTP gets its 400 first.
std::optional<CloseReason> ServerConnection::tlsFailure(int err) {
  const net::TlsTransport* t = tlsTransport();
  if (t == nullptr || err != EPROTO) return std::nullopt;
  switch (t->failure()) {
    case net::TlsTransport::Failure::kNone: return std::nullopt;
    case net::TlsTransport::Failure::kNotTls:
      // Best effort, in one send: the socket buffer is empty at this point.
      ::send(fd(), kPlainHttpAnswer.data(), kPlainHttpAnswer.size(), MSG_NOSIGNAL);
      return CloseReason::kTlsPlainHttp;
    case net::TlsTransport::Failure::kAlert: return CloseReason::kTlsAlert;
    case net::TlsTransport::Failure::kProtocol:
    case net::TlsTransport::Failure::kVerify:  // servers do not verify clients
      return CloseReason::kTlsProtocolError;
  }
  return CloseReason::kTlsProtocolError;
}

void ServerConnection::closeTls(CloseReason reason, bool reset) noexcept {
  net::TlsTransport* t = tlsTransport();
  if (!t->handshakeDone() && reason == CloseReason::kClientClosed) {
    WorkerStats::add(worker_->mutableStats().tlsAbandoned, 1);
  }
  if (!reset && orderlyClose(reason)) t->closeNotify();
  stream_.setTransport(nullptr);
  delete t;
}

}  // namespace tether::http
