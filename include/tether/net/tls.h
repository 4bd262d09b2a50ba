// TLS (OpenSSL 3) as a Transport under the Stream: the keep-alive policy above
// never knows whether a connection is encrypted.
//
// TlsContext holds one SSL_CTX: certificate, protocol versions (TLS 1.2 and
// 1.3), ALPN, ciphers, session cache and ticket keys. TlsTransport is one
// connection's SSL object; server and client share it and differ only in the
// context and in accept vs connect state.
//
// Non-blocking over the edge-triggered stream: SSL_ERROR_WANT_READ/WANT_WRITE
// become IoResult::kBlocked, and the transport remembers which direction it
// waits for (a read may need the socket writable, a write readable) so that
// Stream::onEvents turns that edge into the one the caller waits for. The
// handshake runs inside the first reads (or writes); handshakeDone() says when
// it finished.
//
// Idle memory: SSL_MODE_RELEASE_BUFFERS gives the record buffers back whenever
// they are empty (as nginx), so an idle connection holds only the SSL object.
//
// Threading: a TlsContext may be shared by every thread once built; a
// TlsTransport is loop-thread only. Ownership: the transport owns its SSL
// object, not the fd (the Stream does). The socket I/O uses send(MSG_NOSIGNAL),
// so a peer gone away is EPIPE, never SIGPIPE.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tether/core/time.h"
#include "tether/net/stream.h"

struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace tether::net {

using core::Millis;
struct TlsTicketKeys;

/// A server's certificate and TLS policy. Empty cipher strings keep OpenSSL's
/// defaults (TLS 1.2: "DEFAULT"; TLS 1.3: the three AES-GCM/ChaCha20 suites).
struct TlsServerConfig {
  std::string certFile;      // PEM chain, leaf first
  std::string keyFile;       // PEM private key
  bool selfSigned = false;   // instead of the files: an in-memory EC P-256 certificate
  std::string ciphers;       // TLS 1.2 cipher list (SSL_CTX_set_cipher_list)
  std::string ciphersuites;  // TLS 1.3 suites (SSL_CTX_set_ciphersuites)
  Millis sessionTimeout =
      300'000;  // session cache entries and tickets; ticket keys rotate this often
  bool enabled() const noexcept { return selfSigned || !certFile.empty(); }
};

/// A client's TLS policy (the pool, bench and inspect build on this).
struct TlsClientConfig {
  std::string caFile;  // empty: the system CA store
  bool verify = true;  // false: --insecure
};

class TlsContext {
 public:
  /// Builds a server context. Throws std::runtime_error with a one-line reason
  /// naming the file or option at fault.
  static std::unique_ptr<TlsContext> server(const TlsServerConfig& config);
  static std::unique_ptr<TlsContext> client(const TlsClientConfig& config);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* native() const noexcept { return ctx_; }
  bool isServer() const noexcept { return server_; }
  /// SHA-256 of the server certificate, as "AB:CD:..." (empty for a client).
  const std::string& fingerprint() const noexcept { return fingerprint_; }

 private:
  TlsContext(ssl_ctx_st* ctx, bool server);

  ssl_ctx_st* ctx_;
  bool server_;
  std::string fingerprint_;
  std::unique_ptr<TlsTicketKeys> tickets_;
};

/// Where a server's records go when the loop has a transport of its own
/// (io_uring): its BIO calls that transport for `stream`.
struct TlsLower {
  Transport* transport = nullptr;  // nullptr: the socket itself
  Stream* stream = nullptr;
};

/// One connection's TLS session over a Stream's fd.
class TlsTransport final : public Transport {
 public:
  /// Why the handshake or session failed (kNone while all is well).
  enum class Failure : std::uint8_t {
    kNone,
    kNotTls,    // the client spoke plain HTTP (or something else) on the TLS port
    kAlert,     // an alert ended the handshake (received, or ours: e.g. no common ALPN)
    kProtocol,  // malformed records or any other TLS error
    kVerify,    // a client refused the server's certificate (verifyError() says why)
  };

  /// Clients start theirs through a TlsOrigin (SNI, name check, sessions).
  /// Records go to and from the socket by send() and recv() calls.
  TlsTransport(const TlsContext& ctx, int fd);
  /// A server's, over `stream` (open, no transport of its own yet): records go
  /// through the loop's transport when it has one (io_uring: its sends and
  /// receives, no syscall per record), else the socket. `stream` outlives it.
  TlsTransport(const TlsContext& ctx, Stream& stream);
  ~TlsTransport();
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  IoResult read(Stream& s, char* buf, std::size_t len) override;
  IoResult writev(Stream& s, const iovec* iov, int count) override;
  IoResult sendFile(Stream& s, int fileFd, std::uint64_t offset, std::size_t len) override;
  /// close_notify, then our FIN.
  void shutdownWrite(Stream& s) override;
  std::uint32_t adjustEvents(std::uint32_t events) const noexcept override;
  /// Processes the records waiting on the socket without taking application
  /// data (SSL_peek): late TLS 1.3 tickets are absorbed; a close_notify, EOF,
  /// error or application byte means the connection cannot be reused.
  bool quiet(const Stream& s) noexcept override;
  /// What the loop's transport under the records holds (see Transport).
  bool holdsInput(const Stream& s) noexcept override;
  int heldError(const Stream& s) noexcept override;

  /// Sends close_notify once, best effort (not before the handshake finished,
  /// nor after a fatal error). Call before closing the socket.
  void closeNotify() noexcept;

  bool handshakeDone() const noexcept { return handshakeDone_; }
  /// Valid once handshakeDone().
  bool resumed() const noexcept;
  /// "TLSv1.2", "TLSv1.3".
  const char* version() const noexcept;
  Failure failure() const noexcept { return failure_; }
  /// A close_notify from the peer was seen.
  bool peerCloseNotify() const noexcept;
  /// The negotiated ALPN protocol ("" if none), and the cipher suite's name.
  std::string alpn() const;
  const char* cipher() const noexcept;
  /// Why the certificate was refused, in OpenSSL's words ("certificate has
  /// expired", "hostname mismatch", ...); "" unless failure() is kVerify.
  const char* verifyError() const noexcept;
  /// failure() in words for a user: verifyError() for kVerify (static text).
  const char* failureText() const noexcept;

  static const char* failureName(Failure f) noexcept;
  /// The SSL object (a client keeps its session for resumption through it).
  ssl_st* nativeHandle() const noexcept { return ssl_; }

 private:
  enum class Dir : std::uint8_t { kRead, kWrite };
  void start(const TlsContext& ctx, bio_st* bio);
  IoResult result(int rc, Dir dir);
  IoResult writeOne(const char* data, std::size_t len);
  void noteHandshake() noexcept;

  ssl_st* ssl_;
  TlsLower lower_;  // the BIO's target when records go through the loop's transport
  IoResult pendingEnd_{IoResult::Kind::kDone};  // EOF/failure met after bytes were returned
  Failure failure_ = Failure::kNone;
  bool handshakeDone_ = false;
  bool readWantsWrite_ = false;
  bool writeWantsRead_ = false;
  bool fatal_ = false;
};

}  // namespace tether::net
