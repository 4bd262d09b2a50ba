// The socket BIO under every TlsTransport, and OpenSSL's error text.
#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

#include "tls_internal.h"

namespace tether::net {
namespace {

int fdOf(BIO* b) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }

bool transient(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

int bioWrite(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::send(fdOf(b), data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  if (n < 0 && transient(errno)) BIO_set_retry_write(b);
  return static_cast<int>(n);
}

int bioRead(BIO* b, char* data, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::recv(fdOf(b), data, static_cast<std::size_t>(len), 0);
  if (n < 0 && transient(errno)) BIO_set_retry_read(b);
  return static_cast<int>(n);
}

long bioCtrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;  // nothing is buffered here
}

BIO_METHOD* socketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tether socket");
    BIO_meth_set_write(m, bioWrite);
    BIO_meth_set_read(m, bioRead);
    BIO_meth_set_ctrl(m, bioCtrl);
    return m;
  }();
  return method;
}

}  // namespace

BIO* newSocketBio(int fd) {
  BIO* b = BIO_new(socketMethod());
  if (b == nullptr) return nullptr;
  BIO_set_data(b, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
  BIO_set_init(b, 1);
  return b;
}

std::string tlsErrorText() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "unknown TLS error" : text;
}

}  // namespace tether::net
