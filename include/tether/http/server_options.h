// Connection policy of the HTTP server. Plain value type; every duration is in
// milliseconds, every size in bytes. Defaults follow nginx where nginx has the knob.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tether/core/timer_wheel.h"
#include "tether/http/websocket.h"
#include "tether/liveness/keepalive_profile.h"
#include "tether/net/event_backend.h"
#include "tether/net/socket.h"
#include "tether/net/tls.h"

namespace tether::http {

using core::Millis;

enum class LingeringClose { kOff, kOn, kAlways };

struct ServerOptions {
  std::vector<net::SocketAddress> listen;  // empty: 127.0.0.1:8080
  int workers = 0;                         // 0: one per core
  // The workers' event backend; Server::bind() resolves kAuto to what it took
  // (io_uring when the kernel allows it, else epoll).
  net::IoBackend ioBackend = net::IoBackend::kAuto;

  Millis keepaliveTimeout = 75'000;  // 0 disables keep-alive
  Millis keepaliveGrace = 1'000;     // real idle wait = timeout + grace
  bool keepaliveHeader = true;       // advertise `Keep-Alive: timeout=N, max=R`
  std::uint64_t keepaliveRequests = 1000;
  Millis keepaliveTime = 3'600'000;  // max connection lifetime
  int keepaliveJitterPercent = 10;   // lifetime spread: +-P %

  Millis clientHeaderTimeout = 60'000;
  Millis clientBodyTimeout = 60'000;
  Millis sendTimeout = 60'000;

  LingeringClose lingeringClose = LingeringClose::kOn;
  Millis lingeringTime = 30'000;
  Millis lingeringTimeout = 5'000;
  bool resetTimedoutConnection = false;

  std::uint64_t maxConnections = 0;  // 0: from the soft RLIMIT_NOFILE at bind(), minus 64 kept back
  std::uint64_t maxHeaderSize = 16 * 1024;
  std::uint64_t maxBodySize = 1024 * 1024;

  std::string accessLog;  // empty or "off": none; "-": stdout
  Millis shutdownTimeout = 10'000;
  // SO_KEEPALIVE/TCP_KEEPIDLE/INTVL/CNT and TCP_USER_TIMEOUT, set on the
  // listening sockets and inherited by accepted ones. Default: untouched (off).
  liveness::KeepaliveProfile tcpKeepalive;
  int listenBacklog = 4096;
  // false: refuse a --listen address another socket already listens on (even
  // with SO_REUSEPORT); true: join its SO_REUSEPORT group (a restart handing
  // the port from the old process to the new one).
  bool sharePort = false;

  // Where a program serves the /.tether/ endpoints (status, metrics, live page)
  // apart from the site, as an admin port (`tether serve --metrics-listen`);
  // empty: beside the site. Server itself does not listen there: the program
  // runs a second Server (see observability.h). Shown with the settings.
  std::optional<net::SocketAddress> metricsListen;

  // TLS: which listeners serve it (parallel to `listen`; missing entries: plain),
  // their one certificate and policy, and the handshake's time limit (it
  // replaces the header timeout until the handshake is done).
  std::vector<bool> tlsListen;
  net::TlsServerConfig tls;
  Millis tlsHandshakeTimeout = 10'000;

  // WebSocket connections (routes made with webSocket()).
  WebSocketOptions ws;
  // Event streams: a `: heartbeat` comment after this long without an event,
  // so proxies' read timeouts do not cut a quiet stream; 0: none.
  Millis sseHeartbeat = 15'000;

  bool anyTls() const noexcept {
    for (bool t : tlsListen) {
      if (t) return true;
    }
    return false;
  }
};

}  // namespace tether::http
