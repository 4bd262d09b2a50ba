// The in-memory certificate of `--tls-self-signed`: nothing touches the disk.
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "tls_internal.h"

namespace tether::net {
namespace {

constexpr long kValiditySeconds = 7L * 24 * 3600;  // short: it is for trying things out
constexpr long kBackdateSeconds = 3600;            // tolerate a client's clock a bit behind

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

bool addExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool fillCertificate(X509* cert, EVP_PKEY* key) {
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return false;
  serial[0] &= 0x7f;  // a positive serial number (RFC 5280 §4.1.2.2)
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  if (!ok || X509_set_version(cert, 2) != 1) return false;
  X509_gmtime_adj(X509_getm_notBefore(cert), -kBackdateSeconds);
  X509_gmtime_adj(X509_getm_notAfter(cert), kValiditySeconds);
  X509_NAME* name = X509_get_subject_name(cert);
  const auto* cn = reinterpret_cast<const unsigned char*>("localhost");
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) != 1) return false;
  return X509_set_issuer_name(cert, name) == 1 && X509_set_pubkey(cert, key) == 1 &&
         addExtension(cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") &&
         addExtension(cert, NID_basic_constraints, "critical,CA:FALSE") &&
         addExtension(cert, NID_ext_key_usage, "serverAuth") &&
         X509_sign(cert, key, EVP_sha256()) > 0;
}

}  // namespace

bool useSelfSigned(SSL_CTX* ctx) {
  std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_EC_gen("P-256"));
  std::unique_ptr<X509, X509Free> cert(X509_new());
  if (!key || !cert || !fillCertificate(cert.get(), key.get())) return false;
  return SSL_CTX_use_certificate(ctx, cert.get()) == 1 &&
         SSL_CTX_use_PrivateKey(ctx, key.get()) == 1;
}

}  // namespace tether::net
