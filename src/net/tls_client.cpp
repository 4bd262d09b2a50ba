// TlsOrigin: SNI, name checks and the session cache of one origin, and the
// client context's new-session callback that fills it.
#include "tether/net/tls_client.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "tls_internal.h"

namespace tether::net {
namespace {

// At most this many sessions per origin: enough for the two tickets of each of
// a few recent connections, and a bound on what a chatty server can make us keep.
constexpr std::size_t kMaxSessions = 8;

int originIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

bool isAddressLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool expired(const SSL_SESSION* s) {
  return SSL_SESSION_get_time(s) + SSL_SESSION_get_timeout(s) <=
         static_cast<long>(std::time(nullptr));
}

}  // namespace

int onNewClientSession(SSL* ssl, SSL_SESSION* session) {
  auto* origin = static_cast<TlsOrigin*>(SSL_get_ex_data(ssl, originIndex()));
  if (origin == nullptr) return 0;  // a transport not started by an origin: OpenSSL frees it
  origin->keep(session);
  return 1;
}

TlsOrigin::TlsOrigin(const TlsContext& ctx, std::string host)
    : ctx_(ctx), host_(std::move(host)), isAddress_(isAddressLiteral(host_)) {}

TlsOrigin::~TlsOrigin() { forgetSessions(); }

std::unique_ptr<TlsTransport> TlsOrigin::start(int fd) {
  auto t = std::make_unique<TlsTransport>(ctx_, fd);
  SSL* ssl = t->nativeHandle();
  if (ssl == nullptr) return t;  // the transport fails its first operation
  SSL_set_ex_data(ssl, originIndex(), this);
  if (isAddress_) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host_.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, host_.c_str());
    SSL_set1_host(ssl, host_.c_str());
  }
  if (!mode_.tickets) SSL_set_options(ssl, SSL_OP_NO_TICKET);
  if (mode_.maxVersion != 0) SSL_set_max_proto_version(ssl, mode_.maxVersion);
  if (mode_.offerSession) {
    if (SSL_SESSION* s = takeSession()) {
      SSL_set_session(ssl, s);  // takes its own reference
      SSL_SESSION_free(s);
    }
  }
  return t;
}

void TlsOrigin::keep(SSL_SESSION* session) {
  if (!SSL_SESSION_is_resumable(session)) {
    SSL_SESSION_free(session);
    return;
  }
  ++received_;
  sessions_.push_back(session);
  if (sessions_.size() > kMaxSessions) {
    SSL_SESSION_free(sessions_.front());
    sessions_.pop_front();
  }
}

// The newest usable session, with a reference for the caller. A TLS 1.3
// ticket leaves the cache unless it is the last one, which is offered as a
// copy: OpenSSL marks a TLS 1.3 session spent once a handshake used it.
// A TLS 1.2 session stays.
SSL_SESSION* TlsOrigin::takeSession() {
  while (!sessions_.empty()) {
    SSL_SESSION* s = sessions_.back();
    if (!SSL_SESSION_is_resumable(s) || expired(s)) {
      sessions_.pop_back();
      SSL_SESSION_free(s);
      continue;
    }
    if (SSL_SESSION_get_protocol_version(s) < TLS1_3_VERSION) {
      SSL_SESSION_up_ref(s);
      return s;
    }
    if (sessions_.size() == 1) return SSL_SESSION_dup(s);  // null on failure: a full handshake
    sessions_.pop_back();
    return s;
  }
  return nullptr;
}

void TlsOrigin::forgetSessions() noexcept {
  for (SSL_SESSION* s : sessions_) SSL_SESSION_free(s);
  sessions_.clear();
}

}  // namespace tether::net
