// The client side of TLS for one origin: what the pool, `tether bench` and
// `tether inspect` share. A TlsOrigin starts client transports for one server
// name (SNI unless the name is an IP literal, RFC 6066 §3; the certificate is
// checked against the name, or against the address for an IP literal) and keeps
// the sessions that server handed out, so later connections resume.
//
// Resumption: TLS 1.3 tickets arrive after the handshake, inside a later read;
// OpenSSL's new-session callback hands each one here. A TLS 1.3 ticket is used
// once while another is at hand (RFC 8446 §C.4: reuse lets an observer link
// the connections); the last one is offered again rather than paying a full
// handshake, as curl does, because many servers (nginx, OpenSSL's defaults)
// send no new ticket after a resumption. A TLS 1.2 session (ID or ticket) is
// offered again and again until it expires.
//
// Threading: loop-thread only: one origin per pool, bench worker or inspect run;
// the callback runs inside a read on the same thread. Ownership: the origin
// holds references to its sessions, not to transports; a transport it started
// must not outlive it (the callback would find a dangling origin).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "tether/net/tls.h"

struct ssl_session_st;

namespace tether::net {

class TlsOrigin {
 public:
  /// How the next handshakes are made; inspect varies them, the others keep defaults.
  struct Mode {
    bool offerSession = true;  // resume when a session is at hand
    bool tickets = true;       // false: ask for a TLS 1.2 session ID instead (SSL_OP_NO_TICKET)
    int maxVersion = 0;        // e.g. TLS1_2_VERSION; 0: the context's (TLS 1.3)
  };

  /// `host`: the URL's host (no brackets, no port). `ctx` must be a client
  /// context and outlive the origin.
  TlsOrigin(const TlsContext& ctx, std::string host);
  ~TlsOrigin();
  TlsOrigin(const TlsOrigin&) = delete;
  TlsOrigin& operator=(const TlsOrigin&) = delete;

  /// A client transport on the connected socket `fd`, offering a cached
  /// session when the mode allows. The handshake runs inside its first write.
  std::unique_ptr<TlsTransport> start(int fd);

  Mode& mode() noexcept { return mode_; }
  const std::string& host() const noexcept { return host_; }
  /// True when `host` is an IPv4 or IPv6 literal (no SNI is sent).
  bool hostIsAddress() const noexcept { return isAddress_; }
  std::size_t cachedSessions() const noexcept { return sessions_.size(); }
  /// Sessions received since the origin was made (tickets and TLS 1.2 sessions).
  std::uint64_t sessionsReceived() const noexcept { return received_; }
  void forgetSessions() noexcept;

  /// Called by the context's new-session callback (tls_client.cpp). Takes the reference.
  void keep(ssl_session_st* session);

 private:
  ssl_session_st* takeSession();

  const TlsContext& ctx_;
  std::string host_;
  bool isAddress_;
  Mode mode_;
  std::deque<ssl_session_st*> sessions_;  // newest at the back
  std::uint64_t received_ = 0;
};

}  // namespace tether::net
