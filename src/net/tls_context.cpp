// TlsContext: one SSL_CTX with tether's TLS policy (versions, ALPN, session
// cache, rotated ticket keys, buffers released while idle).
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>
#include <string>

#include "tether/net/tls.h"
#include "tls_internal.h"

namespace tether::net {
namespace {

constexpr unsigned char kAlpnHttp11[] = "\x08http/1.1";
constexpr unsigned char kSessionIdContext[] = "tether";

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + tlsErrorText());
}

// ALPN (RFC 7301): http/1.1 or nothing. A client that offers only other
// protocols (h2) gets the no_application_protocol alert; a client that offers
// none never reaches this callback and is served HTTP/1.1.
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  unsigned char* chosen = nullptr;
  int r = SSL_select_next_proto(&chosen, outlen, kAlpnHttp11, sizeof(kAlpnHttp11) - 1, in, inlen);
  if (r != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

void applyCommon(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Renegotiation buys nothing for HTTP/1.1 and is a DoS lever; an EOF without
  // close_notify is an ordinary end (RFC 9112 §9.8: many clients just close).
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Partial writes fit the stream's contract (bytes taken); the caller retries
  // from its advanced offset, so the buffer address may move.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One read() per socket drain instead of two per record (header, then body).
  SSL_CTX_set_read_ahead(ctx, 1);
}

void loadCertificate(SSL_CTX* ctx, const TlsServerConfig& c) {
  if (c.keyFile.empty()) throw std::runtime_error("--tls-key: required with --tls-cert");
  if (SSL_CTX_use_certificate_chain_file(ctx, c.certFile.c_str()) != 1) {
    fail("--tls-cert " + c.certFile);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, c.keyFile.c_str(), SSL_FILETYPE_PEM) != 1) {
    fail("--tls-key " + c.keyFile);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) fail("--tls-key " + c.keyFile + " does not match");
}

std::string sha256Fingerprint(const X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md, &n) != 1) return {};
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    if (i > 0) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace

TlsContext::TlsContext(SSL_CTX* ctx, bool server) : ctx_(ctx), server_(server) {}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::unique_ptr<TlsContext> TlsContext::server(const TlsServerConfig& c) {
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr) fail("SSL_CTX_new");
  std::unique_ptr<TlsContext> t(new TlsContext(raw, true));
  applyCommon(raw);
  if (c.selfSigned) {
    if (!useSelfSigned(raw)) fail("--tls-self-signed");
  } else {
    loadCertificate(raw, c);
  }
  if (!c.ciphers.empty() && SSL_CTX_set_cipher_list(raw, c.ciphers.c_str()) != 1) {
    fail("--tls-ciphers '" + c.ciphers + "'");
  }
  if (!c.ciphersuites.empty() && SSL_CTX_set_ciphersuites(raw, c.ciphersuites.c_str()) != 1) {
    fail("--tls-ciphersuites '" + c.ciphersuites + "'");
  }
  SSL_CTX_set_alpn_select_cb(raw, selectAlpn, nullptr);
  // Resumption: a server-side cache (session IDs; TLS 1.2) and tickets with
  // keys of this process, rotated every session timeout (see tls_tickets.cpp).
  long seconds = static_cast<long>((c.sessionTimeout + 999) / 1000);
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_timeout(raw, seconds > 0 ? seconds : 1);
  SSL_CTX_set_session_id_context(raw, kSessionIdContext, sizeof(kSessionIdContext) - 1);
  t->tickets_ = installTicketKeys(raw, c.sessionTimeout);
  if (!t->tickets_) fail("session ticket keys");
  t->fingerprint_ = sha256Fingerprint(SSL_CTX_get0_certificate(raw));
  return t;
}

std::unique_ptr<TlsContext> TlsContext::client(const TlsClientConfig& c) {
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (raw == nullptr) fail("SSL_CTX_new");
  std::unique_ptr<TlsContext> t(new TlsContext(raw, false));
  applyCommon(raw);
  SSL_CTX_set_alpn_protos(raw, kAlpnHttp11, sizeof(kAlpnHttp11) - 1);
  // Sessions go to the TlsOrigin that made the connection, not to a cache
  // shared by every origin and thread.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(raw, onNewClientSession);
  if (!c.verify) return t;
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  int ok = c.caFile.empty() ? SSL_CTX_set_default_verify_paths(raw)
                            : SSL_CTX_load_verify_locations(raw, c.caFile.c_str(), nullptr);
  if (ok != 1) fail("--cacert " + c.caFile);
  return t;
}

}  // namespace tether::net
