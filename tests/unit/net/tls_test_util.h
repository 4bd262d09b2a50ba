// Test-only helpers for TLS over loopback pairs: a self-signed server context,
// one end of a connection (a stream with its transport), and drivers that
// alternate the two ends by hand (no loop, no sleeps).
#pragma once

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "net_test_util.h"
#include "tether/net/tls.h"

namespace tether::net::testing {

/// The in-memory certificate for localhost, 127.0.0.1 and ::1.
inline const TlsContext& selfSignedServer() {
  static auto ctx = [] {
    TlsServerConfig c;
    c.selfSigned = true;
    return TlsContext::server(c);
  }();
  return *ctx;
}

/// That certificate as a CA file (what --cacert takes), written once and
/// removed at exit. One file per process: ctest runs each test in its own
/// process, in parallel, and each process generates its own key and
/// certificate (a shared name let one process verify against another's).
inline const std::string& selfSignedCaFile() {
  struct File {
    std::string path =
        ::testing::TempDir() + "tether-self-signed-ca-" + std::to_string(::getpid()) + ".pem";
    File() {
      std::FILE* f = std::fopen(path.c_str(), "w");
      EXPECT_NE(f, nullptr);
      PEM_write_X509(f, SSL_CTX_get0_certificate(selfSignedServer().native()));
      std::fclose(f);
    }
    ~File() { ::unlink(path.c_str()); }
  };
  static const File file;
  return file.path;
}

/// One end: a stream with a TLS transport on it; closes the fd on scope exit.
struct TlsEnd {
  Stream stream;
  std::unique_ptr<TlsTransport> tls;
  TlsEnd(const TlsContext& ctx, int fd) : TlsEnd(std::make_unique<TlsTransport>(ctx, fd), fd) {}
  TlsEnd(std::unique_ptr<TlsTransport> t, int fd) : tls(std::move(t)) {
    stream.adopt(fd);
    stream.setTransport(tls.get());
  }
  ~TlsEnd() {
    if (stream.isOpen()) ::close(stream.fd());
  }
  IoResult read(std::string& into) {
    char buf[4096];
    IoResult r = stream.read(buf, sizeof buf);
    if (r.done()) into.append(buf, r.bytes);
    return r;
  }
  bool write(std::string_view data) {
    std::size_t sent = 0;
    for (int i = 0; i < 100 && sent < data.size(); ++i) stream.writeAll(data, &sent);
    return sent == data.size();
  }
};

/// Alternates reads until both handshakes finished (or a side fails). Between
/// rounds it waits (at most 100 ms) for either socket to become readable:
/// loopback delivery is not instant on a loaded machine (or under TSan).
inline bool tlsHandshake(TlsEnd& client, TlsEnd& server) {
  std::string ignored;
  for (int i = 0; i < 100; ++i) {
    if (client.tls->handshakeDone() && server.tls->handshakeDone()) return true;
    if (client.read(ignored).kind == IoResult::Kind::kFailed) return false;
    if (server.read(ignored).kind == IoResult::Kind::kFailed) return false;
    if (client.tls->handshakeDone() && server.tls->handshakeDone()) return true;
    pollfd fds[2] = {{client.stream.fd(), POLLIN, 0}, {server.stream.fd(), POLLIN, 0}};
    ::poll(fds, 2, 100);
  }
  return false;
}

/// Waits (up to 2 s) until `fd` has something to read. Loopback delivery is
/// not always instant: a busy machine defers it to a softirq.
inline bool waitReadable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 2000) == 1;
}

/// Reads until `want` bytes arrived or the read ends.
inline IoResult tlsReadUntil(TlsEnd& e, std::string& into, std::size_t want) {
  IoResult r;
  for (int i = 0; i < 10000 && into.size() < want; ++i) {
    r = e.read(into);
    if (r.kind == IoResult::Kind::kEof || r.kind == IoResult::Kind::kFailed) return r;
  }
  return r;
}

}  // namespace tether::net::testing
