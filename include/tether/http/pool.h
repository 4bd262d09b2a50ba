// HTTP/1.1 keep-alive connection pool for one origin, on an EventLoop.
//
// Threading contract: a Pool is created, used and destroyed on its loop's
// thread; every method is loop-thread-only. Callbacks run on that thread, from
// inside the loop's I/O or timer dispatch (or from request() itself for an
// invalid request). A callback may call request(), cancelAll() or closeIdle();
// it must not destroy the pool.
//
// Reuse without the keep-alive race (the server closes an idle connection just
// as the client reuses it: its FIN is already queued at the client, or it
// crosses the request in flight):
//  - LIFO reuse: the most recently used idle connection first (fewest stale ones);
//  - idle deadline = min(idleTimeout, server's `Keep-Alive: timeout=` - margin),
//    never past the connection's lifetime (maxLifetime ± jitter);
//  - idle connections stay registered on the loop: a FIN, RST or stray byte
//    closes them at once; and just before reuse a MSG_PEEK check discards one
//    whose peer already closed;
//  - a failure is retried at most once, on a new connection, and only when a
//    reused connection closed before any response byte and the request is
//    idempotent (or carries Idempotency-Key) or was provably never sent. Every
//    other failure reaches the callback with ClientError::maybeProcessed set when
//    the server may have acted on the request. Nothing is ever sent twice silently.
//
// Ownership: the pool owns its sockets; closed connections are freed at the end
// of the loop iteration (never inside their own callback), by an end-of-iteration
// hook each pool adds to the loop (it stays registered, as a no-op, after the
// pool is gone: create pools once, not per request). Destroying the pool
// closes every connection and drops pending requests without calling them back
// (call cancelAll() first to have them failed with kCancelled).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tether/http/client.h"
#include "tether/liveness/keepalive_profile.h"
#include "tether/net/event_loop.h"
#include "tether/net/socket.h"

namespace tether::net {
class TlsContext;
}

namespace tether::http::client {

struct PoolOptions {
  std::size_t maxConnections = 64;             // open or connecting; more requests wait in a FIFO
  std::size_t maxIdle = 64;                    // beyond it, the least recently used idle one closes
  Millis idleTimeout = 4000;                   // 0: never keep a connection idle
  bool honourKeepAliveHint = true;             // use the server's `Keep-Alive: timeout=N`...
  Millis keepAliveHintMargin = 1000;           // ...minus this (a hint <= margin: no reuse)
  std::uint64_t maxRequestsPerConnection = 0;  // 0: unlimited
  Millis maxLifetime = 0;                      // 0: unlimited; checked when idle
  int lifetimeJitterPercent = 10;              // spreads maxLifetime per connection
  Millis connectTimeout = 10'000;
  Millis requestTimeout = 30'000;  // from the first request byte to the response's end
  std::size_t maxResponseBody = 64u << 20;
  bool checkBeforeReuse = true;          // MSG_PEEK before writing to an idle connection
  bool watchIdle = true;                 // close an idle connection when its peer closes
  liveness::KeepaliveProfile keepalive;  // SO_KEEPALIVE/TCP_USER_TIMEOUT on every socket
  std::uint64_t seed = 0;                // lifetime jitter; 0: from random_device
  // https: a client context (TlsContext::client; verification, CA file) that
  // outlives the pool. Sessions resume across the pool's connections. An idle
  // connection whose server sent close_notify counts as closed by the peer.
  const net::TlsContext* tls = nullptr;
  std::string serverName;  // SNI and the certificate's name; empty: `host` without its port
};

/// Counters since the pool was created (loop thread).
struct PoolStats {
  std::uint64_t requests = 0;   // request() calls
  std::uint64_t succeeded = 0;  // callbacks with a response
  std::uint64_t failed = 0;     // callbacks with an error
  std::uint64_t retries = 0;    // second attempts
  std::uint64_t reusedAttempts = 0;
  std::uint64_t connectionsOpened = 0;
  std::uint64_t connectionsClosed = 0;
  std::uint64_t staleBeforeReuse = 0;     // pre-reuse check found the peer gone
  std::uint64_t peerClosedWhileIdle = 0;  // watched idle connection closed by the peer
  std::uint64_t idleExpired = 0;          // our idle deadline passed
  std::uint64_t notKept = 0;              // closed after a response (server close, limits)
  std::uint64_t tlsFullHandshakes = 0;
  std::uint64_t tlsResumedHandshakes = 0;
  std::size_t open = 0;
  std::size_t idle = 0;
  std::size_t queued = 0;
};

class PoolImpl;

class Pool {
 public:
  using Callback = std::function<void(ClientResult&&)>;

  /// `origin`: the server's address; `host`: the Host header value (e.g.
  /// "127.0.0.1:8080").
  Pool(net::EventLoop& loop, const net::SocketAddress& origin, std::string host,
       const PoolOptions& options = {});
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// Sends `request` on an idle connection, a new one, or after a queue wait;
  /// `done` is called exactly once.
  void request(ClientRequest request, Callback done);
  /// Fails every queued and in-flight request with kCancelled and closes all
  /// connections.
  void cancelAll();
  /// Closes every idle connection.
  void closeIdle();
  PoolStats stats() const;

 private:
  std::unique_ptr<PoolImpl> impl_;
};

}  // namespace tether::http::client
