// Private pieces of the TLS transport shared by its source files.
#pragma once

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "tether/core/time.h"
#include "tether/net/tls.h"

namespace tether::net {

/// OpenSSL's queued errors as one line (and the queue cleared).
std::string tlsErrorText();

/// Installs an in-memory certificate: EC P-256 key, X.509 v3 with SAN
/// localhost, 127.0.0.1 and ::1, valid from an hour ago for 7 days.
bool useSelfSigned(SSL_CTX* ctx);

/// Session ticket keys of this process, rotated every `period`: a ticket is
/// issued under the current key and accepted under it or the previous one, so
/// it lives between one and two periods; one from the previous key is renewed.
struct TlsTicketKeys {
  struct Key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
  };
  std::mutex mutex;
  Key current{}, previous{};
  bool hasPrevious = false;
  std::chrono::steady_clock::time_point createdAt;
  std::chrono::milliseconds period;

  bool fresh(Key& k);
  /// Under the mutex. A key older than a period is demoted; older than two, dropped.
  void rotateIfDue();
};

std::unique_ptr<TlsTicketKeys> installTicketKeys(SSL_CTX* ctx, core::Millis period);

/// The client context's new-session callback: hands the session to the
/// TlsOrigin that started the connection (tls_client.cpp).
int onNewClientSession(SSL* ssl, SSL_SESSION* session);

/// A BIO on a non-blocking socket that sends with MSG_NOSIGNAL (the stock
/// socket BIO uses write(), which raises SIGPIPE on a closed peer).
BIO* newSocketBio(int fd);

/// A BIO whose reads and writes are the loop's transport's (`lower` outlives
/// it): io_uring's receive queue and send slots, same results as the socket's.
BIO* newTransportBio(const TlsLower& lower);

}  // namespace tether::net
