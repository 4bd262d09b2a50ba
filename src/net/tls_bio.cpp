// The BIOs under a TlsTransport (the socket, or the loop's transport), and
// OpenSSL's error text.
#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

#include "tether/net/stream.h"
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

// The loop's transport under the records: its IoResult in a BIO's words
// (bytes; -1 with a retry flag when blocked; 0 at the end; -1 and errno when
// failed), so OpenSSL sees what a socket would have said.
const TlsLower& lowerOf(BIO* b) { return *static_cast<const TlsLower*>(BIO_get_data(b)); }

int asBioResult(BIO* b, IoResult r, bool reading) {
  switch (r.kind) {
    case IoResult::Kind::kDone: return static_cast<int>(r.bytes);
    case IoResult::Kind::kBlocked:
      if (reading) BIO_set_retry_read(b);
      if (!reading) BIO_set_retry_write(b);
      errno = EAGAIN;
      return -1;
    case IoResult::Kind::kEof: return 0;
    case IoResult::Kind::kFailed: errno = r.err; return -1;
  }
  return -1;
}

int lowerWrite(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  const TlsLower& lower = lowerOf(b);
  iovec iov{const_cast<char*>(data), static_cast<std::size_t>(len)};
  return asBioResult(b, lower.transport->writev(*lower.stream, &iov, 1), false);
}

int lowerRead(BIO* b, char* data, int len) {
  BIO_clear_retry_flags(b);
  const TlsLower& lower = lowerOf(b);
  return asBioResult(b, lower.transport->read(*lower.stream, data, static_cast<std::size_t>(len)),
                     true);
}

BIO_METHOD* makeMethod(const char* name, int (*write)(BIO*, const char*, int),
                       int (*read)(BIO*, char*, int)) {
  BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, name);
  BIO_meth_set_write(m, write);
  BIO_meth_set_read(m, read);
  BIO_meth_set_ctrl(m, bioCtrl);
  return m;
}

BIO_METHOD* socketMethod() {
  static BIO_METHOD* method = makeMethod("tether socket", bioWrite, bioRead);
  return method;
}

}  // namespace

BIO* newTransportBio(const TlsLower& lower) {
  static BIO_METHOD* method = makeMethod("tether loop transport", lowerWrite, lowerRead);
  BIO* b = BIO_new(method);
  if (b == nullptr) return nullptr;
  BIO_set_data(b, const_cast<TlsLower*>(&lower));
  BIO_set_init(b, 1);
  return b;
}

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
