// Session ticket keys: random per process, rotated every session timeout.
// Workers share the SSL_CTX, so the callback runs on any worker thread: the
// keys sit behind a mutex, taken once per full handshake or resumption.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

#include "tls_internal.h"

namespace tether::net {

bool TlsTicketKeys::fresh(Key& k) {
  return RAND_bytes(reinterpret_cast<unsigned char*>(&k), sizeof k) == 1;
}

void TlsTicketKeys::rotateIfDue() {
  auto now = std::chrono::steady_clock::now();
  if (now - createdAt < period) return;
  hasPrevious = now - createdAt < 2 * period;
  previous = current;
  if (fresh(current)) createdAt = now;
}

namespace {

int ticketIndex() {
  static int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

bool initCrypto(const TlsTicketKeys::Key& k, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                EVP_MAC_CTX* mac, int enc) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(k.hmac),
                                        sizeof k.hmac),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  return EVP_CipherInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes, iv, enc) == 1 &&
         EVP_MAC_CTX_set_params(mac, params) == 1;
}

// OpenSSL's contract: encrypt: 1 ok, -1 error; decrypt: 0 unknown key (full
// handshake), 1 ok, 2 ok and issue a new ticket. A new ticket when the key was
// the previous one, and on every TLS 1.3 resumption: clients use a TLS 1.3
// ticket once (RFC 8446 §C.4), and OpenSSL sends none after a resumption
// unless asked, so a client reconnecting often would fall back to full
// handshakes every third connection.
int ticketCallback(SSL* ssl, unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                   EVP_MAC_CTX* mac, int enc) {
  auto* keys =
      static_cast<TlsTicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ticketIndex()));
  std::lock_guard lock(keys->mutex);
  keys->rotateIfDue();
  if (enc == 1) {
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
    std::memcpy(name, keys->current.name, sizeof keys->current.name);
    return initCrypto(keys->current, iv, cipher, mac, 1) ? 1 : -1;
  }
  bool isCurrent = std::memcmp(name, keys->current.name, 16) == 0;
  bool isPrevious = keys->hasPrevious && std::memcmp(name, keys->previous.name, 16) == 0;
  if (!isCurrent && !isPrevious) return 0;
  const TlsTicketKeys::Key& k = isCurrent ? keys->current : keys->previous;
  if (!initCrypto(k, iv, cipher, mac, 0)) return -1;
  return isCurrent && SSL_version(ssl) < TLS1_3_VERSION ? 1 : 2;
}

}  // namespace

std::unique_ptr<TlsTicketKeys> installTicketKeys(SSL_CTX* ctx, core::Millis period) {
  auto keys = std::make_unique<TlsTicketKeys>();
  keys->period = std::chrono::milliseconds(period > 0 ? period : 1);
  keys->createdAt = std::chrono::steady_clock::now();
  if (!keys->fresh(keys->current)) return nullptr;
  SSL_CTX_set_ex_data(ctx, ticketIndex(), keys.get());
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticketCallback);
  return keys;
}

}  // namespace tether::net
